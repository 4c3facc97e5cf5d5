/**
 * Four SHA-256 compressions at once, one per 32-bit lane of WebAssembly's 128-bit SIMD: the keyed hash of a
 * column of unique values (ids) is two compressions per value, and in plain JavaScript one compression costs
 * about as much as in scalar C. Four lanes take about half the time of four scalar compressions (measured).
 *
 * The module is small and written here as bytes, instruction by instruction, from the same formulas as
 * `compress` in hmac.ts (no toolchain, nothing loaded from disk). Its memory holds the block of each lane (16
 * words, lane-interleaved: word i of lane j at `(i * 4 + j) * 4`) and the state of each lane (8 words, the same
 * way, from byte 256). A unit test checks its results against node:crypto.
 */

/** SHA-256's round constants (FIPS 180-4 §4.2.2); hmac.ts uses them too. */
export const SHA256_K: readonly number[] = [
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
  0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
  0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
  0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
  0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
  0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
  0xc67178f2,
];
/** Byte offset of the lanes' state in the module's memory (the blocks take bytes 0-255). */
const STATE_AT = 256;
/** Byte offsets of HMAC's two key states, compressed once per key (8 words per lane each, the same way). */
const INNER_AT = 384;
const OUTER_AT = 512;

/** WebAssembly opcodes used (0xfd: the SIMD prefix, followed by the LEB128 of the SIMD opcode). */
const OP = {
  localGet: 0x20, localSet: 0x21, i32Const: 0x41, end: 0x0b, simd: 0xfd, call: 0x10,
  v128Load: 0x00, v128Store: 0x0b, v128Const: 0x0c, i32x4Splat: 0x11, v128And: 0x4e, v128Or: 0x50, v128Xor: 0x51,
  i32x4Shl: 0xab, i32x4ShrU: 0xad, i32x4Add: 0xae,
} as const;
const V128 = 0x7b;

function uleb(value: number): number[] {
  const out: number[] = [];
  let v = value >>> 0;
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

function sleb(value: number): number[] {
  const out: number[] = [];
  let v = value | 0;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

/** The body of `compress()`: locals 0-7 hold a-h, 8-23 the schedule w0-w15 (each a v128 of four lanes). */
function compressBody(): number[] {
  const code: number[] = [];
  const simd = (op: number): void => void code.push(OP.simd, ...uleb(op));
  const get = (local: number): void => void code.push(OP.localGet, local);
  const set = (local: number): void => void code.push(OP.localSet, local);
  const i32 = (value: number): void => void code.push(OP.i32Const, ...sleb(value));
  const load = (at: number): void => {
    i32(0);
    simd(OP.v128Load);
    code.push(4, ...uleb(at)); // align 2^4, offset
  };
  const add = (): void => simd(OP.i32x4Add);
  const xor = (): void => simd(OP.v128Xor);
  const and = (): void => simd(OP.v128And);
  const or = (): void => simd(OP.v128Or);
  const shr = (n: number): void => {
    i32(n);
    simd(OP.i32x4ShrU);
  };
  const rotr = (local: number, n: number): void => {
    get(local);
    shr(n);
    get(local);
    i32(32 - n);
    simd(OP.i32x4Shl);
    or();
  };
  const w = (i: number): number => 8 + (i % 16);
  for (let i = 0; i < 8; i++) {
    load(STATE_AT + i * 16);
    set(i);
  }
  for (let i = 0; i < 16; i++) {
    load(i * 16);
    set(w(i));
  }
  for (let i = 0; i < 64; i++) {
    // The names a-h shift by one each round: round i's `a` is local (8 - i % 8) % 8, and so on.
    const [a, b, c, d, e, f, g, h] = [0, 1, 2, 3, 4, 5, 6, 7].map((j) => (j - (i % 8) + 8) % 8) as [number, number, number, number, number, number, number, number];
    if (i >= 16) {
      // w[i] = w[i-16] + σ0(w[i-15]) + w[i-7] + σ1(w[i-2])
      get(w(i));
      rotr(w(i - 15), 7); rotr(w(i - 15), 18); xor(); get(w(i - 15)); shr(3); xor(); add();
      get(w(i - 7)); add();
      rotr(w(i - 2), 17); rotr(w(i - 2), 19); xor(); get(w(i - 2)); shr(10); xor(); add();
      set(w(i));
    }
    // h += Σ1(e) + Ch(e, f, g) + K[i] + w[i]; d += h; h += Σ0(a) + Maj(a, b, c)
    get(h);
    rotr(e, 6); rotr(e, 11); xor(); rotr(e, 25); xor(); add();
    get(g); get(e); get(f); get(g); xor(); and(); xor(); add();
    i32(SHA256_K[i]!); simd(OP.i32x4Splat); add(); get(w(i)); add(); set(h);
    get(d); get(h); add(); set(d);
    get(h);
    rotr(a, 2); rotr(a, 13); xor(); rotr(a, 22); xor(); add();
    get(a); get(b); and(); get(c); get(a); get(b); or(); and(); or(); add(); set(h);
  }
  for (let i = 0; i < 8; i++) {
    i32(0); load(STATE_AT + i * 16); get(i); add();
    simd(OP.v128Store);
    code.push(4, ...uleb(STATE_AT + i * 16));
  }
  code.push(OP.end);
  return [1, 24, V128, ...code]; // one run of 24 v128 locals, then the code
}

/**
 * The body of `hmac()`: the inner hash of each lane's block from the inner key state, then the outer hash of
 * that digest from the outer key state (the digest, 0x80, zeros, the length of key block + digest in bits).
 */
function hmacBody(): number[] {
  const code: number[] = [];
  const simd = (op: number): void => void code.push(OP.simd, ...uleb(op));
  const i32 = (value: number): void => void code.push(OP.i32Const, ...sleb(value));
  const copy = (from: number, to: number): void => {
    i32(0);
    i32(0);
    simd(OP.v128Load);
    code.push(4, ...uleb(from));
    simd(OP.v128Store);
    code.push(4, ...uleb(to));
  };
  const put = (word: number, to: number): void => {
    i32(0);
    simd(OP.v128Const);
    for (let lane = 0; lane < 4; lane++) code.push(word & 0xff, (word >>> 8) & 0xff, (word >>> 16) & 0xff, (word >>> 24) & 0xff);
    simd(OP.v128Store);
    code.push(4, ...uleb(to));
  };
  for (let i = 0; i < 8; i++) copy(INNER_AT + i * 16, STATE_AT + i * 16);
  code.push(OP.call, 0);
  for (let i = 0; i < 8; i++) copy(STATE_AT + i * 16, i * 16);
  put(0x80000000, 8 * 16);
  for (let i = 9; i < 15; i++) put(0, i * 16);
  put((64 + 32) * 8, 15 * 16);
  for (let i = 0; i < 8; i++) copy(OUTER_AT + i * 16, STATE_AT + i * 16);
  code.push(OP.call, 0);
  code.push(OP.end);
  return [0, ...code]; // no locals, then the code
}

function moduleBytes(): Uint8Array {
  const section = (id: number, content: number[]): number[] => [id, ...uleb(content.length), ...content];
  const body = compressBody();
  const hmac = hmacBody();
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // "\0asm", version 1
    ...section(1, [1, 0x60, 0, 0]), // one type: () -> ()
    ...section(3, [2, 0, 0]), // two functions, of type 0
    ...section(5, [1, 0, 1]), // one memory, at least 1 page
    ...section(7, [3, 1, 0x63, 0x00, 0, 1, 0x68, 0x00, 1, 1, 0x6d, 0x02, 0]), // exports: "c" function 0, "h" function 1, "m" memory 0
    ...section(10, [2, ...uleb(body.length), ...body, ...uleb(hmac.length), ...hmac]),
  ]);
}

/** Four lanes of SHA-256 compression. */
export interface Sha256x4 {
  /** Word i of lane j's block at `[i * 4 + j]`. */
  readonly block: Int32Array;
  /** Word i of lane j's state at `[i * 4 + j]`. */
  readonly state: Int32Array;
  /** Compresses each lane's block into its state. */
  compress(): void;
  /** HMAC's key states, inner and outer: word i of lane j at `[i * 4 + j]`. */
  readonly inner: Int32Array;
  readonly outer: Int32Array;
  /** Who wrote `inner` and `outer` last (an {@link Hmac32} of hmac.ts): the module is shared by every key. */
  owner: unknown;
  /**
   * Each lane's HMAC: its block (the value's one padded block) hashed from `inner`, the digest from `outer`; the
   * lanes' digests in `state`.
   */
  hmac(): void;
}

/** The part of the WebAssembly global used here (this project's `lib` has no DOM types). */
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: Record<string, unknown> };
};

let made: Sha256x4 | null | undefined;

/** The compressor, made on first use; null where WebAssembly SIMD is not available. */
export function sha256x4(): Sha256x4 | null {
  if (made !== undefined) return made;
  try {
    const instance = new WebAssembly.Instance(new WebAssembly.Module(moduleBytes()));
    const memory = instance.exports.m as { buffer: ArrayBuffer };
    const compress = instance.exports.c as () => void;
    const hmac = instance.exports.h as () => void;
    made = {
      block: new Int32Array(memory.buffer, 0, 64), state: new Int32Array(memory.buffer, STATE_AT, 32), compress,
      inner: new Int32Array(memory.buffer, INNER_AT, 32), outer: new Int32Array(memory.buffer, OUTER_AT, 32), owner: null, hmac,
    };
  } catch {
    made = null;
  }
  return made;
}

/**
 * HMAC-SHA256 for the `hash` action (contract §10): the first 32 lowercase hex characters of
 * `HMAC-SHA256(key, value)`, the value taken as UTF-8.
 *
 * Why not `crypto.createHmac` per value: a table hashes one value per row and per hashed column, millions of
 * them, and the per-call cost of node:crypto (an object, a C++ call, a hex string) is about 2 µs; even the
 * one-shot `crypto.hash` costs more than both compressions here. The two key blocks of HMAC (key ⊕ ipad,
 * key ⊕ opad) are compressed once, so a value of up to 55 bytes costs two SHA-256 compressions: in plain
 * JavaScript one at a time ({@link Hmac32.digestInto}; a scalar WebAssembly build measured no faster), or four
 * values at once in the lanes of WebAssembly SIMD ({@link Hmac32.queue}, sha256x4.ts: 40 % less per value).
 * Unit tests check every result against node:crypto.
 */
import { createHash } from 'node:crypto';
import { LastView } from './last-view.js';
import { SHA256_K, sha256x4, type Sha256x4 } from './sha256x4.js';

const K = new Int32Array(SHA256_K);
const IV = new Int32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
const BLOCK = 64;
/** The ASCII codes of the hex digits. */
const HEX = Uint8Array.from('0123456789abcdef', (c) => c.charCodeAt(0));
/** Per byte, its two hex digits (ASCII), the first in the high 8 bits (a big-endian 16-bit write). */
const HEX_PAIRS = Uint16Array.from({ length: 256 }, (_, b) => (HEX[b >>> 4]! << 8) | HEX[b & 15]!);
const EMPTY = new Uint8Array(0);
/** The block being compressed, as 16 big-endian words; shared: the hasher is synchronous. */
const W = new Int32Array(16);

/**
 * One SHA-256 compression of the block in `W` into `state`. Sixteen rounds are written out, with the message
 * schedule in sixteen locals updated in place, and the loop runs them four times: 30 % faster than one round per
 * iteration over a 64-word schedule array (measured; fully unrolled gains only 10 % more).
 */
function compress(state: Int32Array): void {
  let w0 = W[0]!, w1 = W[1]!, w2 = W[2]!, w3 = W[3]!, w4 = W[4]!, w5 = W[5]!, w6 = W[6]!, w7 = W[7]!;
  let w8 = W[8]!, w9 = W[9]!, w10 = W[10]!, w11 = W[11]!, w12 = W[12]!, w13 = W[13]!, w14 = W[14]!, w15 = W[15]!;
  let a = state[0]!, b = state[1]!, c = state[2]!, d = state[3]!;
  let e = state[4]!, f = state[5]!, g = state[6]!, h = state[7]!;
  for (let i = 0; i < 64; i += 16) {
    if (i > 0) {
      w0 = (w0 + w9 + (((w1 >>> 7) | (w1 << 25)) ^ ((w1 >>> 18) | (w1 << 14)) ^ (w1 >>> 3))) | 0;
      w0 = (w0 + (((w14 >>> 17) | (w14 << 15)) ^ ((w14 >>> 19) | (w14 << 13)) ^ (w14 >>> 10))) | 0;
      w1 = (w1 + w10 + (((w2 >>> 7) | (w2 << 25)) ^ ((w2 >>> 18) | (w2 << 14)) ^ (w2 >>> 3))) | 0;
      w1 = (w1 + (((w15 >>> 17) | (w15 << 15)) ^ ((w15 >>> 19) | (w15 << 13)) ^ (w15 >>> 10))) | 0;
      w2 = (w2 + w11 + (((w3 >>> 7) | (w3 << 25)) ^ ((w3 >>> 18) | (w3 << 14)) ^ (w3 >>> 3))) | 0;
      w2 = (w2 + (((w0 >>> 17) | (w0 << 15)) ^ ((w0 >>> 19) | (w0 << 13)) ^ (w0 >>> 10))) | 0;
      w3 = (w3 + w12 + (((w4 >>> 7) | (w4 << 25)) ^ ((w4 >>> 18) | (w4 << 14)) ^ (w4 >>> 3))) | 0;
      w3 = (w3 + (((w1 >>> 17) | (w1 << 15)) ^ ((w1 >>> 19) | (w1 << 13)) ^ (w1 >>> 10))) | 0;
      w4 = (w4 + w13 + (((w5 >>> 7) | (w5 << 25)) ^ ((w5 >>> 18) | (w5 << 14)) ^ (w5 >>> 3))) | 0;
      w4 = (w4 + (((w2 >>> 17) | (w2 << 15)) ^ ((w2 >>> 19) | (w2 << 13)) ^ (w2 >>> 10))) | 0;
      w5 = (w5 + w14 + (((w6 >>> 7) | (w6 << 25)) ^ ((w6 >>> 18) | (w6 << 14)) ^ (w6 >>> 3))) | 0;
      w5 = (w5 + (((w3 >>> 17) | (w3 << 15)) ^ ((w3 >>> 19) | (w3 << 13)) ^ (w3 >>> 10))) | 0;
      w6 = (w6 + w15 + (((w7 >>> 7) | (w7 << 25)) ^ ((w7 >>> 18) | (w7 << 14)) ^ (w7 >>> 3))) | 0;
      w6 = (w6 + (((w4 >>> 17) | (w4 << 15)) ^ ((w4 >>> 19) | (w4 << 13)) ^ (w4 >>> 10))) | 0;
      w7 = (w7 + w0 + (((w8 >>> 7) | (w8 << 25)) ^ ((w8 >>> 18) | (w8 << 14)) ^ (w8 >>> 3))) | 0;
      w7 = (w7 + (((w5 >>> 17) | (w5 << 15)) ^ ((w5 >>> 19) | (w5 << 13)) ^ (w5 >>> 10))) | 0;
      w8 = (w8 + w1 + (((w9 >>> 7) | (w9 << 25)) ^ ((w9 >>> 18) | (w9 << 14)) ^ (w9 >>> 3))) | 0;
      w8 = (w8 + (((w6 >>> 17) | (w6 << 15)) ^ ((w6 >>> 19) | (w6 << 13)) ^ (w6 >>> 10))) | 0;
      w9 = (w9 + w2 + (((w10 >>> 7) | (w10 << 25)) ^ ((w10 >>> 18) | (w10 << 14)) ^ (w10 >>> 3))) | 0;
      w9 = (w9 + (((w7 >>> 17) | (w7 << 15)) ^ ((w7 >>> 19) | (w7 << 13)) ^ (w7 >>> 10))) | 0;
      w10 = (w10 + w3 + (((w11 >>> 7) | (w11 << 25)) ^ ((w11 >>> 18) | (w11 << 14)) ^ (w11 >>> 3))) | 0;
      w10 = (w10 + (((w8 >>> 17) | (w8 << 15)) ^ ((w8 >>> 19) | (w8 << 13)) ^ (w8 >>> 10))) | 0;
      w11 = (w11 + w4 + (((w12 >>> 7) | (w12 << 25)) ^ ((w12 >>> 18) | (w12 << 14)) ^ (w12 >>> 3))) | 0;
      w11 = (w11 + (((w9 >>> 17) | (w9 << 15)) ^ ((w9 >>> 19) | (w9 << 13)) ^ (w9 >>> 10))) | 0;
      w12 = (w12 + w5 + (((w13 >>> 7) | (w13 << 25)) ^ ((w13 >>> 18) | (w13 << 14)) ^ (w13 >>> 3))) | 0;
      w12 = (w12 + (((w10 >>> 17) | (w10 << 15)) ^ ((w10 >>> 19) | (w10 << 13)) ^ (w10 >>> 10))) | 0;
      w13 = (w13 + w6 + (((w14 >>> 7) | (w14 << 25)) ^ ((w14 >>> 18) | (w14 << 14)) ^ (w14 >>> 3))) | 0;
      w13 = (w13 + (((w11 >>> 17) | (w11 << 15)) ^ ((w11 >>> 19) | (w11 << 13)) ^ (w11 >>> 10))) | 0;
      w14 = (w14 + w7 + (((w15 >>> 7) | (w15 << 25)) ^ ((w15 >>> 18) | (w15 << 14)) ^ (w15 >>> 3))) | 0;
      w14 = (w14 + (((w12 >>> 17) | (w12 << 15)) ^ ((w12 >>> 19) | (w12 << 13)) ^ (w12 >>> 10))) | 0;
      w15 = (w15 + w8 + (((w0 >>> 7) | (w0 << 25)) ^ ((w0 >>> 18) | (w0 << 14)) ^ (w0 >>> 3))) | 0;
      w15 = (w15 + (((w13 >>> 17) | (w13 << 15)) ^ ((w13 >>> 19) | (w13 << 13)) ^ (w13 >>> 10))) | 0;
    }
    // Round r: h += Σ1(e) + Ch(e, f, g) + K + w; d += h; h += Σ0(a) + Maj(a, b, c) — then the names shift by one.
    h = (h + (((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))) + (g ^ (e & (f ^ g))) + K[i]! + w0) | 0;
    d = (d + h) | 0;
    h = (h + (((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))) + ((a & b) | (c & (a | b)))) | 0;
    g = (g + (((d >>> 6) | (d << 26)) ^ ((d >>> 11) | (d << 21)) ^ ((d >>> 25) | (d << 7))) + (f ^ (d & (e ^ f))) + K[i + 1]! + w1) | 0;
    c = (c + g) | 0;
    g = (g + (((h >>> 2) | (h << 30)) ^ ((h >>> 13) | (h << 19)) ^ ((h >>> 22) | (h << 10))) + ((h & a) | (b & (h | a)))) | 0;
    f = (f + (((c >>> 6) | (c << 26)) ^ ((c >>> 11) | (c << 21)) ^ ((c >>> 25) | (c << 7))) + (e ^ (c & (d ^ e))) + K[i + 2]! + w2) | 0;
    b = (b + f) | 0;
    f = (f + (((g >>> 2) | (g << 30)) ^ ((g >>> 13) | (g << 19)) ^ ((g >>> 22) | (g << 10))) + ((g & h) | (a & (g | h)))) | 0;
    e = (e + (((b >>> 6) | (b << 26)) ^ ((b >>> 11) | (b << 21)) ^ ((b >>> 25) | (b << 7))) + (d ^ (b & (c ^ d))) + K[i + 3]! + w3) | 0;
    a = (a + e) | 0;
    e = (e + (((f >>> 2) | (f << 30)) ^ ((f >>> 13) | (f << 19)) ^ ((f >>> 22) | (f << 10))) + ((f & g) | (h & (f | g)))) | 0;
    d = (d + (((a >>> 6) | (a << 26)) ^ ((a >>> 11) | (a << 21)) ^ ((a >>> 25) | (a << 7))) + (c ^ (a & (b ^ c))) + K[i + 4]! + w4) | 0;
    h = (h + d) | 0;
    d = (d + (((e >>> 2) | (e << 30)) ^ ((e >>> 13) | (e << 19)) ^ ((e >>> 22) | (e << 10))) + ((e & f) | (g & (e | f)))) | 0;
    c = (c + (((h >>> 6) | (h << 26)) ^ ((h >>> 11) | (h << 21)) ^ ((h >>> 25) | (h << 7))) + (b ^ (h & (a ^ b))) + K[i + 5]! + w5) | 0;
    g = (g + c) | 0;
    c = (c + (((d >>> 2) | (d << 30)) ^ ((d >>> 13) | (d << 19)) ^ ((d >>> 22) | (d << 10))) + ((d & e) | (f & (d | e)))) | 0;
    b = (b + (((g >>> 6) | (g << 26)) ^ ((g >>> 11) | (g << 21)) ^ ((g >>> 25) | (g << 7))) + (a ^ (g & (h ^ a))) + K[i + 6]! + w6) | 0;
    f = (f + b) | 0;
    b = (b + (((c >>> 2) | (c << 30)) ^ ((c >>> 13) | (c << 19)) ^ ((c >>> 22) | (c << 10))) + ((c & d) | (e & (c | d)))) | 0;
    a = (a + (((f >>> 6) | (f << 26)) ^ ((f >>> 11) | (f << 21)) ^ ((f >>> 25) | (f << 7))) + (h ^ (f & (g ^ h))) + K[i + 7]! + w7) | 0;
    e = (e + a) | 0;
    a = (a + (((b >>> 2) | (b << 30)) ^ ((b >>> 13) | (b << 19)) ^ ((b >>> 22) | (b << 10))) + ((b & c) | (d & (b | c)))) | 0;
    h = (h + (((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))) + (g ^ (e & (f ^ g))) + K[i + 8]! + w8) | 0;
    d = (d + h) | 0;
    h = (h + (((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))) + ((a & b) | (c & (a | b)))) | 0;
    g = (g + (((d >>> 6) | (d << 26)) ^ ((d >>> 11) | (d << 21)) ^ ((d >>> 25) | (d << 7))) + (f ^ (d & (e ^ f))) + K[i + 9]! + w9) | 0;
    c = (c + g) | 0;
    g = (g + (((h >>> 2) | (h << 30)) ^ ((h >>> 13) | (h << 19)) ^ ((h >>> 22) | (h << 10))) + ((h & a) | (b & (h | a)))) | 0;
    f = (f + (((c >>> 6) | (c << 26)) ^ ((c >>> 11) | (c << 21)) ^ ((c >>> 25) | (c << 7))) + (e ^ (c & (d ^ e))) + K[i + 10]! + w10) | 0;
    b = (b + f) | 0;
    f = (f + (((g >>> 2) | (g << 30)) ^ ((g >>> 13) | (g << 19)) ^ ((g >>> 22) | (g << 10))) + ((g & h) | (a & (g | h)))) | 0;
    e = (e + (((b >>> 6) | (b << 26)) ^ ((b >>> 11) | (b << 21)) ^ ((b >>> 25) | (b << 7))) + (d ^ (b & (c ^ d))) + K[i + 11]! + w11) | 0;
    a = (a + e) | 0;
    e = (e + (((f >>> 2) | (f << 30)) ^ ((f >>> 13) | (f << 19)) ^ ((f >>> 22) | (f << 10))) + ((f & g) | (h & (f | g)))) | 0;
    d = (d + (((a >>> 6) | (a << 26)) ^ ((a >>> 11) | (a << 21)) ^ ((a >>> 25) | (a << 7))) + (c ^ (a & (b ^ c))) + K[i + 12]! + w12) | 0;
    h = (h + d) | 0;
    d = (d + (((e >>> 2) | (e << 30)) ^ ((e >>> 13) | (e << 19)) ^ ((e >>> 22) | (e << 10))) + ((e & f) | (g & (e | f)))) | 0;
    c = (c + (((h >>> 6) | (h << 26)) ^ ((h >>> 11) | (h << 21)) ^ ((h >>> 25) | (h << 7))) + (b ^ (h & (a ^ b))) + K[i + 13]! + w13) | 0;
    g = (g + c) | 0;
    c = (c + (((d >>> 2) | (d << 30)) ^ ((d >>> 13) | (d << 19)) ^ ((d >>> 22) | (d << 10))) + ((d & e) | (f & (d | e)))) | 0;
    b = (b + (((g >>> 6) | (g << 26)) ^ ((g >>> 11) | (g << 21)) ^ ((g >>> 25) | (g << 7))) + (a ^ (g & (h ^ a))) + K[i + 14]! + w14) | 0;
    f = (f + b) | 0;
    b = (b + (((c >>> 2) | (c << 30)) ^ ((c >>> 13) | (c << 19)) ^ ((c >>> 22) | (c << 10))) + ((c & d) | (e & (c | d)))) | 0;
    a = (a + (((f >>> 6) | (f << 26)) ^ ((f >>> 11) | (f << 21)) ^ ((f >>> 25) | (f << 7))) + (h ^ (f & (g ^ h))) + K[i + 15]! + w15) | 0;
    e = (e + a) | 0;
    a = (a + (((b >>> 2) | (b << 30)) ^ ((b >>> 13) | (b << 19)) ^ ((b >>> 22) | (b << 10))) + ((b & c) | (d & (b | c)))) | 0;
  }
  state[0] = (state[0]! + a) | 0;
  state[1] = (state[1]! + b) | 0;
  state[2] = (state[2]! + c) | 0;
  state[3] = (state[3]! + d) | 0;
  state[4] = (state[4]! + e) | 0;
  state[5] = (state[5]! + f) | 0;
  state[6] = (state[6]! + g) | 0;
  state[7] = (state[7]! + h) | 0;
}

/** Loads `bytes[at, at + 64)` into `W`. */
function load(bytes: Uint8Array, at: number): void {
  for (let i = 0; i < 16; i++) {
    const j = at + i * 4;
    W[i] = (bytes[j]! << 24) | (bytes[j + 1]! << 16) | (bytes[j + 2]! << 8) | bytes[j + 3]!;
  }
}

/** The state after compressing the key block XOR `pad`. */
function padState(key: Uint8Array, pad: number): Int32Array {
  const block = new Uint8Array(BLOCK).fill(pad);
  for (let i = 0; i < key.length; i++) block[i] = block[i]! ^ key[i]!;
  const state = IV.slice();
  load(block, 0);
  compress(state);
  return state;
}

/** The longest value whose inner hash is one block (with the 0x80 byte and the 8-byte length). */
const ONE_BLOCK = BLOCK - 9;
const LANES = 4;

/** Computes `HMAC-SHA256(key, value)` truncated to 32 hex characters, for many values with one key. */
export class Hmac32 {
  readonly #inner: Int32Array;
  readonly #outer: Int32Array;
  readonly #state = new Int32Array(8);
  /** Four lanes of compression (null without WebAssembly SIMD), and the values queued for them. */
  readonly #x4: Sha256x4 | null = sha256x4();
  #queued = 0;
  readonly #queueBytes: Uint8Array[] = [EMPTY, EMPTY, EMPTY, EMPTY];
  readonly #queueOut: Uint8Array[] = [EMPTY, EMPTY, EMPTY, EMPTY];
  /** Per lane: start and end in its bytes, offset in its output. */
  readonly #queueAt = new Int32Array(LANES * 3);
  /** Views of the values (big-endian word reads) and of the output (hex digits two at a time). */
  readonly #valueWords = new LastView();
  readonly #outWords = new LastView();
  /** UTF-8 of a string value, then its 32 hex digits (`digest`). */
  #buf = Buffer.allocUnsafeSlow(4096);

  /** `key` is taken as UTF-8; one longer than the block size is hashed first, as HMAC says. */
  constructor(key: string) {
    let bytes: Uint8Array = Buffer.from(key, 'utf8');
    if (bytes.length > BLOCK) bytes = createHash('sha256').update(bytes).digest();
    this.#inner = padState(bytes, 0x36);
    this.#outer = padState(bytes, 0x5c);
  }

  /** The first 32 lowercase hex characters of HMAC-SHA256(key, UTF-8 of `value`). */
  digest(value: string): string {
    const length = value.length;
    // At most 3 bytes per UTF-16 unit, and 32 for the hex digits: grow the buffer before writing.
    if (length * 3 + 32 > this.#buf.length) this.#buf = Buffer.allocUnsafeSlow(Math.max(length * 3 + 32, this.#buf.length * 2));
    const buf = this.#buf;
    // ASCII (ids, names, addresses) is copied by hand: cheaper than a call into Buffer.write for short values.
    let n = 0;
    for (; n < length; n++) {
      const code = value.charCodeAt(n);
      if (code > 0x7f) break;
      buf[n] = code;
    }
    if (n < length) n = buf.write(value, 0, 'utf8');
    this.digestInto(buf, 0, n, buf, n);
    return buf.toString('latin1', n, n + 32);
  }

  /** Values queued and not yet hashed. */
  get queued(): number {
    return this.#queued;
  }

  /**
   * {@link digestInto}, later: the value waits for the other lanes, until four are queued or {@link flush}. Until
   * then neither `bytes[start, end)` nor `out[at, at + 32)` may change. False (nothing queued) for a value longer
   * than one block, or without SIMD: the caller hashes it now.
   */
  queue(bytes: Uint8Array, start: number, end: number, out: Uint8Array, at: number): boolean {
    if (this.#x4 === null || end - start > ONE_BLOCK) return false;
    const lane = this.#queued++;
    this.#queueBytes[lane] = bytes;
    this.#queueOut[lane] = out;
    const where = this.#queueAt;
    where[lane * 3] = start;
    where[lane * 3 + 1] = end;
    where[lane * 3 + 2] = at;
    if (lane === LANES - 1) this.flush();
    return true;
  }

  /** Hashes the queued values, each into its place. */
  flush(): void {
    const n = this.#queued;
    const x4 = this.#x4;
    if (n === 0 || x4 === null) return;
    this.#queued = 0;
    const where = this.#queueAt;
    const queueBytes = this.#queueBytes;
    const queueOut = this.#queueOut;
    if (n === 1) {
      // One value: the scalar compression costs half of four lanes.
      this.digestInto(queueBytes[0]!, where[0]!, where[1]!, queueOut[0]!, where[2]!);
      queueBytes[0] = EMPTY;
      queueOut[0] = EMPTY;
      return;
    }
    const { block, state } = x4;
    if (x4.owner !== this) {
      // The key states of this key, in every lane (the module is shared by every key of the thread).
      const inner = this.#inner;
      const outer = this.#outer;
      for (let i = 0; i < 8; i++) {
        for (let lane = 0; lane < LANES; lane++) {
          x4.inner[i * LANES + lane] = inner[i]!;
          x4.outer[i * LANES + lane] = outer[i]!;
        }
      }
      x4.owner = this;
    }
    // Each lane's value in one block, with its padding and length (the key block before it); the lanes after the
    // n-th hold what they held, and their results are not read.
    for (let lane = 0; lane < n; lane++) {
      const bytes = queueBytes[lane]!;
      const start = where[lane * 3]!;
      const end = where[lane * 3 + 1]!;
      let p = start;
      let k = lane;
      const words = this.#valueWords.of(bytes);
      for (; p + 4 <= end; p += 4, k += LANES) block[k] = words.getInt32(p);
      let last = 0;
      for (let shift = 24; p < end; p++, shift -= 8) last |= bytes[p]! << shift;
      block[k] = last | (0x80 << (24 - ((end - start) & 3) * 8));
      for (k += LANES; k < 15 * LANES; k += LANES) block[k] = 0;
      block[k] = (BLOCK + end - start) * 8;
    }
    // The inner hash, then the outer one of its digest, in the module.
    x4.hmac();
    for (let lane = 0; lane < n; lane++) {
      const out = this.#outWords.of(queueOut[lane]!);
      let at = where[lane * 3 + 2]!;
      for (let i = 0; i < 4; i++) {
        const word = state[i * LANES + lane]!;
        out.setUint16(at, HEX_PAIRS[word >>> 24]!);
        out.setUint16(at + 2, HEX_PAIRS[(word >>> 16) & 255]!);
        out.setUint16(at + 4, HEX_PAIRS[(word >>> 8) & 255]!);
        out.setUint16(at + 6, HEX_PAIRS[word & 255]!);
        at += 8;
      }
      queueBytes[lane] = EMPTY;
      queueOut[lane] = EMPTY;
    }
  }

  /**
   * Writes the 32 lowercase hex digits (ASCII) of HMAC-SHA256(key, `bytes[start, end)`) into `out[at, at + 32)`.
   * The bytes are the value's UTF-8; `out` may be `bytes` when the two ranges do not overlap.
   */
  digestInto(bytes: Uint8Array, start: number, end: number, out: Uint8Array, at: number): void {
    const state = this.#state;
    const inner = this.#inner;
    for (let i = 0; i < 8; i++) state[i] = inner[i]!;
    // Whole blocks straight from the bytes, then the rest with the padding: 0x80, zeros, the length in bits
    // (of key block + message) as a big-endian 64-bit number in the last 8 bytes.
    let p = start;
    for (; end - p >= BLOCK; p += BLOCK) {
      load(bytes, p);
      compress(state);
    }
    for (let i = 0; i < 16; i++) W[i] = 0;
    const rest = end - p;
    const words = rest >>> 2;
    for (let i = 0; i < words; i++, p += 4) W[i] = (bytes[p]! << 24) | (bytes[p + 1]! << 16) | (bytes[p + 2]! << 8) | bytes[p + 3]!;
    let last = 0;
    for (let shift = 24; p < end; p++, shift -= 8) last |= bytes[p]! << shift;
    W[words] = last | (0x80 << (24 - (rest & 3) * 8));
    if (rest > 55) {
      compress(state);
      for (let i = 0; i < 16; i++) W[i] = 0;
    }
    const bits = (BLOCK + end - start) * 8;
    W[14] = Math.floor(bits / 0x1_0000_0000);
    W[15] = bits | 0;
    compress(state);
    // The outer message is the 32-byte inner digest, then fixed padding.
    for (let i = 0; i < 8; i++) W[i] = state[i]!;
    W[8] = 0x80000000 | 0;
    for (let i = 9; i < 15; i++) W[i] = 0;
    W[15] = (BLOCK + 32) * 8;
    const outer = this.#outer;
    for (let i = 0; i < 8; i++) state[i] = outer[i]!;
    compress(state);
    for (let i = 0; i < 4; i++) {
      const word = state[i]!;
      for (let shift = 28; shift >= 0; shift -= 4) out[at++] = HEX[(word >>> shift) & 15]!;
    }
  }
}

/** Lookups after which a cache that hits less than {@link MIN_HIT_RATE} of the time is switched off. */
const PROBE_LOOKUPS = 4096;
const MIN_HIT_RATE = 0.2;
const CACHE_SIZE = 4096;

/**
 * The hash of one column (or property): values such as user and host names repeat, so recent results are kept
 * (at most {@link CACHE_SIZE}, forgotten all at once when full). A column of unique values (ids) would only pay
 * for the cache, so it is switched off when it hits too rarely.
 */
export class CachedHash {
  readonly #hmac: Hmac32;
  #cache: Map<string, string> | undefined = new Map();
  #lookups = 0;
  #hits = 0;

  constructor(hmac: Hmac32) {
    this.#hmac = hmac;
  }

  digest(value: string): string {
    const cache = this.#cache;
    if (cache === undefined) return this.#hmac.digest(value);
    const known = cache.get(value);
    if (++this.#lookups === PROBE_LOOKUPS && this.#hits < PROBE_LOOKUPS * MIN_HIT_RATE) this.#cache = undefined;
    if (known !== undefined) {
      this.#hits++;
      return known;
    }
    const hex = this.#hmac.digest(value);
    if (cache.size >= CACHE_SIZE) cache.clear();
    cache.set(flat(value), hex);
    return hex;
  }
}

/**
 * A copy of `text` that holds on to nothing else. A field read from a chunk is a V8 "sliced string" keeping the
 * whole decoded chunk alive; kept in the cache it would pin thousands of chunks. Slicing a concatenation makes V8
 * copy the characters into a new string of their own.
 */
function flat(text: string): string {
  return ` ${text}`.slice(1);
}

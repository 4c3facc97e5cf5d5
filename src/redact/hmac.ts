/**
 * HMAC-SHA256 for the `hash` action (contract §10): the first 32 lowercase hex characters of
 * `HMAC-SHA256(key, value)`, the value taken as UTF-8.
 *
 * Why not `crypto.createHmac` per value: a table hashes one value per row and per hashed column, millions of
 * them, and the per-call cost of node:crypto (an object, a C++ call, a hex string) is several microseconds. The
 * two key blocks of HMAC (key ⊕ ipad, key ⊕ opad) are compressed once here, so a value of up to 55 bytes costs
 * two SHA-256 compressions in plain JavaScript. A unit test checks every result against node:crypto.
 */
import { createHash } from 'node:crypto';

const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
  0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
  0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
  0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
  0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
  0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
  0xc67178f2,
]);
const IV = new Int32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
const BLOCK = 64;
/** Hex text of every 16-bit value (1.5 MiB, made on first use): 8 concatenations per hash instead of 16. */
let hex4: string[] | undefined;
/** The message schedule, shared: the hasher is synchronous, so one is enough for the process. */
const W = new Int32Array(64);

/** One SHA-256 compression of `bytes[at, at + 64)` into `state`. */
function compress(state: Int32Array, bytes: Uint8Array, at: number): void {
  for (let i = 0; i < 16; i++) {
    const j = at + i * 4;
    W[i] = (bytes[j]! << 24) | (bytes[j + 1]! << 16) | (bytes[j + 2]! << 8) | bytes[j + 3]!;
  }
  compressWords(state);
}

/** One SHA-256 compression of the block already in `W[0, 16)` into `state`. */
function compressWords(state: Int32Array): void {
  for (let i = 16; i < 64; i++) {
    const w15 = W[i - 15]!;
    const w2 = W[i - 2]!;
    const s0 = ((w15 >>> 7) | (w15 << 25)) ^ ((w15 >>> 18) | (w15 << 14)) ^ (w15 >>> 3);
    const s1 = ((w2 >>> 17) | (w2 << 15)) ^ ((w2 >>> 19) | (w2 << 13)) ^ (w2 >>> 10);
    W[i] = (W[i - 16]! + s0 + W[i - 7]! + s1) | 0;
  }
  let a = state[0]!, b = state[1]!, c = state[2]!, d = state[3]!;
  let e = state[4]!, f = state[5]!, g = state[6]!, h = state[7]!;
  for (let i = 0; i < 64; i++) {
    const s1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const t1 = (h + s1 + ((e & f) ^ (~e & g)) + K[i]! + W[i]!) | 0;
    const s0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const t2 = (s0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
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

/** The state after compressing the key block XOR `pad`. */
function padState(key: Uint8Array, pad: number): Int32Array {
  const block = new Uint8Array(BLOCK).fill(pad);
  for (let i = 0; i < key.length; i++) block[i] = block[i]! ^ key[i]!;
  const state = IV.slice();
  compress(state, block, 0);
  return state;
}

/** Computes `HMAC-SHA256(key, value)` truncated to 32 hex characters, for many values with one key. */
export class Hmac32 {
  readonly #inner: Int32Array;
  readonly #outer: Int32Array;
  readonly #state = new Int32Array(8);
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
    // At most 3 bytes per UTF-16 unit, plus padding: grow the buffer before writing.
    if (length * 3 + BLOCK + 9 > this.#buf.length) this.#buf = Buffer.allocUnsafeSlow(Math.max(length * 3 + BLOCK + 9, this.#buf.length * 2));
    const buf = this.#buf;
    // ASCII (ids, names, addresses) is copied by hand: cheaper than a call into Buffer.write for short values.
    let n = 0;
    for (; n < length; n++) {
      const code = value.charCodeAt(n);
      if (code > 0x7f) break;
      buf[n] = code;
    }
    if (n < length) n = buf.write(value, 0, 'utf8');
    const end = (Math.floor((n + 8) / BLOCK) + 1) * BLOCK;
    buf[n] = 0x80;
    for (let i = n + 1; i < end - 4; i++) buf[i] = 0;
    // Length in bits of key block + message, big-endian 64-bit (values below 512 MiB: the high word is 0).
    const bits = (BLOCK + n) * 8;
    buf[end - 4] = bits >>> 24;
    buf[end - 3] = (bits >>> 16) & 0xff;
    buf[end - 2] = (bits >>> 8) & 0xff;
    buf[end - 1] = bits & 0xff;
    const state = this.#state;
    state.set(this.#inner);
    for (let at = 0; at < end; at += BLOCK) compress(state, buf, at);
    // The outer message is the 32-byte inner digest, then fixed padding: straight into the schedule.
    for (let i = 0; i < 8; i++) W[i] = state[i]!;
    W[8] = 0x80000000 | 0;
    for (let i = 9; i < 15; i++) W[i] = 0;
    W[15] = (BLOCK + 32) * 8;
    state.set(this.#outer);
    compressWords(state);
    const h = (hex4 ??= Array.from({ length: 0x10000 }, (_, i) => i.toString(16).padStart(4, '0')));
    const a = state[0]!, b = state[1]!, c = state[2]!, d = state[3]!;
    return h[a >>> 16]! + h[a & 0xffff]! + h[b >>> 16]! + h[b & 0xffff]! + h[c >>> 16]! + h[c & 0xffff]! + h[d >>> 16]! + h[d & 0xffff]!;
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

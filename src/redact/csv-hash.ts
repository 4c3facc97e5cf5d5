/**
 * The `hash` action on one CSV column, bytes in, hex digits out: the value's UTF-8 bytes go straight into the
 * HMAC and its 32 hex digits straight into the output, with no string made on the way. Values such as user and
 * host names repeat, so recent results are kept in a small table keyed by the bytes themselves.
 */
import type { Hmac32 } from './hmac.js';
import { LastView } from './last-view.js';

/** Entries kept at most; the table is emptied all at once when full. */
const CACHE_ENTRIES = 4096;
/** Open-addressing slots: twice the entries, so probes stay short. */
const SLOTS = CACHE_ENTRIES * 2;
/** Bytes of the keys and their digests; also emptied when full. */
const ARENA_BYTES = 256 * 1024;
/** A longer value is not kept: it would take the room of many short ones, and repeats less. */
const MAX_KEY_BYTES = 1024;
/** Lookups after which a cache that hits less than {@link MIN_HIT_RATE} of the time is switched off. */
const PROBE_LOOKUPS = 4096;
const MIN_HIT_RATE = 0.2;
const DIGEST = 32;
const EMPTY = new Uint8Array(0);

/** Columns whose caches are kept per hash (key): beyond, a column's cache lives only as long as its file. */
const KEPT_COLUMNS = 16;
/**
 * The caches of each key's columns by column name, kept from one file to the next: the next file of the same
 * table starts with its values known, and the ~340 KiB of a cache is not made again for each file (on the
 * redaction thread, which rarely collects garbage, each file's own stayed until a full GC). A digest depends only
 * on the key and the value, so a cache is right for any file whose column has that name.
 */
const CACHES = new WeakMap<Hmac32, Map<string, ByteCache>>();

function cacheFor(hmac: Hmac32, column: string | undefined): ByteCache {
  if (column === undefined) return new ByteCache();
  let caches = CACHES.get(hmac);
  if (caches === undefined) {
    caches = new Map();
    CACHES.set(hmac, caches);
  }
  let cache = caches.get(column);
  if (cache === undefined) {
    cache = new ByteCache();
    if (caches.size < KEPT_COLUMNS) caches.set(column, cache);
  }
  return cache;
}

/**
 * A column's hash with a bounded cache (at most {@link ARENA_BYTES} and a few tables, whatever the file's size).
 * A column of unique values (ids) would only pay for the cache, so it is switched off when it hits too rarely.
 */
export class ColumnHash {
  readonly #hmac: Hmac32;
  #cache: ByteCache | undefined;
  #lookups = 0;
  #hits = 0;
  /** Values queued for the HMAC since the last {@link commit} (start, end, at), to keep once hashed. */
  readonly #pending: number[] = [];
  #pendingBytes: Uint8Array = EMPTY;
  #pendingOut: Uint8Array = EMPTY;

  /** `column`: the column's name, under which its cache is kept for the next file with the same `hmac`. */
  constructor(hmac: Hmac32, column?: string) {
    this.#hmac = hmac;
    this.#cache = cacheFor(hmac, column);
  }

  /**
   * Writes the 32 hex digits of the keyed hash of `bytes[start, end)` into `out[at, at + 32)` — now when `now`,
   * else possibly only at the HMAC's next flush ({@link Hmac32.queue}; then {@link commit}). Between two commits,
   * every value comes from the same `bytes` and goes to the same `out`.
   */
  write(bytes: Uint8Array, start: number, end: number, out: Uint8Array, at: number, now: boolean): void {
    const hmac = this.#hmac;
    const cache = this.#cache;
    if (cache === undefined || end - start > MAX_KEY_BYTES) {
      if (now || !hmac.queue(bytes, start, end, out, at)) hmac.digestInto(bytes, start, end, out, at);
      return;
    }
    if (++this.#lookups === PROBE_LOOKUPS && this.#hits < PROBE_LOOKUPS * MIN_HIT_RATE) this.#cache = undefined;
    if (cache.copy(bytes, start, end, out, at)) {
      this.#hits++;
      return;
    }
    if (!now && hmac.queue(bytes, start, end, out, at)) {
      this.#pending.push(start, end, at);
      this.#pendingBytes = bytes;
      this.#pendingOut = out;
      return;
    }
    hmac.digestInto(bytes, start, end, out, at);
    cache.add(bytes, start, end, out, at);
  }

  /** After the HMAC's flush: the values queued since the last commit go into the cache. */
  commit(): void {
    const pending = this.#pending;
    const cache = this.#cache;
    if (cache !== undefined) {
      for (let k = 0; k < pending.length; k += 3) cache.add(this.#pendingBytes, pending[k]!, pending[k + 1]!, this.#pendingOut, pending[k + 2]!);
    }
    pending.length = 0;
    this.#pendingBytes = EMPTY;
    this.#pendingOut = EMPTY;
  }
}

/** Byte strings → their 32-byte digests: open addressing over an arena, emptied all at once when full. */
class ByteCache {
  /** Entry index + 1 per slot; 0: empty. */
  readonly #slots = new Int32Array(SLOTS);
  readonly #keyAt = new Int32Array(CACHE_ENTRIES);
  readonly #keyLength = new Int32Array(CACHE_ENTRIES);
  readonly #keyHash = new Int32Array(CACHE_ENTRIES);
  /** Per entry: the key's bytes, then its digest. */
  readonly #arena = new Uint8Array(ARENA_BYTES);
  readonly #arenaView = new DataView(this.#arena.buffer);
  /** Views of the values {@link find} reads and of the output {@link copy} writes to, for words. */
  readonly #valueWords = new LastView();
  readonly #outWords = new LastView();
  #entries = 0;
  #used = 0;
  /** Slot and hash of the last {@link find}. */
  #slot = 0;
  #hash = 0;

  /** Copies the digest of `bytes[start, end)` into `out` at `at`, if known. */
  copy(bytes: Uint8Array, start: number, end: number, out: Uint8Array, at: number): boolean {
    const entry = this.#find(bytes, start, end);
    if (entry === -1) return false;
    const from = this.#keyAt[entry]! + end - start;
    // Four bytes at a time.
    const to = this.#outWords.of(out);
    const arena = this.#arenaView;
    for (let j = 0; j < DIGEST; j += 4) to.setInt32(at + j, arena.getInt32(from + j));
    return true;
  }

  /** Keeps the digest at `digest[at, at + 32)` of `bytes[start, end)` (unless it is kept already). */
  add(bytes: Uint8Array, start: number, end: number, digest: Uint8Array, at: number): void {
    const length = end - start;
    if (this.#entries === CACHE_ENTRIES || this.#used + length + DIGEST > ARENA_BYTES) {
      this.#slots.fill(0);
      this.#entries = 0;
      this.#used = 0;
    }
    if (this.#find(bytes, start, end) !== -1) return;
    const arena = this.#arena;
    const keyAt = this.#used;
    for (let i = 0; i < length; i++) arena[keyAt + i] = bytes[start + i]!;
    for (let j = 0; j < DIGEST; j++) arena[keyAt + length + j] = digest[at + j]!;
    const entry = this.#entries++;
    this.#keyAt[entry] = keyAt;
    this.#keyLength[entry] = length;
    this.#keyHash[entry] = this.#hash;
    this.#slots[this.#slot] = entry + 1;
    this.#used += length + DIGEST;
  }

  /** The entry of `bytes[start, end)`, or -1 (then `#slot` is the free slot where it would go). */
  #find(bytes: Uint8Array, start: number, end: number): number {
    const words = this.#valueWords.of(bytes);
    // Four bytes at a time, each word mixed in, then FNV-1a over the bytes left.
    let hash = 0x811c9dc5 | 0;
    let i = start;
    for (; i + 4 <= end; i += 4) {
      hash = Math.imul(hash ^ words.getInt32(i), 0x9e3779b1);
      hash ^= hash >>> 15;
    }
    for (; i < end; i++) hash = Math.imul(hash ^ bytes[i]!, 0x01000193);
    hash ^= hash >>> 16;
    const slots = this.#slots;
    const arena = this.#arena;
    const arenaWords = this.#arenaView;
    const length = end - start;
    let slot = hash & (SLOTS - 1);
    for (;;) {
      const entry = slots[slot]! - 1;
      if (entry === -1) break;
      if (this.#keyHash[entry] === hash && this.#keyLength[entry] === length) {
        const keyAt = this.#keyAt[entry]!;
        let k = 0;
        while (k + 4 <= length && arenaWords.getInt32(keyAt + k) === words.getInt32(start + k)) k += 4;
        while (k < length && arena[keyAt + k] === bytes[start + k]) k++;
        if (k === length) return entry;
      }
      slot = (slot + 1) & (SLOTS - 1);
    }
    this.#slot = slot;
    this.#hash = hash;
    return -1;
  }
}

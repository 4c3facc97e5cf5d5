/**
 * The fast path of CSV redaction: whole records of valid UTF-8 in, redacted records out, on the bytes. A kept
 * field's bytes are copied as they were read (RFC 4180 quoting is canonical: a field needs quotes exactly when
 * it holds `"`, `,`, CR or LF, so the input's quoting is the output's, but for needless quotes, which are
 * dropped); a hashed value's bytes go into the HMAC and its hex digits into the output; only masked fields are
 * made into strings, for the regular expressions. The output is byte for byte what the text path (csv.ts) makes
 * by parsing into strings and formatting them as `CsvFileSplitter` writes a row.
 *
 * A record this path does not take — one that breaks RFC 4180 or has another number of fields than the header —
 * stops it before anything of that record is written; the text path then reads on from there and reports it.
 */
import { isAscii } from 'node:buffer';
import type { CsvOut } from './csv-out.js';
import { DROP, HASH, KEEP, MASK, quoteField, type CsvPlan } from './csv-plan.js';
import { LastView } from './last-view.js';

const QUOTE = 0x22;
const COMMA = 0x2c;
const LF = 0x0a;
const CR = 0x0d;

/** Field flags: quoted in the input. */
const QUOTED = 1;
/** Quoted, with a doubled quote inside (the value differs from the bytes between the quotes). */
const ESCAPED = 2;
/** Must be quoted in the output: holds `"`, `,`, CR or LF. */
const SPECIAL = 4;
/** Fields up to this long are copied by a loop: cheaper than a call into `Buffer#copy`. */
const COPY_BY_LOOP = 64;
/** Output room {@link ByteRecords.#plain} asks for before a record (a longer record goes the other way). */
const PLAIN_ROOM = 4096;
/** Records between two looks at how often {@link ByteRecords.#plain} gives up. */
const PLAIN_PROBE = 1024;
/**
 * Word tests (bytes in the lanes of a 32-bit number): `(w - BELOW_COMMA) & ~w & HIGH_BITS` is not 0 exactly when
 * a byte of `w` is below 0x2d, i.e. may be `"`, `,`, CR or LF (a byte of 0x80 or more is never flagged by itself).
 */
const BELOW_COMMA = 0x2d2d2d2d;
const HIGH_BITS = 0x80808080 | 0;
const LOW_BITS = 0x7f7f7f7f;
const ONES = 0x01010101;

export class ByteRecords {
  /** Records redacted so far. */
  count = 0;
  readonly #plan: CsvPlan;
  readonly #out: CsvOut;
  readonly #width: number;
  /** Where each field of the current record starts and ends in the input (inside the quotes), and its flags. */
  readonly #starts: Int32Array;
  readonly #ends: Int32Array;
  readonly #flags: Uint8Array;
  /** Output bytes the current record can take at most, but for changed masked values. */
  #room = 0;
  /** A quoted value with doubled quotes, undoubled, for the hash: `#scratch[0, #undoubled)`. */
  #scratch = Buffer.allocUnsafeSlow(256);
  #undoubled = 0;
  /** Output bytes a record may need beyond its own length: a hash and a separator per field. */
  readonly #slack: number;
  /** Whether {@link #plain} is tried first; records it did not take since {@link #plainFrom} (a record count). */
  #plainOn: boolean;
  #plainMissed = 0;
  #plainFrom = 0;
  /** Of the hashed fields of the record {@link #plain} reads: input index, start, end, output offset. */
  readonly #hashed: Int32Array;
  /** Per masked column whose masks require one character only: that byte in each of four (0: other columns). */
  readonly #only: Int32Array;
  /** Views of the input and of the output buffer, for words. */
  readonly #inWords = new LastView();
  readonly #outWords = new LastView();

  constructor(plan: CsvPlan, out: CsvOut) {
    this.#plan = plan;
    this.#out = out;
    this.#width = plan.width;
    this.#starts = new Int32Array(plan.width);
    this.#ends = new Int32Array(plan.width);
    this.#flags = new Uint8Array(plan.width);
    this.#slack = plan.width * 35;
    this.#hashed = new Int32Array(plan.width * 4);
    this.#only = Int32Array.from(plan.maskers, (masker) => {
      const chars = masker === undefined ? [] : [...masker.sieve.keys()].filter((b) => masker.sieve[b] === 1);
      return chars.length === 1 ? Math.imul(chars[0]!, ONES) : 0;
    });
    // A mask that requires no known character would send every record of its column the other way.
    this.#plainOn = plan.maskers.every((masker) => masker === undefined || masker.least > 0);
  }

  /**
   * Redacts the records of `bytes[start, end)`: whole records of valid UTF-8 (the last may lack its line end only
   * at the end of the input). Returns `end`, or the start of the first record not taken.
   */
  records(bytes: Buffer, start: number, end: number): number {
    const ascii = isAscii(bytes.subarray(start, end));
    const width = this.#width;
    let p = start;
    while (p < end) {
      if (this.#plainOn) {
        if (this.#out.at + PLAIN_ROOM + this.#slack > this.#out.buf.length) {
          this.#plan.flushHashes();
          this.#out.reserve(PLAIN_ROOM + this.#slack);
        }
        const next = this.#plain(bytes, p, end);
        if (next !== -1) {
          this.count++;
          p = next;
          continue;
        }
        this.#missedPlain();
      }
      const next = this.#parse(bytes, p, end);
      if (next === -1) break;
      // Room for the whole record but changed masked values: every field copied (quotes added at most), every
      // hash, a separator per field.
      this.#room = next - p + width * 35;
      // Hashes still queued write into the buffer: finish them before it goes to the files.
      if (this.#out.at + this.#room > this.#out.buf.length) this.#plan.flushHashes();
      this.#out.reserve(this.#room);
      this.#write(bytes, ascii);
      this.count++;
      p = next;
    }
    this.#plan.flushHashes(); // the caller may reuse `bytes`
    return p;
  }

  /**
   * The common record in one pass, each field copied (or hashed, or skipped) as it is scanned: every field
   * unquoted, no CR but in the line end, as many fields as the header, no masked value a mask could change (see
   * {@link Masker.sieve}), at most the room left in the output buffer. Returns where the next record starts, or
   * -1 for any other record: nothing of it is written then, and {@link #parse} and {@link #write} take it.
   * Hashes are queued only once the whole record is read, so a record given up leaves nothing behind.
   */
  #plain(src: Buffer, p: number, end: number): number {
    const out = this.#out;
    const plan = this.#plan;
    const { kinds, lastKept, maskers } = plan;
    const last = this.#width - 1;
    const buf = out.buf;
    let at = out.at;
    // Never more input than the output buffer has room for: what is copied, plus a hash and a separator per field.
    const stop = Math.min(end, p + (buf.length - at) - this.#slack);
    // Four bytes at a time where none of them is below the comma (none is `"`, `,`, CR or LF then).
    const words = stop - 4;
    const from = this.#inWords.of(src);
    const to = this.#outWords.of(buf);
    const hashed = this.#hashed;
    let hashes = 0;
    let next = -1;
    for (let i = 0; ; i++) {
      const kind = kinds[i]!;
      let q = p;
      if (kind === KEEP) {
        field: for (;;) {
          for (; q <= words; q += 4, at += 4) {
            const w = from.getInt32(q, true);
            if (((w - BELOW_COMMA) & ~w & HIGH_BITS) !== 0) break;
            to.setInt32(at, w, true);
          }
          const upTo = Math.min(q + 4, stop);
          for (; q < upTo; q++) {
            const c = src[q]!;
            if (c <= COMMA && (c === COMMA || c === LF || c === CR || c === QUOTE)) break field;
            buf[at++] = c;
          }
          if (q >= stop) break;
        }
      } else if (kind === MASK) {
        const masker = maskers[i]!;
        const sieve = masker.sieve;
        const only = this.#only[i]!;
        let seen = 0;
        field: for (;;) {
          if (only !== 0) {
            for (; q <= words; q += 4, at += 4) {
              const w = from.getInt32(q, true);
              if (((w - BELOW_COMMA) & ~w & HIGH_BITS) !== 0) break;
              to.setInt32(at, w, true);
              // The bytes equal to the one required character, counted: 0x80 in each byte of w ^ only that is 0.
              const x = w ^ only;
              const zero = ~(((x & LOW_BITS) + LOW_BITS) | x | LOW_BITS);
              seen += Math.imul((zero >>> 7) & ONES, ONES) >>> 24;
            }
          }
          const upTo = only !== 0 ? Math.min(q + 4, stop) : stop;
          for (; q < upTo; q++) {
            const c = src[q]!;
            if (c <= COMMA && (c === COMMA || c === LF || c === CR || c === QUOTE)) break field;
            seen += sieve[c]!;
            buf[at++] = c;
          }
          if (q >= stop) break;
        }
        if (seen >= masker.least && masker.mayChange(src, p, q)) return -1;
      } else {
        field: for (;;) {
          for (; q <= words; q += 4) {
            const w = from.getInt32(q, true);
            if (((w - BELOW_COMMA) & ~w & HIGH_BITS) !== 0) break;
          }
          const upTo = Math.min(q + 4, stop);
          for (; q < upTo; q++) {
            const c = src[q]!;
            if (c <= COMMA && (c === COMMA || c === LF || c === CR || c === QUOTE)) break field;
          }
          if (q >= stop) break;
        }
        if (kind === HASH && q > p) {
          const h = hashes++ * 4;
          hashed[h] = i;
          hashed[h + 1] = p;
          hashed[h + 2] = q;
          hashed[h + 3] = at;
          at += 32;
        }
      }
      if (kind !== DROP) buf[at++] = i === lastKept ? LF : COMMA;
      // After the field: a comma, or the record's end (LF, CRLF, the end of the input).
      if (q >= stop) {
        if (q === end && i === last) next = end;
        break;
      }
      const c = src[q];
      if (c === COMMA) {
        if (i === last) break;
        p = q + 1;
        continue;
      }
      if (i !== last) break;
      if (c === LF) next = q + 1;
      else if (c === CR && q + 1 === end) next = end;
      else if (c === CR && src[q + 1] === LF) next = q + 2;
      break; // a quote, or a CR inside the field: the other way
    }
    if (next === -1) return -1;
    out.at = at;
    for (let h = 0; h < hashes * 4; h += 4) plan.hashes[hashed[h]!]!.write(src, hashed[h + 1]!, hashed[h + 2]!, buf, hashed[h + 3]!, false);
    return next;
  }

  /** A record {@link #plain} did not take: when that is more than one in eight, it is no longer tried. */
  #missedPlain(): void {
    this.#plainMissed++;
    const tried = this.count + 1 - this.#plainFrom;
    if (tried < PLAIN_PROBE) return;
    if (this.#plainMissed * 8 > tried) this.#plainOn = false;
    this.#plainMissed = 0;
    this.#plainFrom = this.count + 1;
  }

  /** Reads the record at `p` into the field bounds; returns where the next one starts, or -1. */
  #parse(src: Buffer, p: number, end: number): number {
    const last = this.#width - 1;
    const starts = this.#starts;
    const ends = this.#ends;
    const flags = this.#flags;
    for (let i = 0; ; i++) {
      let flag = 0;
      let q: number;
      if (p < end && src[p] === QUOTE) {
        flag = QUOTED;
        q = p + 1;
        for (;;) {
          if (q >= end) return -1; // a quote never closed
          const c = src[q]!;
          // `"`, `,`, CR and LF are all below or at the comma.
          if (c <= COMMA) {
            if (c === QUOTE) {
              if (q + 1 < end && src[q + 1] === QUOTE) {
                flag |= ESCAPED | SPECIAL;
                q += 2;
                continue;
              }
              break;
            }
            if (c === COMMA || c === CR || c === LF) flag |= SPECIAL;
          }
          q++;
        }
        starts[i] = p + 1;
        ends[i] = q;
        p = q + 1;
      } else {
        q = p;
        for (; q < end; q++) {
          const c = src[q]!;
          if (c > COMMA) continue;
          if (c === COMMA || c === LF) break;
          if (c === QUOTE) return -1; // a quote inside an unquoted field
          if (c === CR) {
            // CR before LF (or at the very end) is the line end; any other CR is text, and needs quotes.
            if (q + 1 === end || src[q + 1] === LF) break;
            flag |= SPECIAL;
          }
        }
        starts[i] = p;
        ends[i] = q;
        p = q;
      }
      flags[i] = flag;
      // After the field: a comma, or the record's end (LF, CRLF, the end of the input).
      if (p >= end) return i === last ? end : -1;
      const c = src[p];
      if (c === COMMA) {
        if (i === last) return -1;
        p++;
        continue;
      }
      if (c === CR) {
        if (p + 1 === end) return i === last ? end : -1;
        if (src[p + 1] !== LF) return -1; // text after a closing quote
        p++;
      } else if (c !== LF) {
        return -1; // text after a closing quote
      }
      return i === last ? p + 1 : -1;
    }
  }

  /** Writes the redacted record whose fields {@link #parse} found; room was reserved. */
  #write(src: Buffer, ascii: boolean): void {
    const plan = this.#plan;
    const { kinds, lastKept } = plan;
    const out = this.#out;
    const starts = this.#starts;
    const ends = this.#ends;
    const flags = this.#flags;
    for (let i = 0; i <= lastKept; i++) {
      const kind = kinds[i];
      if (kind === DROP) continue;
      const s = starts[i]!;
      const e = ends[i]!;
      const flag = flags[i]!;
      if (kind === KEEP) {
        this.#copy(src, s, e, flag);
      } else if (kind === HASH) {
        if (e > s) {
          // A value with doubled quotes is hashed at once, from the scratch buffer the next one reuses.
          if ((flag & ESCAPED) !== 0) plan.hashes[i]!.write(this.#undouble(src, s, e), 0, this.#undoubled, out.buf, out.at, true);
          else plan.hashes[i]!.write(src, s, e, out.buf, out.at, false);
          out.at += 32;
        }
      } else if (!plan.maskers[i]!.mayChange(src, s, e)) {
        this.#copy(src, s, e, flag);
      } else {
        // Decoded field by field: short strings that die young. Slices of the chunk decoded once cost less CPU but
        // keep the chunk's text alive across young-generation GCs, and V8 then grows the young generation
        // (+30 MiB peak RSS at 2 GiB of CSV, measured).
        let value = src.toString(ascii ? 'latin1' : 'utf8', s, e);
        if ((flag & ESCAPED) !== 0) value = value.replaceAll('""', '"');
        const masked = plan.maskers[i]!.apply(value);
        if (masked === value) {
          this.#copy(src, s, e, flag);
        } else {
          plan.masked++;
          plan.flushHashes(); // the text may take a new buffer
          out.writeText(quoteField(masked));
          out.reserve(this.#room); // the text may have taken a new buffer
        }
      }
      out.buf[out.at++] = i === lastKept ? LF : COMMA;
    }
  }

  /** Copies a field as it was read: quoted when it must be, unquoted when it need not be. */
  #copy(src: Buffer, s: number, e: number, flag: number): void {
    const out = this.#out;
    if ((flag & SPECIAL) !== 0) {
      // A quoted field keeps its quotes (and its doubled quotes); an unquoted one with a CR in it gets them.
      if ((flag & QUOTED) !== 0) {
        s--;
        e++;
      } else {
        out.buf[out.at++] = QUOTE;
      }
    }
    const buf = out.buf;
    let at = out.at;
    if (e - s <= COPY_BY_LOOP) {
      for (let j = s; j < e; j++) buf[at++] = src[j]!;
    } else {
      at += src.copy(buf, at, s, e);
    }
    if ((flag & (SPECIAL | QUOTED)) === SPECIAL) buf[at++] = QUOTE;
    out.at = at;
  }

  /** `src[s, e)` with each `""` made one `"`, in the scratch buffer (length in {@link #undoubled}). */
  #undouble(src: Buffer, s: number, e: number): Buffer {
    if (this.#scratch.length < e - s) this.#scratch = Buffer.allocUnsafeSlow(Math.max(e - s, this.#scratch.length * 2));
    const scratch = this.#scratch;
    let n = 0;
    for (let j = s; j < e; j++) {
      const c = src[j]!;
      scratch[n++] = c;
      if (c === QUOTE) j++;
    }
    this.#undoubled = n;
    return scratch;
  }
}

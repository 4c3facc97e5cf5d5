/**
 * Reading CSV for redaction: {@link RecordEnds} finds where complete records end in a byte stream (an LF outside
 * double quotes), so a chunk can be cut into whole records before it is decoded; {@link RecordReader} splits the
 * decoded text of whole records into fields, by RFC 4180: a field is quoted or not; in a quoted field `""` is a
 * quote and commas, CR and LF are text; a record ends with LF or CRLF. What RFC 4180 forbids (a quote inside an
 * unquoted field, text after a closing quote, a quote never closed) is an error: data that cannot be read for
 * sure cannot be redacted for sure.
 */
const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;
const COMMA = 0x2c;

/** Record ends in CSV bytes across chunks. Quotes toggle the state; `""` inside quotes toggles twice. */
export class RecordEnds {
  inQuotes = false;

  /** Index just past the last LF outside quotes in `buf`, or -1; the state moves to the end of `buf`. */
  last(buf: Buffer): number {
    const n = buf.length;
    let inQuotes = this.inQuotes;
    const quote = buf.indexOf(QUOTE);
    if (quote === -1) {
      if (inQuotes) return -1;
      const lf = buf.lastIndexOf(LF);
      return lf === -1 ? -1 : lf + 1;
    }
    let last = -1;
    if (!inQuotes && quote > 0) {
      const lf = buf.lastIndexOf(LF, quote - 1);
      if (lf !== -1) last = lf + 1;
    }
    for (let i = quote; i < n; i++) {
      const byte = buf[i];
      if (byte === QUOTE) inQuotes = !inQuotes;
      else if (byte === LF && !inQuotes) last = i + 1;
    }
    this.inQuotes = inQuotes;
    return last;
  }
}

/** A record that breaks RFC 4180; `offset` is the character offset in the text given to the reader. */
export class CsvSyntaxError extends Error {
  override name = 'CsvSyntaxError';
}

/**
 * Splits the text of whole records into fields. `fields` is reused for each record; `plain` says the record held
 * no quote and no CR, so none of its fields needs quoting when written again.
 */
export class RecordReader {
  readonly fields: string[] = [];
  plain = false;
  #text = '';
  #pos = 0;
  #nextQuote = -1;
  #nextCr = -1;
  #nextComma = -1;

  /** Starts on new text made of whole records (the last one may lack its line end at the end of the input). */
  reset(text: string): void {
    this.#text = text;
    this.#pos = 0;
    this.#nextQuote = -1;
    this.#nextCr = -1;
    this.#nextComma = -1;
  }

  get done(): boolean {
    return this.#pos >= this.#text.length;
  }

  /** Reads the next record into `fields`. */
  next(): void {
    const text = this.#text;
    const start = this.#pos;
    let lf = text.indexOf('\n', start);
    if (lf === -1) lf = text.length;
    if (this.#nextQuote < start && this.#nextQuote !== Infinity) this.#nextQuote = indexOr(text, '"', start);
    if (this.#nextCr < start && this.#nextCr !== Infinity) this.#nextCr = indexOr(text, '\r', start);
    if (this.#nextQuote > lf) {
      this.#plainRecord(text, start, lf);
      return;
    }
    this.plain = false;
    this.#quotedRecord(text, start);
  }

  /** A record without quotes: fields between commas, up to the LF (and a CR just before it). */
  #plainRecord(text: string, start: number, lf: number): void {
    const fields = this.fields;
    fields.length = 0;
    // A CR just before the LF (or at the very end) is part of the line end; any other CR is text.
    const end = lf > start && text.charCodeAt(lf - 1) === CR ? lf - 1 : lf;
    this.plain = this.#nextCr >= end;
    let s = start;
    let comma = this.#nextComma;
    if (comma < s) comma = indexOr(text, ',', s);
    while (comma < end) {
      fields.push(text.slice(s, comma));
      s = comma + 1;
      comma = indexOr(text, ',', s);
    }
    fields.push(text.slice(s, end));
    this.#nextComma = comma;
    this.#pos = lf + 1;
  }

  /** A record with quotes: field by field. */
  #quotedRecord(text: string, start: number): void {
    const fields = this.fields;
    fields.length = 0;
    const n = text.length;
    let i = start;
    for (;;) {
      let value: string;
      if (text.charCodeAt(i) === QUOTE) {
        value = '';
        let j = i + 1;
        for (;;) {
          const q = text.indexOf('"', j);
          if (q === -1) throw new CsvSyntaxError('a quoted field is not closed before the end of the file');
          if (text.charCodeAt(q + 1) === QUOTE) {
            value += text.slice(j, q + 1);
            j = q + 2;
            continue;
          }
          value += text.slice(j, q);
          i = q + 1;
          break;
        }
        const after = i < n ? text.charCodeAt(i) : LF;
        if (after !== COMMA && after !== LF && !(after === CR && (i + 1 === n || text.charCodeAt(i + 1) === LF))) {
          throw new CsvSyntaxError('text follows the closing quote of a quoted field');
        }
      } else {
        let j = i;
        for (; j < n; j++) {
          const c = text.charCodeAt(j);
          if (c === COMMA || c === LF) break;
          if (c === QUOTE) throw new CsvSyntaxError('a double quote inside an unquoted field (quote the field and double the quote)');
        }
        value = text.slice(i, j > i && text.charCodeAt(j - 1) === CR && (j === n || text.charCodeAt(j) === LF) ? j - 1 : j);
        i = j;
      }
      fields.push(value);
      const c = i < n ? text.charCodeAt(i) : LF;
      if (c === COMMA) {
        i++;
        continue;
      }
      if (c === CR) i++; // CRLF after a quoted field
      this.#pos = i + 1;
      return;
    }
  }
}

function indexOr(text: string, search: string, from: number): number {
  const at = text.indexOf(search, from);
  return at === -1 ? Infinity : at;
}

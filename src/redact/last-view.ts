/**
 * A `DataView` of the buffer asked about last, made again only when another buffer is asked about: the
 * redaction's hot loops read and write four bytes at a time through one, per value, over the same few buffers.
 */
export class LastView {
  #bytes: Uint8Array | undefined;
  #view: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));

  of(bytes: Uint8Array): DataView<ArrayBufferLike> {
    if (bytes !== this.#bytes) {
      this.#bytes = bytes;
      this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    }
    return this.#view;
  }
}

/**
 * Bytes received but not yet consumed, kept as the chunks they arrived in so that a split or
 * coalesced read costs no copy until a frame is taken out.
 */
export class ByteQueue {
  readonly #chunks: Uint8Array[] = [];
  /** Offset into the first chunk. */
  #head = 0;
  #length = 0;

  get length(): number {
    return this.#length;
  }

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#length += chunk.length;
  }

  /** The byte at `index` from the front; the caller keeps index < length. */
  byteAt(index: number): number {
    let i = index + this.#head;
    for (const chunk of this.#chunks) {
      if (i < chunk.length) return chunk[i] as number;
      i -= chunk.length;
    }
    throw new RangeError(`byte ${index} of a queue of ${this.#length}`);
  }

  /** Index of the first `byte` at or after `from`, or -1. */
  indexOf(byte: number, from = 0): number {
    let base = 0;
    let skip = this.#head;
    for (const chunk of this.#chunks) {
      const start = Math.max(from - base + skip, skip);
      if (start < chunk.length) {
        const at = chunk.indexOf(byte, start);
        if (at >= 0) return base + at - skip;
      }
      base += chunk.length - skip;
      skip = 0;
    }
    return -1;
  }

  /** Removes and returns the first `n` bytes (n <= length). */
  take(n: number): Uint8Array {
    if (n > this.#length) throw new RangeError(`take(${n}) from a queue of ${this.#length}`);
    const first = this.#chunks[0];
    if (first && first.length - this.#head >= n) {
      const out = first.subarray(this.#head, this.#head + n);
      this.#consume(n);
      return out;
    }
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.#chunks[0] as Uint8Array;
      const part = chunk.subarray(this.#head, this.#head + Math.min(n - filled, chunk.length - this.#head));
      out.set(part, filled);
      filled += part.length;
      this.#consume(part.length);
    }
    return out;
  }

  #consume(n: number): void {
    this.#length -= n;
    this.#head += n;
    while (this.#chunks.length > 0 && this.#head >= (this.#chunks[0] as Uint8Array).length) {
      this.#head -= (this.#chunks.shift() as Uint8Array).length;
    }
  }
}

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0] as Uint8Array;
  let size = 0;
  for (const p of parts) size += p.length;
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

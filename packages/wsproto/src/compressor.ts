/**
 * The raw-DEFLATE engine behind permessage-deflate, behind an interface small
 * enough to swap.
 *
 * Why node:zlib, used through its synchronous one-shot calls: the core is
 * synchronous, and measurement ruled out the alternatives. fflate's streaming
 * `Deflate#flush(true)` emits corrupt DEFLATE data for common sizes (a single
 * 70,000-byte message at levels 1–9 fails to inflate in zlib; fflate 0.8.2),
 * and zlib's streaming objects are asynchronous. The one-shot calls keep no
 * window between messages, so context takeover is carried explicitly: the
 * last ≤ 2^windowBits bytes of plaintext are handed to zlib as a preset
 * dictionary, which is exactly the window the peer's inflater holds. The
 * result is byte-identical to a streaming zlib (RFC 7692 7.2.3.2's second
 * "Hello" comes out as `f2 00 11 00 00`) and uses zlib's own output bound for
 * the inflated-size limit. This is the one module of the core that needs
 * Node; a browser build would swap in another engine behind this interface.
 *
 * @module
 */
import { constants, deflateRawSync, inflateRawSync } from 'node:zlib';

/** The sync-flush marker RFC 7692 7.2.1 strips from each message's end. */
export const SYNC_TAIL = new Uint8Array([0x00, 0x00, 0xff, 0xff]);

/** The sliding window of plaintext a context-takeover peer remembers. */
class History {
  private window = new Uint8Array(0);
  constructor(private readonly size: number) {}

  get bytes(): Uint8Array {
    return this.window;
  }

  push(data: Uint8Array): void {
    if (data.length >= this.size) {
      this.window = data.slice(data.length - this.size);
    } else if (data.length > 0) {
      const keep = Math.min(this.window.length, this.size - data.length);
      const next = new Uint8Array(keep + data.length);
      next.set(this.window.subarray(this.window.length - keep));
      next.set(data, keep);
      this.window = next;
    }
  }

  clear(): void {
    this.window = new Uint8Array(0);
  }
}

/** Compresses each piece of a message, sync-flushed, carrying the window between pieces. */
export class Compressor {
  private readonly history: History;

  /**
   * @param windowBits - the largest window the peer allows us (9–15)
   * @param level - DEFLATE level 0–9
   */
  constructor(
    private readonly windowBits: number,
    private readonly level: number,
  ) {
    this.history = new History(1 << windowBits);
  }

  /** Compresses `data`; the output ends with {@link SYNC_TAIL}. */
  compressFlush(data: Uint8Array): Uint8Array {
    const dictionary = this.history.bytes;
    const out = deflateRawSync(data, {
      level: this.level,
      windowBits: this.windowBits,
      finishFlush: constants.Z_SYNC_FLUSH,
      ...(dictionary.length > 0 ? { dictionary } : {}),
    });
    this.history.push(data);
    return out;
  }

  /**
   * Takes `data` into the window as if this compressor had sent it: for a
   * message compressed elsewhere (once, for many connections) that the peer
   * inflated into its own window.
   */
  remember(data: Uint8Array): void {
    this.history.push(data);
  }

  /** Forgets the window (no context takeover). */
  reset(): void {
    this.history.clear();
  }
}

/**
 * Compresses one whole message with an empty window, sync tail stripped
 * (RFC 7692 7.2.1): valid for every peer whose window is at least
 * `windowBits`, whatever it remembers of earlier messages, since nothing in
 * it refers back to them.
 */
export function compressAlone(data: Uint8Array, windowBits: number, level: number): Uint8Array {
  // RFC 7692 7.2.3.6: an empty message is a single 0x00 byte.
  if (data.length === 0) return new Uint8Array(1);
  const out = deflateRawSync(data, { level, windowBits, finishFlush: constants.Z_SYNC_FLUSH });
  return out.subarray(0, out.length - SYNC_TAIL.length);
}

/** Thrown by {@link Decompressor.decompress} when the output would pass its limit. */
export class InflateLimitExceeded extends Error {
  override readonly name = 'InflateLimitExceeded';
}

/** Inflates whole messages, carrying the peer's window between them. */
export class Decompressor {
  private readonly history = new History(1 << 15);

  /**
   * Inflates one message's compressed bytes (the sync tail already appended).
   * zlib stops at `limit + 1` bytes of output, so a bomb never expands past it.
   *
   * @throws InflateLimitExceeded past `limit`; zlib's error on corrupt data
   */
  decompress(data: Uint8Array, limit: number): Uint8Array {
    const dictionary = this.history.bytes;
    let out: Uint8Array;
    try {
      out = inflateRawSync(data, {
        finishFlush: constants.Z_SYNC_FLUSH,
        maxOutputLength: Math.max(1, Math.min(limit + 1, 0x7fffffff)),
        ...(dictionary.length > 0 ? { dictionary } : {}),
      });
    } catch (err) {
      if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
        throw new InflateLimitExceeded(`inflated message exceeds ${limit} bytes`);
      }
      throw err;
    }
    if (out.length > limit) throw new InflateLimitExceeded(`inflated message exceeds ${limit} bytes`);
    this.history.push(out);
    return out;
  }

  /** Forgets the window (the peer does not take over context). */
  reset(): void {
    this.history.clear();
  }
}

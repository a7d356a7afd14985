/**
 * A message framed once for many connections (publish/subscribe fan-out):
 * the server's unmasked frame is the same bytes for every peer that
 * negotiated the same encoding, so it is built once per encoding, not once
 * per peer.
 *
 * @module
 */
import { compressAlone } from './compressor';
import { frameEncoder } from './frame-encoder';
import { Opcode, RSV1 } from './opcode';
import type { PerMessageDeflate } from './permessage-deflate';

const textEncoder = new TextEncoder();
/** Server frames: unmasked, so the same bytes suit every connection. */
const encoder = frameEncoder(false);

/**
 * One whole message, framed on demand for server connections: one plain
 * frame, and one compressed frame per (window bits, level) among the
 * connections that negotiated permessage-deflate. Compressed frames are made
 * with an empty window, so they inflate right for a peer whatever it
 * remembers; a connection that keeps context takes the plaintext into its
 * window instead ({@link PerMessageDeflate.notePrecompressed}).
 *
 * Frames are shared: treat them as read-only. Server side only (a client
 * masks each frame with its own key).
 */
export class PreparedMessage {
  /** TEXT for a string, BINARY for bytes. */
  readonly opcode: Opcode.TEXT | Opcode.BINARY;
  /** The message's bytes (UTF-8 for text). */
  readonly payload: Uint8Array;
  private plainFrame: Uint8Array | null = null;
  /** Compressed frames by `windowBits * 16 + level`. */
  private deflated: Map<number, Uint8Array> | null = null;

  constructor(data: string | Uint8Array) {
    if (typeof data === 'string') {
      this.opcode = Opcode.TEXT;
      this.payload = textEncoder.encode(data);
    } else {
      this.opcode = Opcode.BINARY;
      this.payload = data;
    }
  }

  /** The uncompressed frame, made at the first call. */
  plain(): Uint8Array {
    return (this.plainFrame ??= encoder.frame(this.opcode, 0, true, this.payload));
  }

  /**
   * The frame to send on a connection whose permessage-deflate extension is
   * `deflate` (null, or not negotiated: the plain frame). A message under
   * the extension's threshold goes plain, as the connection's own sends do.
   * Call it only when the frame is sent: a compressed frame updates the
   * connection's window.
   *
   * @throws LocalProtocolError WS_BAD_STATE while the connection is in the middle of its own message
   */
  frameFor(deflate: PerMessageDeflate | null): Uint8Array {
    const encoding = deflate === null ? null : deflate.outboundEncoding();
    if (encoding === null || this.payload.length < encoding.threshold) return this.plain();
    const key = encoding.windowBits * 16 + encoding.level;
    const frames = (this.deflated ??= new Map<number, Uint8Array>());
    let frame = frames.get(key);
    if (frame === undefined) {
      const compressed = compressAlone(this.payload, encoding.windowBits, encoding.level);
      frame = encoder.frame(this.opcode, RSV1, true, compressed);
      frames.set(key, frame);
    }
    deflate!.notePrecompressed(this.payload);
    return frame;
  }

  /** How many distinct frames were built so far (plain and compressed). */
  get encodings(): number {
    return (this.plainFrame === null ? 0 : 1) + (this.deflated?.size ?? 0);
  }
}

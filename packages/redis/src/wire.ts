/**
 * The bytes a publish travels as between processes: binary-safe, text kept
 * apart from bytes, and tagged with the publishing process so it can leave
 * out its own echo.
 *
 * ```
 * byte 0      format version (1)
 * byte 1      0 = text (UTF-8), 1 = binary
 * bytes 2-17  the publishing instance's id (16 random bytes)
 * bytes 18-   the message
 * ```
 *
 * @module
 */
import { Buffer } from 'node:buffer';

const VERSION = 1;
const TEXT = 0;
const BINARY = 1;
/** Bytes of an instance id. */
export const ID_BYTES = 16;
const HEADER = 2 + ID_BYTES;

/** One publish as carried by the backplane. */
export interface WireMessage {
  /** The instance that published it. */
  readonly origin: Buffer;
  readonly data: string | Uint8Array;
}

/** Encodes a publish of `data` by `origin`. */
export function encodeMessage(origin: Buffer, data: string | Uint8Array): Buffer {
  const text = typeof data === 'string';
  const size = text ? Buffer.byteLength(data, 'utf8') : data.length;
  const out = Buffer.allocUnsafe(HEADER + size);
  out[0] = VERSION;
  out[1] = text ? TEXT : BINARY;
  origin.copy(out, 2, 0, ID_BYTES);
  if (text) out.write(data, HEADER, 'utf8');
  else out.set(data, HEADER);
  return out;
}

/** Decodes what {@link encodeMessage} made; null for bytes it did not make (another version, another writer). */
export function decodeMessage(bytes: Buffer): WireMessage | null {
  if (bytes.length < HEADER || bytes[0] !== VERSION || (bytes[1] !== TEXT && bytes[1] !== BINARY)) return null;
  const origin = bytes.subarray(2, HEADER);
  const payload = bytes.subarray(HEADER);
  return { origin, data: bytes[1] === TEXT ? payload.toString('utf8') : new Uint8Array(payload.buffer, payload.byteOffset, payload.length) };
}

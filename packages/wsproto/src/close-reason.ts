/**
 * Close codes and close payloads (RFC 6455 5.5.1, 7.4): which codes exist,
 * which may go on the wire, how long a reason may be, and the payload's bytes
 * both ways. Every layer asks this module; none keeps its own list.
 *
 * @module
 */
import { Buffer } from 'node:buffer';
import { ParseFailed } from './errors';
import { decodeUtf8, utf8ByteLength } from './utf8';

/** Close status codes (RFC 6455 7.4.1, IANA registry). */
export enum CloseReason {
  NORMAL_CLOSURE = 1000,
  GOING_AWAY = 1001,
  PROTOCOL_ERROR = 1002,
  UNSUPPORTED_DATA = 1003,
  /** Local only: a close frame arrived without a code. Never sent. */
  NO_STATUS_RCVD = 1005,
  /** Local only: the transport ended without a close frame. Never sent. */
  ABNORMAL_CLOSURE = 1006,
  INVALID_FRAME_PAYLOAD_DATA = 1007,
  POLICY_VIOLATION = 1008,
  MESSAGE_TOO_BIG = 1009,
  MANDATORY_EXT = 1010,
  INTERNAL_ERROR = 1011,
  SERVICE_RESTART = 1012,
  TRY_AGAIN_LATER = 1013,
  BAD_GATEWAY = 1014,
  /** Local only: the TLS handshake failed. Never sent. */
  TLS_HANDSHAKE_FAILED = 1015,
}

/** Largest close reason in bytes: the control payload minus the 2-byte code (RFC 6455 5.5.1). */
export const MAX_CLOSE_REASON = 123;

/**
 * True for a close code an endpoint may put on the wire (RFC 6455 7.4.1 and
 * 7.4.2): 1000–1003, 1007–1014 and 3000–4999. 1004 is reserved; 1005, 1006
 * and 1015 are local-only; the rest of 0–2999 is unassigned or reserved for
 * the RFC. Anything that is not an integer is not a code.
 */
export function isValidCloseCode(code: number): boolean {
  return (
    Number.isInteger(code) &&
    ((code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999))
  );
}

/**
 * Decodes and validates a received close frame's payload. An empty payload
 * means "no status" (1005).
 *
 * @throws ParseFailed with 1002 (bad length or code) or 1007 (reason not UTF-8)
 */
export function decodeClosePayload(payload: Uint8Array): { code: number; reason: string } {
  if (payload.length === 0) return { code: CloseReason.NO_STATUS_RCVD, reason: '' };
  // RFC 6455 5.5.1: a body, if any, starts with a 2-byte code.
  if (payload.length === 1) throw new ParseFailed('close frame with a 1-byte payload', 1002);
  const code = (payload[0] << 8) | payload[1];
  // RFC 6455 7.4.1: codes a peer may not send.
  if (!isValidCloseCode(code)) throw new ParseFailed(`invalid close code ${code}`, 1002);
  let reason: string;
  try {
    // RFC 6455 5.5.1: the reason is UTF-8.
    reason = decodeUtf8(payload.subarray(2));
  } catch {
    throw new ParseFailed('close reason is not valid UTF-8', 1007);
  }
  return { code, reason };
}

/**
 * Why a close code and reason cannot be sent, or null when they can: the one
 * check behind the core's `CloseConnection` and the socket layer's `close()`.
 * No code (or 1005, which means none) allows no reason.
 */
export function closeProblem(code: number | undefined, reason: string): string | null {
  if (typeof reason !== 'string') return `a close reason must be a string, not ${typeof reason}`;
  if (code === undefined || code === 1005) {
    // 1005 (NO_STATUS_RCVD) on the way out means: no code on the wire.
    return reason === '' ? null : 'a close reason needs a close code';
  }
  if (typeof code !== 'number' || !isValidCloseCode(code)) return `close code ${String(code)} may not be sent`;
  // RFC 6455 5.5: the whole control payload is at most 125 bytes.
  if (reason.length * 3 > MAX_CLOSE_REASON && utf8ByteLength(reason) > MAX_CLOSE_REASON) {
    return `close reason is ${utf8ByteLength(reason)} bytes of UTF-8; at most ${MAX_CLOSE_REASON} fit in a close frame`;
  }
  return null;
}

/** The payload of a close frame with `code` and `reason`, both already checked by {@link closeProblem}. */
export function encodeClosePayload(code: number, reason: string): Uint8Array {
  const payload = Buffer.allocUnsafe(2 + utf8ByteLength(reason));
  payload[0] = code >> 8;
  payload[1] = code & 0xff;
  payload.write(reason, 2, 'utf8');
  return payload;
}

/** Cuts a reason to the 123 bytes a close frame can carry, at a code point boundary. */
export function truncateReason(reason: string): string {
  if (reason.length * 3 <= MAX_CLOSE_REASON) return reason;
  const bytes = Buffer.from(reason, 'utf8');
  if (bytes.length <= MAX_CLOSE_REASON) return reason;
  let end = MAX_CLOSE_REASON;
  while (end > 0 && (bytes[end] & 0xc0) === 0x80) end--; // back off continuation bytes
  return bytes.toString('utf8', 0, end);
}

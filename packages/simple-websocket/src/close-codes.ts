/**
 * Which close codes and reasons an application may send.
 *
 * @module
 */
import { InvalidCloseError } from './errors';

/** Longest close reason: a control frame payload is 125 bytes, 2 of them the code. */
export const MAX_CLOSE_REASON_BYTES = 123;

/** Close codes that end a connection normally: `for await` ends quietly on these. */
export function isNormalClosure(code: number): boolean {
  return code === 1000 || code === 1001 || code === 1005;
}

/**
 * The check of the WHATWG WebSocket API's `close(code, reason)`: 1000 or
 * 3000–4999, and a reason of at most 123 bytes.
 */
export function validateApplicationClose(code: number, reason: string): void {
  if (!Number.isInteger(code) || (code !== 1000 && (code < 3000 || code > 4999))) {
    throw new InvalidCloseError(
      `close code ${code} is not allowed: use 1000 or 3000-4999 (closeWithStatus() takes the RFC 6455 codes)`,
      'WS_INVALID_CLOSE_CODE',
    );
  }
  validateReason(reason);
}

/**
 * Any code RFC 6455 (7.4) lets an endpoint put on the wire: 1000–1003,
 * 1007–1014 and 3000–4999. 1004, 1005, 1006 and 1015 are reserved or local only.
 */
export function validateProtocolClose(code: number, reason: string): void {
  const sendable =
    Number.isInteger(code) &&
    ((code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999));
  if (!sendable) {
    throw new InvalidCloseError(
      `close code ${code} may not be sent: use 1000-1003, 1007-1014 or 3000-4999`,
      'WS_INVALID_CLOSE_CODE',
    );
  }
  validateReason(reason);
}

function validateReason(reason: string): void {
  // Most reasons are short ASCII: skip the byte count unless the UTF-16 length could exceed it.
  if (reason.length * 3 > MAX_CLOSE_REASON_BYTES && Buffer.byteLength(reason) > MAX_CLOSE_REASON_BYTES) {
    throw new InvalidCloseError(
      `close reason is ${Buffer.byteLength(reason)} bytes of UTF-8; at most ${MAX_CLOSE_REASON_BYTES} fit in a close frame`,
      'WS_CLOSE_REASON_TOO_LONG',
    );
  }
}

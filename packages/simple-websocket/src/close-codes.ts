/**
 * Which close codes and reasons an application may send. The rules of the
 * wire (which codes exist, how long a reason may be) are the core's; this
 * module adds the WHATWG API's narrower choice for `close()`.
 *
 * @module
 */
import { isValidCloseCode, MAX_CLOSE_REASON } from '@wsstack/wsproto';
import { closeProblem, utf8ByteLength } from '@wsstack/wsproto/internal';
import { describeValue, InvalidCloseError } from './errors';

/** Longest close reason in bytes of UTF-8 (the core's `MAX_CLOSE_REASON`). */
export const MAX_CLOSE_REASON_BYTES = MAX_CLOSE_REASON;

/** Close codes that end a connection normally: `for await` ends quietly on these. */
export function isNormalClosure(code: number): boolean {
  return code === 1000 || code === 1001 || code === 1005;
}

/**
 * The check of the WHATWG WebSocket API's `close(code, reason)`: 1000 or
 * 3000–4999, and a reason of at most 123 bytes.
 */
export function validateApplicationClose(code: number, reason: string): void {
  checkTypes(code, reason);
  if (!Number.isInteger(code) || (code !== 1000 && (code < 3000 || code > 4999))) {
    throw new InvalidCloseError(
      `close code ${code} is not allowed: use 1000 or 3000-4999 (closeWithStatus() takes the RFC 6455 codes)`,
      'WS_INVALID_CLOSE_CODE',
    );
  }
  validateReason(code, reason);
}

/**
 * Any code RFC 6455 (7.4) lets an endpoint put on the wire: 1000–1003,
 * 1007–1014 and 3000–4999. 1004, 1005, 1006 and 1015 are reserved or local only.
 */
export function validateProtocolClose(code: number, reason: string): void {
  checkTypes(code, reason);
  if (!isValidCloseCode(code)) {
    throw new InvalidCloseError(
      `close code ${code} may not be sent: use 1000-1003, 1007-1014 or 3000-4999`,
      'WS_INVALID_CLOSE_CODE',
    );
  }
  validateReason(code, reason);
}

/** From plain JavaScript anything can come: a code that is not a number, or a reason that is not a string, is a TypeError. */
function checkTypes(code: unknown, reason: unknown): void {
  if (typeof code !== 'number') throw new TypeError(`a close code is a number, not ${describeValue(code)}`);
  if (typeof reason !== 'string') throw new TypeError(`a close reason is a string, not ${describeValue(reason)}`);
}

function validateReason(code: number, reason: string): void {
  const problem = closeProblem(code, reason);
  if (problem === null) return;
  throw new InvalidCloseError(
    `close reason is ${utf8ByteLength(reason)} bytes of UTF-8; at most ${MAX_CLOSE_REASON_BYTES} fit in a close frame`,
    'WS_CLOSE_REASON_TOO_LONG',
  );
}

/**
 * Errors of the socket layer. Each says what went wrong and what the caller
 * can do about it.
 *
 * @module
 */
import type { Headers } from '@wsstack/wsproto';

/**
 * The connection is closed: thrown by `receive()` once every message that
 * arrived before the close has been handed out, and by `send()`/`ping()`
 * after the close. `code` is the close code the peer sent (RFC 6455 7.1.5),
 * or the one we sent when the peer broke the protocol (1002, 1007, 1009),
 * or 1006 when the transport ended without a closing handshake.
 */
export class ConnectionClosed extends Error {
  override readonly name = 'ConnectionClosed';
  /** The WebSocket close code (1000 normal, 1006 connection lost, ...). */
  readonly code: number;
  /** The close reason, possibly empty. */
  readonly reason: string;
  constructor(code: number, reason = '') {
    super(reason === '' ? `WebSocket closed with code ${code}` : `WebSocket closed with code ${code}: ${reason}`);
    this.code = code;
    this.reason = reason;
  }
}

/** String codes of {@link ConnectionError}. */
export type ConnectionErrorCode =
  | 'WS_HANDSHAKE_REJECTED' // the server answered with an HTTP status other than 101 (see statusCode)
  | 'WS_HANDSHAKE_INVALID' // the peer's handshake broke RFC 6455 (server: we answered with statusCode)
  | 'WS_HANDSHAKE_TIMEOUT' // the handshake did not finish within handshakeTimeout
  | 'WS_CONNECT_FAILED' // the TCP/TLS connection could not be made or was lost during the handshake
  | 'WS_HTTP2_UNSUPPORTED' // http2: the server does not speak HTTP/2 or does not enable extended CONNECT (RFC 8441): connect without http2
  | 'WS_INVALID_URL' // the URL is not ws://, wss://, http:// or https://, or has no host or a fragment
  | 'WS_INVALID_OPTIONS'; // an option is not valid (the cause says which); nothing was opened

/**
 * The opening handshake failed or was refused, or could not start; the
 * socket is already closed (or was never opened). `statusCode` is the HTTP
 * status involved: on a client, the status the server refused with; on a
 * server, the status we answered a bad request with.
 */
export class ConnectionError extends Error {
  override readonly name = 'ConnectionError';
  /** What went wrong; branch on this rather than on the message. */
  readonly code: ConnectionErrorCode;
  /** The HTTP status of the refusal, when there was one. */
  readonly statusCode?: number;
  /** Client: the refusal's response headers (names lower-case), e.g. `retry-after`, `www-authenticate`, `location`. */
  readonly headers?: Headers;
  constructor(message: string, code: ConnectionErrorCode, options: { statusCode?: number; headers?: Headers; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    if (options.statusCode !== undefined) this.statusCode = options.statusCode;
    if (options.headers !== undefined) this.headers = options.headers;
  }
}

/** String codes of {@link InvalidCloseError}. */
export type InvalidCloseErrorCode =
  | 'WS_INVALID_CLOSE_CODE' // the code may not be sent: use 1000 or 3000-4999 (close()) or an RFC 6455 code (closeWithStatus())
  | 'WS_CLOSE_REASON_TOO_LONG'; // the reason is over 123 bytes of UTF-8

/**
 * `close()` was called with a code or reason the WebSocket API forbids.
 * Thrown synchronously; the connection is unchanged. Like the WHATWG API's
 * InvalidAccessError/SyntaxError, it is a programming error: fix the call.
 */
export class InvalidCloseError extends RangeError {
  override readonly name = 'InvalidCloseError';
  readonly code: InvalidCloseErrorCode;
  constructor(message: string, code: InvalidCloseErrorCode) {
    super(message);
    this.code = code;
  }
}

/** A bad argument named for an error message, without dumping it. */
export function describeValue(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
    case 'number':
    case 'boolean':
    case 'bigint':
      return `${typeof value} ${String(value)}`;
    case 'symbol':
      return value.toString();
    case 'function':
      return 'a function';
    case 'undefined':
      return 'undefined';
    default:
      if (value === null) return 'null';
      return Array.isArray(value) ? 'an array' : `an object (${(value as object).constructor?.name ?? 'no prototype'})`;
  }
}

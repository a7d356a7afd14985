/**
 * Errors of the protocol core. Each carries a string `code` so callers can
 * branch on it without parsing messages.
 *
 * @module
 */
import type { RejectConnection } from './events';

/** String codes of {@link LocalProtocolError}. */
export type LocalProtocolErrorCode =
  | 'WS_BAD_STATE' // the event is not allowed in the connection's current state
  | 'WS_BAD_EVENT' // the event's fields are invalid (e.g. a close code that may not be sent)
  | 'WS_BAD_OPTION'; // an option or extension parameter is out of range

/**
 * The caller tried to do something the protocol forbids: send an event the
 * state does not allow, or an event with invalid fields. Fix the call; the
 * connection itself is unchanged.
 */
export class LocalProtocolError extends Error {
  override readonly name = 'LocalProtocolError';
  readonly code: LocalProtocolErrorCode;
  constructor(message: string, code: LocalProtocolErrorCode = 'WS_BAD_STATE') {
    super(message);
    this.code = code;
  }
}

/** String codes of {@link RemoteProtocolError}. */
export type RemoteProtocolErrorCode =
  | 'WS_BAD_HANDSHAKE' // the peer's handshake broke RFC 6455 section 4
  | 'WS_BAD_HTTP' // the bytes were not valid HTTP/1.1
  | 'WS_HEADERS_TOO_LARGE'; // handshake header bytes or count over the limit

/**
 * The peer broke the protocol during the handshake. When `eventHint` is set
 * it is the reply to send back (e.g. a 400 or 426 `RejectConnection`), after
 * which the caller should close the transport.
 */
export class RemoteProtocolError extends Error {
  override readonly name = 'RemoteProtocolError';
  readonly code: RemoteProtocolErrorCode;
  readonly eventHint?: RejectConnection;
  constructor(message: string, options: { code?: RemoteProtocolErrorCode; eventHint?: RejectConnection } = {}) {
    super(message);
    this.code = options.code ?? 'WS_BAD_HANDSHAKE';
    if (options.eventHint) this.eventHint = options.eventHint;
  }
}

/**
 * Thrown inside the frame layer (and by extensions' inbound hooks) when the
 * peer's frames break the protocol. The connection turns it into a
 * `CloseConnection` event with `code`; it never escapes `events()`.
 */
export class ParseFailed extends Error {
  override readonly name = 'ParseFailed';
  /** The close code the violation calls for (1002, 1007, 1009, ...). */
  readonly code: number;
  constructor(message: string, code = 1002) {
    super(message);
    this.code = code;
  }
}

/**
 * Where a socket-layer connection is in its life, and the moves it may make.
 *
 * @module
 */

/**
 * The states of a {@link Base} connection. Transitions happen in
 * `SocketConnection.setState` only, checked against {@link ALLOWED}:
 *
 * HANDSHAKE → OPEN (handshake done) | CLOSED (handshake failed);
 * OPEN → CLOSING (a close frame was sent or received, or the socket is being
 * dropped) | CLOSED (the transport went away);
 * CLOSING → CLOSED (the transport closed).
 */
export enum SocketState {
  HANDSHAKE = 'HANDSHAKE',
  OPEN = 'OPEN',
  CLOSING = 'CLOSING',
  CLOSED = 'CLOSED',
}

/** The transitions each state allows. */
export const ALLOWED: Record<SocketState, readonly SocketState[]> = {
  [SocketState.HANDSHAKE]: [SocketState.OPEN, SocketState.CLOSED],
  [SocketState.OPEN]: [SocketState.CLOSING, SocketState.CLOSED],
  [SocketState.CLOSING]: [SocketState.CLOSED],
  [SocketState.CLOSED]: [],
};

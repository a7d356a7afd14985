/**
 * The WebSocket connection after the handshake: frames in, events out,
 * events in, bytes out. Mirrors wsproto's `connection.py`.
 *
 * @module
 */

/** Which end of the connection this is. Clients mask their frames; servers do not. */
export enum ConnectionType {
  CLIENT = 'CLIENT',
  SERVER = 'SERVER',
}

/**
 * The connection's state (wsproto's `ConnectionState`).
 *
 * CONNECTING → OPEN (handshake done) or REJECTING (server refused);
 * OPEN → LOCAL_CLOSING (we sent a close) or REMOTE_CLOSING (a close arrived,
 * or the peer broke the protocol and we owe it a close);
 * either closing state → CLOSED when the other side's close is sent or
 * received, and any state → CLOSED at transport EOF.
 */
export enum ConnectionState {
  CONNECTING = 'CONNECTING',
  OPEN = 'OPEN',
  REMOTE_CLOSING = 'REMOTE_CLOSING',
  LOCAL_CLOSING = 'LOCAL_CLOSING',
  CLOSED = 'CLOSED',
  REJECTING = 'REJECTING',
}

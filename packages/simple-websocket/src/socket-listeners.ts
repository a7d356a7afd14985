/**
 * The socket events a connection listens to, wired without a closure per
 * connection: the listeners are shared functions, and each finds its
 * connection through a symbol on the socket (`this` in a listener).
 *
 * @module
 */
import type { Duplex } from 'node:stream';

/** What a connection does with its socket's events. */
export interface SocketOwner {
  onData(chunk: Uint8Array): void;
  onEnd(): void;
  onError(error: Error): void;
  onClose(): void;
}

const kOwner = Symbol('wsstack.simple-websocket');
type OwnedSocket = Duplex & { [kOwner]?: SocketOwner };

/** Sends `socket`'s data, end, error and close events to `owner`. */
export function listen(socket: Duplex, owner: SocketOwner): void {
  (socket as OwnedSocket)[kOwner] = owner;
  socket.on('data', onSocketData);
  socket.on('end', onSocketEnd);
  socket.on('error', onSocketError);
  socket.on('close', onSocketClose);
}

function onSocketData(this: Duplex, chunk: Uint8Array): void {
  (this as OwnedSocket)[kOwner]?.onData(chunk);
}
function onSocketEnd(this: Duplex): void {
  (this as OwnedSocket)[kOwner]?.onEnd();
}
function onSocketError(this: Duplex, error: Error): void {
  (this as OwnedSocket)[kOwner]?.onError(error);
}
function onSocketClose(this: Duplex): void {
  (this as OwnedSocket)[kOwner]?.onClose();
}

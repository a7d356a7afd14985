/**
 * The hand-off from Node's `'upgrade'` event into Express routing.
 *
 * The order is the point: the upgrade request runs through the app's
 * middleware and routes *before* any handshake, so middleware can refuse it
 * with a real HTTP status, and only a matching `ws` route answers 101.
 *
 * @module
 */
import { ServerResponse, type IncomingMessage, type Server as HttpServer } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { traceFor, tracing } from '@wsstack/simple-websocket/internal';

/** What a routed upgrade carries on its request (see {@link upgradeOf}). */
export interface PendingUpgrade {
  readonly socket: Duplex;
  readonly head: Buffer;
  /** Set by the ws route that takes the upgrade; the socket is then its own. */
  taken: boolean;
}

const kUpgrade = Symbol('wsstack.upgrade');

/** The pending upgrade of `req`, or undefined for a plain HTTP request. */
export function upgradeOf(req: IncomingMessage): PendingUpgrade | undefined {
  return (req as IncomingMessage & { [kUpgrade]?: PendingUpgrade })[kUpgrade];
}

/** An Express app (or router) as a request handler. */
export type RequestHandlerLike = (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void;

const attached = new WeakMap<HttpServer, (req: IncomingMessage, socket: Duplex, head: Buffer) => void>();

/**
 * Routes `server`'s upgrades through `app`. An upgrade no route takes gets
 * 404, unless another `'upgrade'` listener is on the server (socket.io, a
 * proxy, a dev server's hot reload): then it is left to that listener.
 * Attaching twice is a no-op.
 */
export function attachUpgrades(server: HttpServer, app: RequestHandlerLike): void {
  if (attached.has(server)) return;
  const listener = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const foreign = server.listeners('upgrade').some((l) => l !== listener);
    dispatch(app, req, socket, head, foreign);
  };
  attached.set(server, listener);
  server.on('upgrade', listener);
}

function dispatch(app: RequestHandlerLike, req: IncomingMessage, socket: Duplex, head: Buffer, foreign: boolean): void {
  if (tracing) traceFor(socket, 'server', 'express-sock', 'dispatch', `upgrade ${req.method ?? 'GET'} ${req.url ?? '/'} through Express`);
  const pending: PendingUpgrade = { socket, head, taken: false };
  (req as IncomingMessage & { [kUpgrade]?: PendingUpgrade })[kUpgrade] = pending;
  // Errors on a socket nobody reads yet must not crash the process.
  const onError = (): void => {
    socket.destroy();
  };
  socket.on('error', onError);

  // A response bound to the socket, so middleware can refuse with a status.
  const res = new ServerResponse(req);
  res.shouldKeepAlive = false;
  res.assignSocket(socket as Socket);
  res.on('finish', () => {
    // A refusal was written: the connection ends with it.
    if (pending.taken) return;
    if (tracing) traceFor(socket, 'server', 'express-sock', 'dispatch', `answered HTTP ${res.statusCode} instead of upgrading; the socket ends`);
    socket.end();
  });

  app(req, res, (err?: unknown) => {
    if (pending.taken) return;
    if (err === undefined && foreign) {
      if (tracing) traceFor(socket, 'server', 'express-sock', 'dispatch', `no route took ${req.url ?? '/'}: left to another 'upgrade' listener`);
      // Another listener owns this path: leave the socket to it untouched.
      res.detachSocket(socket as Socket);
      socket.removeListener('error', onError);
      return;
    }
    if (res.headersSent) return;
    if (tracing) {
      traceFor(socket, 'server', 'express-sock', 'dispatch', err === undefined ? `no route took ${req.url ?? '/'}: 404 Not Found` : `an error reached the end of the routes: 500`);
    }
    res.statusCode = err === undefined ? 404 : 500;
    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    res.end(err === undefined ? 'Not Found' : 'Internal Server Error');
  });
}

/**
 * Takes the upgrade for a ws route: the Express response lets go of the
 * socket so nothing it does later (an error handler, a stray `res.end`)
 * reaches the wire.
 */
export function takeUpgrade(req: IncomingMessage, res: ServerResponse): PendingUpgrade {
  const pending = upgradeOf(req);
  if (pending === undefined) throw new Error('takeUpgrade: not an upgrade request');
  pending.taken = true;
  res.detachSocket(pending.socket as Socket);
  return pending;
}

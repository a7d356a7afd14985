/** Shared pieces of the express-sock tests: servers on port 0 and a ws client. */
import type { AddressInfo, Socket } from 'node:net';
import type { Server as HttpServer } from 'node:http';
import WebSocket from 'ws';

export function port(server: HttpServer): number {
  return (server.address() as AddressInfo).port;
}

/** Every socket a test server accepted, upgraded ones included, so `close` can end them. */
const sockets = new WeakMap<HttpServer, Set<Socket>>();

export function listening(server: HttpServer): Promise<HttpServer> {
  const open = new Set<Socket>();
  sockets.set(server, open);
  server.on('connection', (socket: Socket) => {
    open.add(socket);
    socket.once('close', () => open.delete(socket));
  });
  return server.listening ? Promise.resolve(server) : new Promise((resolve) => server.once('listening', () => resolve(server)));
}

export function close(server: HttpServer): Promise<void> {
  // Upgraded sockets are no longer the http server's to close; a test that
  // failed midway may have left one open, and server.close would wait for it.
  for (const socket of sockets.get(server) ?? []) socket.destroy();
  server.closeAllConnections?.();
  return new Promise((resolve) => server.close(() => resolve()));
}

const inbox = new WeakMap<WebSocket, { messages: string[]; waiting: Array<(m: string) => void> }>();

/**
 * Opens a ws client; resolves when open, rejects with the HTTP status if
 * refused. Messages are buffered from the start: a server that sends first
 * can deliver a frame in the same chunk as its 101, before 'open' resolves.
 */
export function connect(url: string, protocols?: string[]): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols);
    const box = { messages: [] as string[], waiting: [] as Array<(m: string) => void> };
    inbox.set(ws, box);
    ws.on('message', (data) => {
      const waiter = box.waiting.shift();
      const text = Buffer.isBuffer(data) ? data.toString() : Buffer.concat(data as Buffer[]).toString();
      if (waiter) waiter(text);
      else box.messages.push(text);
    });
    ws.once('close', (code) => lastClose.set(ws, code));
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => {
      reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { statusCode: res.statusCode }));
      ws.terminate();
    });
    ws.once('error', reject);
  });
}

export function nextMessage(ws: WebSocket): Promise<string> {
  const box = inbox.get(ws)!;
  const ready = box.messages.shift();
  return ready !== undefined ? Promise.resolve(ready) : new Promise((resolve) => box.waiting.push(resolve));
}

export function closed(ws: WebSocket): Promise<{ code: number; reason: string }> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.resolve({ code: lastClose.get(ws) ?? 1005, reason: '' });
  return new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: String(reason) })));
}

const lastClose = new WeakMap<WebSocket, number>();

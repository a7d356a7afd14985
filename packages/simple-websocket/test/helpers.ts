/**
 * Test helpers: servers on 127.0.0.1:0 that run our Server (both accept
 * forms), `ws` peers, raw sockets, and a self-signed certificate.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import * as tls from 'node:tls';
import { WebSocket, WebSocketServer, type ServerOptions as WsServerOptions } from 'ws';
import { Server, type ServerOptions } from '../src';

/** Something to close at the end of a test. */
export interface Closable {
  close(): Promise<void>;
}

/** Our Server behind a listener; `handler` runs per accepted connection. */
export interface OurServer extends Closable {
  port: number;
  url: string;
  /** Connections accepted so far (resolved accept() promises). */
  accepted: Server[];
  /** accept() rejections so far. */
  failures: unknown[];
  /** Server-side sockets not closed yet (a leak shows here). */
  openSockets(): number;
}

export type AcceptForm = 'raw' | 'upgrade';

/** Tracks every socket a listener sees so close() can destroy stragglers. */
function trackSockets(server: net.Server): Set<Duplex> {
  const sockets = new Set<Duplex>();
  const track = (socket: Duplex): void => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  };
  server.on('connection', track);
  server.on('secureConnection', track);
  return sockets;
}

function listen(server: net.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port));
  });
}

function shut(server: net.Server, sockets: Set<Duplex>): Promise<void> {
  for (const socket of sockets) socket.destroy();
  return new Promise((resolve) => server.close(() => resolve()));
}

/**
 * Starts our Server: `raw` = net.createServer + Server.accept(socket),
 * `upgrade` = http.createServer 'upgrade' + Server.accept(req, socket, head),
 * `tls` = tls.createServer + Server.accept(tlsSocket).
 */
export async function startOurServer(
  form: AcceptForm | 'tls',
  handler: (ws: Server) => void | Promise<void>,
  options?: ServerOptions,
  tlsOptions?: tls.TlsOptions,
): Promise<OurServer> {
  const accepted: Server[] = [];
  const failures: unknown[] = [];
  const run = (promise: Promise<Server>): void => {
    promise.then(
      async (ws) => {
        accepted.push(ws);
        await handler(ws);
      },
      (error: unknown) => {
        failures.push(error);
      },
    ).catch((error: unknown) => failures.push(error));
  };
  let server: net.Server;
  if (form === 'upgrade') {
    const httpServer = http.createServer((_req, res) => res.writeHead(404).end());
    httpServer.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => run(Server.accept(req, socket, head, options)));
    server = httpServer;
  } else if (form === 'tls') {
    server = tls.createServer(tlsOptions ?? {}, (socket) => run(Server.accept(socket, options)));
  } else {
    server = net.createServer((socket) => run(Server.accept(socket, options)));
  }
  const sockets = trackSockets(server);
  const port = await listen(server);
  const scheme = form === 'tls' ? 'wss' : 'ws';
  return {
    port,
    url: `${scheme}://127.0.0.1:${port}`,
    accepted,
    failures,
    openSockets: () => sockets.size,
    close: () => shut(server, sockets),
  };
}

/** A `ws` server on 127.0.0.1:0 (optionally over https). */
export async function startWsServer(
  options: WsServerOptions = {},
  tlsOptions?: { key: Buffer; cert: Buffer },
): Promise<{ wss: WebSocketServer; port: number; url: string } & Closable> {
  const httpServer = tlsOptions
    ? https.createServer(tlsOptions)
    : http.createServer();
  const sockets = trackSockets(httpServer);
  const wss = new WebSocketServer({ ...options, server: httpServer });
  const port = await listen(httpServer);
  return {
    wss,
    port,
    url: `${tlsOptions ? 'wss' : 'ws'}://127.0.0.1:${port}`,
    close: async () => {
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await shut(httpServer, sockets);
    },
  };
}

/** Opens a `ws` client and waits for 'open'. */
export function openWs(url: string, protocols?: string | string[], options?: ConstructorParameters<typeof WebSocket>[2]): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols, options);
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

/** Resolves with the close code and reason a `ws` socket sees. */
export function wsClosed(ws: WebSocket): Promise<{ code: number; reason: string }> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.reject(new Error('already closed'));
  return new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
}

/** Collects `count` messages a `ws` socket receives (text as string, binary as Buffer). */
export function wsMessages(ws: WebSocket, count: number): Promise<Array<string | Buffer>> {
  return new Promise((resolve, reject) => {
    const out: Array<string | Buffer> = [];
    if (count === 0) resolve(out);
    const onMessage = (data: Buffer, isBinary: boolean): void => {
      out.push(isBinary ? data : data.toString('utf8'));
      if (out.length === count) {
        ws.off('message', onMessage);
        resolve(out);
      }
    };
    ws.on('message', onMessage);
    ws.once('close', (code) => reject(new Error(`closed ${code} after ${out.length}/${count} messages`)));
  });
}

/** Waits until `predicate()` holds, polling every 5 ms, or fails after `ms`. */
export async function until(predicate: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A raw TCP connection to 127.0.0.1:port, with everything it receives collected. */
export async function rawConnect(port: number): Promise<{ socket: net.Socket; received: () => Buffer; closed: Promise<void> }> {
  const socket = net.connect(port, '127.0.0.1');
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return { socket, received: () => Buffer.concat(chunks), closed };
}

/** A valid client handshake request for raw sockets. */
export function handshakeRequest(path = '/', extra = ''): string {
  return (
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`
  );
}

/** A masked client frame (RFC 6455 5.2), mask key fixed for byte-exact tests. */
export function clientFrame(opcode: number, payload: Uint8Array, fin = true): Buffer {
  const mask = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);
  const length = payload.byteLength;
  const header =
    length < 126
      ? Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | length])
      : length < 65536
        ? Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | 126, length >> 8, length & 0xff])
        : (() => {
            const h = Buffer.alloc(10);
            h[0] = (fin ? 0x80 : 0) | opcode;
            h[1] = 0x80 | 127;
            h.writeBigUInt64BE(BigInt(length), 2);
            return h;
          })();
  const body = Buffer.alloc(length);
  for (let i = 0; i < length; i++) body[i] = payload[i] ^ mask[i & 3];
  return Buffer.concat([header, mask, body]);
}

/** A self-signed certificate for 127.0.0.1/localhost, made with openssl in a temp dir. */
export function makeCertificate(): { key: Buffer; cert: Buffer } {
  const dir = mkdtempSync(join(tmpdir(), 'sws-cert-'));
  try {
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
        '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1'],
      { stdio: 'ignore' },
    );
    return { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Random bytes (incompressible, so deflate has real work), checked against themselves. */
export function randomPayload(length: number): Buffer {
  return randomBytes(length);
}

/** A frame a server sent (unmasked), as parsed by {@link serverFrames}. */
export interface WireFrame {
  fin: boolean;
  opcode: number;
  payload: Buffer;
}

/** Parses the unmasked frames in `bytes`; an incomplete tail is left out. */
export function serverFrames(bytes: Buffer): WireFrame[] {
  const out: WireFrame[] = [];
  let i = 0;
  while (bytes.length - i >= 2) {
    let len = bytes[i + 1] & 0x7f;
    let off = i + 2;
    if (len === 126) {
      if (bytes.length - i < 4) break;
      len = bytes.readUInt16BE(i + 2);
      off = i + 4;
    } else if (len === 127) {
      if (bytes.length - i < 10) break;
      len = Number(bytes.readBigUInt64BE(i + 2));
      off = i + 10;
    }
    if (bytes.length < off + len) break;
    out.push({ fin: (bytes[i] & 0x80) !== 0, opcode: bytes[i] & 0x0f, payload: bytes.subarray(off, off + len) });
    i = off + len;
  }
  return out;
}

/** The code of the first close frame among `frames` (1005 for an empty one), or undefined. */
export function closeCodeOf(frames: WireFrame[]): number | undefined {
  const close = frames.find((f) => f.opcode === 0x8);
  if (close === undefined) return undefined;
  return close.payload.length >= 2 ? close.payload.readUInt16BE(0) : 1005;
}

/** The frames a server sent after its handshake response in `bytes`. */
export function framesAfterHead(bytes: Buffer): WireFrame[] {
  return serverFrames(bytes.subarray(bytes.indexOf('\r\n\r\n') + 4));
}

/** The Sec-WebSocket-Accept answer to `key` (RFC 6455 4.2.2), for servers written by hand. */
export function acceptToken(key: string): string {
  return createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
}

/** A server a test writes by hand: it reads the request head itself and answers as `onRequest` says. */
export interface HandServer extends Closable {
  port: number;
  url: string;
  /** Request heads received, in order. */
  requests: string[];
}

/**
 * A TCP server that reads one request head per connection and hands it, the
 * socket and any bytes after the head to `onRequest` (which may answer with
 * {@link response101}, or anything else).
 */
export async function startHandServer(
  onRequest: (socket: net.Socket, request: string, rest: Buffer) => void,
): Promise<HandServer> {
  const requests: string[] = [];
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    let buffered = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      buffered = Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      const request = buffered.subarray(0, end + 4).toString('latin1');
      requests.push(request);
      onRequest(socket, request, buffered.subarray(end + 4));
    };
    socket.on('data', onData);
  });
  const sockets = trackSockets(server);
  const port = await listen(server);
  return { port, url: `ws://127.0.0.1:${port}`, requests, close: () => shut(server, sockets) };
}

/** The 101 a hand-written server answers `request` with, plus `extraHeaders` (`Name: value` lines). */
export function response101(request: string, ...extraHeaders: string[]): string {
  const key = /^sec-websocket-key:\s*(\S+)/im.exec(request)?.[1] ?? '';
  return (
    'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
    `Sec-WebSocket-Accept: ${acceptToken(key)}\r\n${extraHeaders.map((h) => `${h}\r\n`).join('')}\r\n`
  );
}

/** An unmasked server frame (RFC 6455 5.2). */
export function serverFrame(opcode: number, payload: Uint8Array, fin = true): Buffer {
  const length = payload.byteLength;
  let header: Buffer;
  if (length < 126) header = Buffer.from([(fin ? 0x80 : 0) | opcode, length]);
  else if (length < 65536) header = Buffer.from([(fin ? 0x80 : 0) | opcode, 126, length >> 8, length & 0xff]);
  else {
    header = Buffer.alloc(10);
    header[0] = (fin ? 0x80 : 0) | opcode;
    header[1] = 127;
    header.writeBigUInt64BE(BigInt(length), 2);
  }
  return Buffer.concat([header, payload]);
}

/** Parses masked (client) frames in `bytes`, unmasking them; an incomplete tail is left out. */
export function clientFrames(bytes: Buffer): WireFrame[] {
  const out: WireFrame[] = [];
  let i = 0;
  while (bytes.length - i >= 2) {
    let len = bytes[i + 1] & 0x7f;
    let off = i + 2;
    if (len === 126) {
      if (bytes.length - i < 4) break;
      len = bytes.readUInt16BE(i + 2);
      off = i + 4;
    } else if (len === 127) {
      if (bytes.length - i < 10) break;
      len = Number(bytes.readBigUInt64BE(i + 2));
      off = i + 10;
    }
    if (bytes.length < off + 4 + len) break;
    const mask = bytes.subarray(off, off + 4);
    const payload = Buffer.from(bytes.subarray(off + 4, off + 4 + len));
    for (let j = 0; j < len; j++) payload[j] ^= mask[j & 3];
    out.push({ fin: (bytes[i] & 0x80) !== 0, opcode: bytes[i] & 0x0f, payload });
    i = off + 4 + len;
  }
  return out;
}

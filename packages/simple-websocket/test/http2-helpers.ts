/**
 * HTTP/2 test servers on 127.0.0.1:0: our Server on node:http2's `'stream'`
 * event (h2c, or h2 over TLS), with what the server saw kept for the test
 * to check (sessions, streams, WebSockets accepted or refused).
 */
import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { Server, type ServerOptions } from '../src';

export interface Http2TestServer {
  /** `ws://127.0.0.1:port` (h2c) or `wss://…` (TLS). */
  url: string;
  port: number;
  server: http2.Http2Server | http2.Http2SecureServer;
  /** Sessions the server saw (one per TCP connection). */
  sessions: http2.ServerHttp2Session[];
  /** The request fields of every stream, in arrival order. */
  streams: http2.IncomingHttpHeaders[];
  accepted: Server[];
  failures: unknown[];
  close(): Promise<void>;
}

export interface Http2TestOptions {
  /** Key and certificate: TLS (h2 by ALPN); none: h2c. */
  tls?: { key: Buffer; cert: Buffer };
  /** SETTINGS; default `{ enableConnectProtocol: true }`. */
  settings?: http2.Settings;
  /** The port to listen on; default any free one. */
  port?: number;
  /** Handles a stream itself instead of `Server.accept` (return true when it did). */
  onStream?: (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => boolean;
}

/** Starts an HTTP/2 server whose WebSocket streams run `handler`. */
export async function startHttp2Server(
  handler: (ws: Server) => void | Promise<void>,
  serverOptions?: ServerOptions,
  options: Http2TestOptions = {},
): Promise<Http2TestServer> {
  const settings = options.settings ?? { enableConnectProtocol: true };
  const server = options.tls ? http2.createSecureServer({ ...options.tls, settings }) : http2.createServer({ settings });
  const sessions: http2.ServerHttp2Session[] = [];
  const streams: http2.IncomingHttpHeaders[] = [];
  const accepted: Server[] = [];
  const failures: unknown[] = [];
  server.on('session', (session: http2.ServerHttp2Session) => sessions.push(session));
  server.on('stream', (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => {
    streams.push(headers);
    if (options.onStream?.(stream, headers)) return;
    Server.accept(stream, headers, serverOptions).then(
      async (ws) => {
        accepted.push(ws);
        try {
          await handler(ws);
        } catch (error) {
          failures.push(error);
        }
      },
      (error: unknown) => failures.push(error),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `${options.tls ? 'wss' : 'ws'}://127.0.0.1:${port}`,
    port,
    server,
    sessions,
    streams,
    accepted,
    failures,
    close: () =>
      new Promise<void>((resolve) => {
        // close() waits for every session to end: end them (the clients' pooled ones too).
        for (const session of sessions) session.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Echoes every message until the peer closes. */
export async function echo(ws: Server): Promise<void> {
  for await (const message of ws) await ws.send(message);
}

/** Opens a raw extended CONNECT with Node's own http2 client, once the server's SETTINGS allow it. */
export async function nodeConnect(
  url: string,
  fields: http2.OutgoingHttpHeaders = {},
  connectOptions: http2.SecureClientSessionOptions = {},
): Promise<{ session: http2.ClientHttp2Session; stream: http2.ClientHttp2Stream; response: http2.IncomingHttpHeaders & http2.IncomingHttpStatusHeader }> {
  const origin = url.replace(/^ws/, 'http');
  const session = http2.connect(origin, connectOptions);
  session.on('error', () => {});
  await new Promise<void>((resolve) => session.once('remoteSettings', () => resolve()));
  const stream = session.request({
    ':method': 'CONNECT',
    ':protocol': 'websocket',
    ':scheme': origin.startsWith('https') ? 'https' : 'http',
    ':path': '/',
    ':authority': new URL(origin).host,
    'sec-websocket-version': '13',
    ...fields,
  });
  stream.on('error', () => {});
  const response = await new Promise<http2.IncomingHttpHeaders & http2.IncomingHttpStatusHeader>((resolve) => stream.once('response', resolve));
  return { session, stream, response };
}

/** Everything a stream sends until it ends, and how it ended (its RST_STREAM code; 0 for an orderly end). */
export function streamOutcome(stream: http2.Http2Stream): Promise<{ bytes: Buffer; ended: boolean; rstCode: number }> {
  const chunks: Buffer[] = [];
  let ended = false;
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  stream.on('end', () => {
    ended = true;
  });
  return new Promise((resolve) => stream.once('close', () => resolve({ bytes: Buffer.concat(chunks), ended, rstCode: stream.rstCode })));
}

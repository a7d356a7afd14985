/**
 * WebSockets over HTTP/2 (RFC 8441) on real sessions on 127.0.0.1: our
 * Client and Server against each other, our Server against Node's own
 * http2 client (byte-exact frames, the stream's END_STREAM and RST_STREAM),
 * and our Client against servers that cannot take it.
 */
import * as http2 from 'node:http2';
import * as https from 'node:https';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { Client, ConnectionClosed, ConnectionError, type Server } from '../src';
import { clientFrame, makeCertificate, until } from './helpers';
import { echo, nodeConnect, startHttp2Server, streamOutcome, type Http2TestServer } from './http2-helpers';

const { NGHTTP2_CANCEL, NGHTTP2_NO_ERROR } = http2.constants;

/** The HTTP/2 stream a client's WebSocket runs on. */
const streamOf = (ws: Client | Server): http2.Http2Stream => ws.socket as http2.Http2Stream;

describe('our Client and our Server over HTTP/2', () => {
  const { key, cert } = makeCertificate();
  let servers: Http2TestServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.map((s) => s.close()));
    servers = [];
  });
  async function start(...args: Parameters<typeof startHttp2Server>): Promise<Http2TestServer> {
    const server = await startHttp2Server(...args);
    servers.push(server);
    return server;
  }

  test.each(['h2c', 'h2 over TLS'])('%s: messages both ways, the request, the subprotocol, the close', async (kind) => {
    const tls = kind === 'h2c' ? undefined : { key, cert };
    const server = await start(echo, { subprotocols: ['chat'] }, { tls });
    const ws = await Client.connect(`${server.url}/chat?room=1`, { http2: true, subprotocols: ['v2', 'chat'], tls: { ca: cert } });
    expect(ws.subprotocol).toBe('chat');
    await ws.send('hello');
    await ws.send(new Uint8Array([1, 2, 3]));
    expect(await ws.receive()).toBe('hello');
    expect(await ws.receive()).toEqual(new Uint8Array([1, 2, 3]));

    const [accepted] = server.accepted;
    expect(accepted.request.path).toBe('/chat?room=1');
    expect(accepted.request.host).toBe(`127.0.0.1:${server.port}`);
    expect(accepted.request.headers).toContainEqual([':protocol', 'websocket']);
    expect(accepted.request.headers).toContainEqual([':scheme', tls ? 'https' : 'http']);
    expect(accepted.request.subprotocols).toEqual(['v2', 'chat']);
    // The socket really is a stream of an h2 session.
    expect(server.streams.map((h) => h[':method'])).toEqual(['CONNECT']);
    if (tls) expect(server.sessions[0].alpnProtocol).toBe('h2');

    await ws.close(1000, 'done');
    expect(ws.closeCode).toBe(1000);
    await until(() => accepted.closeCode !== undefined, 5000, 'the server saw the close');
    expect([accepted.closeCode, accepted.closeReason]).toEqual([1000, 'done']);
  });

  test('many WebSockets share one session; each stream keeps its own messages; closing one leaves the rest', async () => {
    const server = await start(echo);
    const sockets = await Promise.all(Array.from({ length: 10 }, () => Client.connect(server.url, { http2: true })));
    expect(server.sessions).toHaveLength(1);
    const session = streamOf(sockets[0]).session;
    for (const ws of sockets) expect(streamOf(ws).session).toBe(session);
    // Interleaved sends, each answered on its own stream.
    for (let round = 0; round < 3; round++) await Promise.all(sockets.map((ws, i) => ws.send(`${i}.${round}`)));
    for (const [i, ws] of sockets.entries()) {
      expect([await ws.receive(), await ws.receive(), await ws.receive()]).toEqual([`${i}.0`, `${i}.1`, `${i}.2`]);
    }
    await sockets[0].close();
    await sockets[1].send('still here');
    expect(await sockets[1].receive()).toBe('still here');
    // A later connect to the same origin takes the same session.
    const later = await Client.connect(server.url, { http2: true });
    expect(streamOf(later).session).toBe(session);
    expect(server.sessions).toHaveLength(1);
    await Promise.all([...sockets.slice(1), later].map((ws) => ws.close()));
  });

  test('other TLS options get a session of their own', async () => {
    const server = await start(echo, undefined, { tls: { key, cert } });
    const a = await Client.connect(server.url, { http2: true, tls: { ca: cert } });
    const b = await Client.connect(server.url, { http2: true, tls: { ca: cert } });
    const c = await Client.connect(server.url, { http2: true, tls: { rejectUnauthorized: false } });
    const sessionOf = (ws: Client) => streamOf(ws).session;
    expect(sessionOf(b)).toBe(sessionOf(a));
    expect(sessionOf(c)).not.toBe(sessionOf(a));
    expect(server.sessions).toHaveLength(2);
    await Promise.all([a, b, c].map((ws) => ws.close()));
  });

  test('permessage-deflate is negotiated over HTTP/2 as over HTTP/1.1', async () => {
    const server = await start(echo, { perMessageDeflate: true });
    const ws = await Client.connect(server.url, { http2: true, perMessageDeflate: true });
    expect(server.accepted[0].request.extensions).toEqual(['permessage-deflate; client_max_window_bits']);
    const text = 'compressible '.repeat(1000);
    await ws.send(text);
    expect(await ws.receive()).toBe(text);
    await ws.close();
  });

  test('a peer that stops reading pauses its own stream only: the session\'s other streams flow', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const server = await start(
      async (ws) => {
        if (ws.request.path === '/slow') await gate;
        await echo(ws);
      },
      { maxQueuedMessages: 2 },
    );
    const slow = await Client.connect(`${server.url}/slow`, { http2: true });
    const fast = await Client.connect(`${server.url}/fast`, { http2: true });
    const payload = new Uint8Array(64 * 1024);
    const count = 48;
    let sent = 0;
    const sends = Array.from({ length: count }, (_, i) => slow.send(payload.fill(i, 0, 1).slice()).then(() => sent++));
    const slowServer = () => server.accepted.find((ws) => ws.request.path === '/slow')!;
    await until(() => server.accepted.length === 2 && slowServer().queuedMessages === 2, 5000, 'the slow server to fill its queue');
    // The other stream of the same session is not held up by the paused one.
    await fast.send('through');
    expect(await fast.receive()).toBe('through');
    expect(slowServer().queuedMessages).toBe(2);
    expect(sent).toBeLessThan(count);
    release();
    await Promise.all(sends);
    for (let i = 0; i < count; i++) expect(((await slow.receive()) as Uint8Array)[0]).toBe(i);
    await Promise.all([slow.close(), fast.close()]);
  });
});

describe('our Server with Node\'s http2 client', () => {
  let server: Http2TestServer;
  const clientSessions: http2.ClientHttp2Session[] = [];
  beforeAll(async () => {
    server = await startHttp2Server(echo, { closeTimeout: 300 });
  });
  afterEach(() => {
    for (const session of clientSessions.splice(0)) session.destroy();
  });
  afterAll(() => server.close());
  async function connect(fields: http2.OutgoingHttpHeaders = {}) {
    const opened = await nodeConnect(server.url, fields);
    clientSessions.push(opened.session);
    return opened;
  }

  test('answers :status 200 and speaks RFC 6455 frames on the stream, byte for byte', async () => {
    const { stream, response } = await connect({ ':path': '/echo', 'sec-websocket-protocol': 'chat' });
    expect(response[':status']).toBe(200);
    // No subprotocol in common: none chosen; and no RFC 6455 upgrade fields.
    expect(response['sec-websocket-protocol']).toBeUndefined();
    expect(response['sec-websocket-accept']).toBeUndefined();
    const echoed: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => echoed.push(chunk));
    stream.write(clientFrame(0x1, Buffer.from('Hello')));
    await until(() => Buffer.concat(echoed).length >= 7, 2000, 'the echo');
    expect(Buffer.concat(echoed).toString('hex')).toBe('810548656c6c6f');
    // The closing handshake: our close frame, theirs back, then END_STREAM both ways (RFC 8441 section 5).
    const outcome = streamOutcome(stream);
    stream.write(clientFrame(0x8, Buffer.from([0x03, 0xe8])));
    stream.end();
    const { bytes, ended, rstCode } = await outcome;
    expect(bytes.toString('hex')).toBe('880203e8');
    expect(ended).toBe(true);
    expect(rstCode).toBe(NGHTTP2_NO_ERROR);
    const ws = server.accepted.at(-1)!;
    await until(() => ws.closeCode !== undefined);
    expect(ws.closeCode).toBe(1000);
  });

  test('the acceptance names the extensions it took', async () => {
    const deflating = await startHttp2Server(echo, { perMessageDeflate: true });
    try {
      const { session, response } = await nodeConnect(deflating.url, { 'sec-websocket-extensions': 'permessage-deflate; client_max_window_bits' });
      clientSessions.push(session);
      expect([response[':status'], response['sec-websocket-extensions']]).toEqual([200, 'permessage-deflate']);
    } finally {
      await deflating.close();
    }
  });

  test('a bad version is refused with 400 and sec-websocket-version: 13, and the stream ends', async () => {
    const failures = server.failures.length;
    const { stream, response } = await connect({ 'sec-websocket-version': '8' });
    expect(response[':status']).toBe(400);
    expect(response['sec-websocket-version']).toBe('13');
    const { ended } = await streamOutcome(stream);
    expect(ended).toBe(true);
    await until(() => server.failures.length === failures + 1);
    const error = server.failures.at(-1) as ConnectionError;
    expect(error).toBeInstanceOf(ConnectionError);
    expect([error.code, error.statusCode]).toEqual(['WS_HANDSHAKE_INVALID', 400]);
  });

  test('a handshake that fails with no status to send resets the stream at once, not after closeTimeout', async () => {
    // Our own options cannot go over HTTP/2 (a Connection field): the core refuses to write them.
    const broken = await startHttp2Server(echo, { headers: { Connection: 'keep-alive' }, closeTimeout: 30000 });
    try {
      const session = http2.connect(broken.url.replace('ws', 'http'));
      clientSessions.push(session);
      await new Promise((resolve) => session.once('remoteSettings', resolve));
      const stream = session.request({ ':method': 'CONNECT', ':protocol': 'websocket', ':scheme': 'http', ':path': '/', ':authority': 'x', 'sec-websocket-version': '13' });
      stream.on('error', () => {});
      let responded = false;
      stream.on('response', () => (responded = true));
      const { rstCode } = await streamOutcome(stream);
      expect([responded, rstCode]).toEqual([false, NGHTTP2_CANCEL]);
      await until(() => broken.failures.length === 1);
      expect(broken.failures[0]).toMatchObject({ code: 'WS_HANDSHAKE_INVALID' });
    } finally {
      await broken.close();
    }
  });

  test('a GET is refused with 405 and allow: CONNECT', async () => {
    const session = http2.connect(server.url.replace('ws', 'http'));
    clientSessions.push(session);
    const stream = session.request({ ':path': '/' });
    const response = await new Promise<http2.IncomingHttpHeaders & http2.IncomingHttpStatusHeader>((resolve) => stream.once('response', resolve));
    expect([response[':status'], response.allow]).toEqual([405, 'CONNECT']);
  });

  test('a close the client never answers ends in RST_STREAM CANCEL after closeTimeout; the session lives on', async () => {
    const { session, stream } = await connect();
    const outcome = streamOutcome(stream);
    const ws = server.accepted.at(-1)!;
    await ws.close(1000, 'bye');
    const { bytes, rstCode } = await outcome;
    expect(bytes.toString('hex')).toBe('8805' + '03e8' + Buffer.from('bye').toString('hex'));
    expect(rstCode).toBe(NGHTTP2_CANCEL);
    expect(ws.closeCode).toBe(1006);
    // The session and its other streams are untouched.
    const other = session.request({ ':method': 'CONNECT', ':protocol': 'websocket', ':scheme': 'http', ':path': '/', ':authority': 'x', 'sec-websocket-version': '13' });
    const response = await new Promise<http2.IncomingHttpHeaders & http2.IncomingHttpStatusHeader>((resolve) => other.once('response', resolve));
    expect(response[':status']).toBe(200);
  });

  test('a client that resets its stream is a lost connection (1006), not a crash', async () => {
    const { stream } = await connect();
    const ws = server.accepted.at(-1)!;
    const received = ws.receive();
    stream.close(NGHTTP2_CANCEL);
    await expect(received).rejects.toMatchObject({ name: 'ConnectionClosed', code: 1006 });
    expect(ws.connected).toBe(false);
  });
});

describe('our Client against servers that cannot take it', () => {
  const { key, cert } = makeCertificate();

  test('a server whose SETTINGS do not enable extended CONNECT: WS_HTTP2_UNSUPPORTED, no CONNECT sent', async () => {
    const server = await startHttp2Server(echo, undefined, { settings: {} });
    try {
      await expect(Client.connect(server.url, { http2: true })).rejects.toMatchObject({ code: 'WS_HTTP2_UNSUPPORTED' });
      expect(server.streams).toEqual([]);
    } finally {
      await server.close();
    }
  });

  test('an HTTPS server without h2: WS_HTTP2_UNSUPPORTED', async () => {
    const server = https.createServer({ key, cert }, (_req, res) => res.end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `wss://127.0.0.1:${(server.address() as AddressInfo).port}`;
      await expect(Client.connect(url, { http2: true, tls: { ca: cert } })).rejects.toMatchObject({ code: 'WS_HTTP2_UNSUPPORTED' });
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  test('a refusal: ConnectionError with the status and the start of the body; the stream closes', async () => {
    const refused: http2.ServerHttp2Stream[] = [];
    const server = await startHttp2Server(echo, undefined, {
      onStream: (stream) => {
        refused.push(stream);
        stream.respond({ ':status': 403, 'content-type': 'text/plain' });
        stream.end('members only');
        return true;
      },
    });
    try {
      const error = await Client.connect(server.url, { http2: true }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConnectionError);
      expect(error).toMatchObject({ code: 'WS_HANDSHAKE_REJECTED', statusCode: 403 });
      expect((error as Error).message).toContain('members only');
      // Our side ends too (Node ends it before resetting, so the server may see either).
      await until(() => refused[0].closed, 2000, 'the server stream to close');
    } finally {
      await server.close();
    }
  });

  test('a server that never answers the CONNECT: WS_HANDSHAKE_TIMEOUT, and the stream is reset with CANCEL', async () => {
    const waiting: http2.ServerHttp2Stream[] = [];
    const server = await startHttp2Server(echo, undefined, {
      onStream: (stream) => {
        waiting.push(stream);
        return true;
      },
    });
    try {
      await expect(Client.connect(server.url, { http2: true, handshakeTimeout: 200 })).rejects.toMatchObject({ code: 'WS_HANDSHAKE_TIMEOUT' });
      await until(() => waiting.length === 1 && waiting[0].closed, 2000, 'the server stream to close');
      expect(waiting[0].rstCode).toBe(NGHTTP2_CANCEL);
    } finally {
      await server.close();
    }
  });

  /**
   * A bare HTTP/2 peer over TCP that holds its SETTINGS back, then sends
   * `settings`: Node's client would send `:protocol` before them; ours must not.
   */
  async function lateSettings(settings: Buffer): Promise<{ url: string; headersBeforeSettings: () => boolean; sawHeaders: () => boolean; close: () => Promise<void> }> {
    let settingsSent = false;
    let headersSeen = false;
    let early = false;
    const sockets = new Set<net.Socket>();
    const server = net.createServer((socket) => {
      sockets.add(socket);
      let buffered = Buffer.alloc(0);
      let prefaceRead = false;
      socket.on('data', (chunk: Buffer) => {
        buffered = Buffer.concat([buffered, chunk]);
        if (!prefaceRead && buffered.length >= 24) {
          buffered = buffered.subarray(24); // "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
          prefaceRead = true;
        }
        while (prefaceRead && buffered.length >= 9 && buffered.length >= 9 + buffered.readUIntBE(0, 3)) {
          if (buffered[3] === 0x1 /* HEADERS */) {
            headersSeen = true;
            early ||= !settingsSent;
          }
          buffered = buffered.subarray(9 + buffered.readUIntBE(0, 3));
        }
      });
      socket.on('error', () => {});
      setTimeout(() => {
        settingsSent = true;
        socket.write(settings);
      }, 300);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
      url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}`,
      headersBeforeSettings: () => early,
      sawHeaders: () => headersSeen,
      close: () => {
        for (const socket of sockets) socket.destroy();
        return new Promise((resolve) => server.close(() => resolve()));
      },
    };
  }

  /** A SETTINGS frame: 9-byte header (length, type 4, no flags, stream 0), then id/value pairs. */
  function settingsFrame(pairs: Array<[id: number, value: number]>): Buffer {
    const frame = Buffer.alloc(9 + 6 * pairs.length);
    frame.writeUIntBE(6 * pairs.length, 0, 3);
    frame[3] = 0x4;
    pairs.forEach(([id, value], i) => {
      frame.writeUInt16BE(id, 9 + 6 * i);
      frame.writeUInt32BE(value, 11 + 6 * i);
    });
    return frame;
  }
  const ENABLE_CONNECT_PROTOCOL = 0x8;

  test('the CONNECT waits for the server\'s SETTINGS to enable it', async () => {
    const peer = await lateSettings(settingsFrame([[ENABLE_CONNECT_PROTOCOL, 1]]));
    try {
      const connecting = Client.connect(peer.url, { http2: true, handshakeTimeout: 3000 }).catch((e: unknown) => e);
      await until(peer.sawHeaders, 3000, 'the CONNECT');
      expect(peer.headersBeforeSettings()).toBe(false);
      await peer.close();
      expect(await connecting).toBeInstanceOf(ConnectionError);
    } finally {
      await peer.close();
    }
  });

  test('late SETTINGS without the setting: WS_HTTP2_UNSUPPORTED and no CONNECT at all', async () => {
    const peer = await lateSettings(settingsFrame([]));
    try {
      await expect(Client.connect(peer.url, { http2: true })).rejects.toMatchObject({ code: 'WS_HTTP2_UNSUPPORTED' });
      expect(peer.sawHeaders()).toBe(false);
    } finally {
      await peer.close();
    }
  });

  test('SETTINGS later than handshakeTimeout: WS_HANDSHAKE_TIMEOUT, and no CONNECT once they come', async () => {
    const peer = await lateSettings(settingsFrame([[ENABLE_CONNECT_PROTOCOL, 1]]));
    try {
      await expect(Client.connect(peer.url, { http2: true, handshakeTimeout: 100 })).rejects.toMatchObject({ code: 'WS_HANDSHAKE_TIMEOUT' });
      await new Promise((resolve) => setTimeout(resolve, 400)); // the SETTINGS come at 300 ms
      expect(peer.sawHeaders()).toBe(false);
    } finally {
      await peer.close();
    }
  });

  test('a session that fails to connect: WS_CONNECT_FAILED; the next connect to the origin makes a new one', async () => {
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    await expect(Client.connect(`ws://127.0.0.1:${port}`, { http2: true })).rejects.toMatchObject({ code: 'WS_CONNECT_FAILED' });
    const server = await startHttp2Server(echo, undefined, { port });
    try {
      const ws = await Client.connect(`ws://127.0.0.1:${port}`, { http2: true });
      await ws.send('fresh');
      expect(await ws.receive()).toBe('fresh');
      await ws.close();
    } finally {
      await server.close();
    }
  });
});

test('ConnectionClosed is what a reset stream leaves the client', async () => {
  const server = await startHttp2Server(async (ws) => {
    await ws.receive();
    (ws.socket as http2.ServerHttp2Stream).close(NGHTTP2_CANCEL);
  });
  try {
    const ws = await Client.connect(server.url, { http2: true });
    await ws.send('reset me');
    const error = await ws.receive().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionClosed);
    expect((error as ConnectionClosed).code).toBe(1006);
  } finally {
    await server.close();
  }
});

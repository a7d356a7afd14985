/**
 * What goes wrong on real sockets: peers that vanish, break limits, never
 * pong, never finish the handshake or send a bad one, or never answer a close.
 */
import { ConnectionClosed, ConnectionError, InvalidCloseError, type Server } from '../src';
import {
  clientFrame,
  handshakeRequest,
  openWs,
  rawConnect,
  startOurServer,
  startWsServer,
  until,
  wsClosed,
  type OurServer,
} from './helpers';
import { Client } from '../src';
import type { WebSocket } from 'ws';

const text = (s: string): Buffer => Buffer.from(s, 'utf8');

/** Collects everything a Server's receive() yields until it throws. */
async function drain(ws: Server): Promise<{ messages: unknown[]; error: unknown }> {
  const messages: unknown[] = [];
  for (;;) {
    try {
      messages.push(await ws.receive());
    } catch (error) {
      return { messages, error };
    }
  }
}

describe('failures', () => {
  let server: OurServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  test('a peer that vanishes mid-frame gives ConnectionClosed(1006) after the earlier messages', async () => {
    let done!: (value: { messages: unknown[]; error: unknown }) => void;
    const outcome = new Promise<{ messages: unknown[]; error: unknown }>((resolve) => (done = resolve));
    server = await startOurServer('raw', async (ws) => done(await drain(ws)));
    const peer = await rawConnect(server.port);
    peer.socket.write(handshakeRequest());
    await until(() => peer.received().includes('\r\n\r\n'), 5000, '101');
    expect(peer.received().toString('latin1')).toMatch(/^HTTP\/1\.1 101 /);
    const third = clientFrame(1, text('never finished'));
    peer.socket.write(Buffer.concat([clientFrame(1, text('first')), clientFrame(2, Buffer.from([1, 2])), third.subarray(0, 7)]));
    await new Promise((resolve) => setTimeout(resolve, 50));
    peer.socket.destroy();
    const { messages, error } = await outcome;
    expect(messages[0]).toBe('first');
    expect(Buffer.from(messages[1] as Uint8Array)).toEqual(Buffer.from([1, 2]));
    expect(messages).toHaveLength(2);
    expect(error).toBeInstanceOf(ConnectionClosed);
    expect((error as ConnectionClosed).code).toBe(1006);
  });

  test('an oversized message closes with 1009, seen by the ws peer and reported locally', async () => {
    let done!: (value: { messages: unknown[]; error: unknown }) => void;
    const outcome = new Promise<{ messages: unknown[]; error: unknown }>((resolve) => (done = resolve));
    server = await startOurServer('upgrade', async (ws) => done(await drain(ws)), { maxMessageSize: 1024 });
    const client = await openWs(server.url);
    const closed = wsClosed(client);
    client.send('small');
    client.send(Buffer.alloc(2048));
    expect((await closed).code).toBe(1009);
    const { messages, error } = await outcome;
    expect(messages).toEqual(['small']);
    expect((error as ConnectionClosed).code).toBe(1009);
  });

  test('our Client closes with 1009 when a ws server sends too much', async () => {
    const ws = await startWsServer();
    const serverSaw = new Promise<number>((resolve) =>
      ws.wss.on('connection', (peer: WebSocket) => {
        peer.on('close', (code: number) => resolve(code));
        peer.send(Buffer.alloc(4096));
      }),
    );
    try {
      const client = await Client.connect(ws.url, { maxMessageSize: 1000 });
      const error = await client.receive().catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 1009 });
      expect(await serverSaw).toBe(1009);
      await client.close();
    } finally {
      await ws.close();
    }
  });

  test('pingInterval pings a live ws peer, which stays connected', async () => {
    server = await startOurServer('raw', async () => {}, { pingInterval: 60 });
    const client = await openWs(server.url);
    let pings = 0;
    client.on('ping', () => pings++);
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(pings).toBeGreaterThanOrEqual(3);
    expect(server.accepted[0].connected).toBe(true);
    client.terminate();
  });

  test('a peer that completes the handshake then never answers pings is dropped', async () => {
    let done!: (value: { messages: unknown[]; error: unknown }) => void;
    const outcome = new Promise<{ messages: unknown[]; error: unknown }>((resolve) => (done = resolve));
    server = await startOurServer('raw', async (ws) => done(await drain(ws)), { pingInterval: 100 });
    const peer = await rawConnect(server.port);
    peer.socket.write(handshakeRequest());
    const started = Date.now();
    await peer.closed;
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(150);
    expect(elapsed).toBeLessThan(2000);
    // It got the 101 and at least one ping frame (0x89, unmasked, empty).
    const bytes = peer.received();
    const head = bytes.indexOf('\r\n\r\n');
    expect(bytes.subarray(head + 4, head + 6)).toEqual(Buffer.from([0x89, 0x00]));
    const { error } = await outcome;
    expect(error).toMatchObject({ code: 1006 });
  });

  test('a half-sent handshake is dropped after handshakeTimeout', async () => {
    server = await startOurServer('raw', async () => {}, { handshakeTimeout: 200 });
    const peer = await rawConnect(server.port);
    peer.socket.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: webs');
    const started = Date.now();
    await peer.closed;
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    await until(() => server!.failures.length === 1);
    expect(server.failures[0]).toBeInstanceOf(ConnectionError);
    expect(server.failures[0]).toMatchObject({ code: 'WS_HANDSHAKE_TIMEOUT' });
  });

  test.each([
    ['raw', 'a request without Sec-WebSocket-Key', 'GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n', 400],
    ['raw', 'a request for another WebSocket version', handshakeRequest('/').replace('Version: 13', 'Version: 8'), 426],
    ['upgrade', 'a request without Sec-WebSocket-Key', 'GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n', 400],
    ['upgrade', 'a request for another WebSocket version', handshakeRequest('/').replace('Version: 13', 'Version: 8'), 426],
  ] as const)('%s form: %s is answered with its status on the wire, accept() rejects and the socket closes', async (form, _name, request, status) => {
    server = await startOurServer(form, async () => {});
    const peer = await rawConnect(server.port);
    peer.socket.write(request);
    await peer.closed;
    expect(peer.received().toString('latin1')).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
    await until(() => server!.failures.length === 1);
    expect(server.failures[0]).toBeInstanceOf(ConnectionError);
    expect(server.failures[0]).toMatchObject({ statusCode: status, code: 'WS_HANDSHAKE_INVALID' });
  });

  test('frames that arrive with the upgrade request (head) are not lost', async () => {
    let got!: (value: unknown) => void;
    const first = new Promise<unknown>((resolve) => (got = resolve));
    server = await startOurServer('upgrade', async (ws) => got(await ws.receive()));
    const peer = await rawConnect(server.port);
    peer.socket.write(Buffer.concat([Buffer.from(handshakeRequest('/x')), clientFrame(1, text('in the head'))]));
    expect(await first).toBe('in the head');
    peer.socket.destroy();
  });

  test('close() against a peer that never answers gives up after closeTimeout with 1006', async () => {
    let closedAfter!: (value: { ms: number; ws: Server }) => void;
    const outcome = new Promise<{ ms: number; ws: Server }>((resolve) => (closedAfter = resolve));
    server = await startOurServer('raw', async (ws) => {
      const started = Date.now();
      await ws.close(1000, 'going');
      closedAfter({ ms: Date.now() - started, ws });
    }, { closeTimeout: 200 });
    const peer = await rawConnect(server.port);
    peer.socket.write(handshakeRequest());
    const { ms, ws } = await outcome;
    expect(ms).toBeGreaterThanOrEqual(150);
    expect(ms).toBeLessThan(2000);
    expect(ws.closeCode).toBe(1006);
    expect(ws.socket.destroyed).toBe(true);
    await peer.closed;
    // The peer got our close frame: 0x88, length 7, code 1000, "going".
    const bytes = peer.received();
    const head = bytes.indexOf('\r\n\r\n');
    expect(bytes.subarray(head + 4)).toEqual(Buffer.from([0x88, 0x07, 0x03, 0xe8, ...text('going')]));
  });

  test('close() checks codes and reasons like the WebSocket API, synchronously', async () => {
    let done!: (value: unknown[]) => void;
    const results = new Promise<unknown[]>((resolve) => (done = resolve));
    server = await startOurServer('raw', async (ws) => {
      const errors: unknown[] = [];
      for (const [code, reason] of [[1001, ''], [1011, ''], [2999, ''], [5000, ''], [1000.5, ''], [1000, 'é'.repeat(62)]] as const) {
        try {
          void ws.close(code, reason);
          errors.push(null);
        } catch (error) {
          errors.push(error);
        }
      }
      expect(ws.connected).toBe(true);
      await ws.closeWithStatus(1011, 'x'.repeat(123));
      done(errors);
    });
    const client = await openWs(server.url);
    const closed = wsClosed(client);
    const errors = await results;
    for (const error of errors) expect(error).toBeInstanceOf(InvalidCloseError);
    expect(errors.map((e) => (e as InvalidCloseError).code)).toEqual([
      'WS_INVALID_CLOSE_CODE',
      'WS_INVALID_CLOSE_CODE',
      'WS_INVALID_CLOSE_CODE',
      'WS_INVALID_CLOSE_CODE',
      'WS_INVALID_CLOSE_CODE',
      'WS_CLOSE_REASON_TOO_LONG',
    ]);
    expect(await closed).toEqual({ code: 1011, reason: 'x'.repeat(123) });
  });
});

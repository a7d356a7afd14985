/**
 * What the public API does with input plain JavaScript can pass (issue 16,
 * item 3): a typed error before anything changes, and the connection works
 * on as if the call had not been made. On real sockets, with a `ws` peer
 * that records every frame it gets.
 */
import * as net from 'node:net';
import type { WebSocket } from 'ws';
import { ConnectionError, InvalidCloseError, Server } from '../src';
import { handshakeRequest, openWs, startOurServer, until, wsClosed, type OurServer } from './helpers';

/** A connection in the server role, the ws client at the other end, and what that client received. */
async function connected(): Promise<{ server: OurServer; ws: Server; peer: WebSocket; got: unknown[] }> {
  let accepted!: (ws: Server) => void;
  const serverWs = new Promise<Server>((resolve) => (accepted = resolve));
  const server = await startOurServer('raw', (ws) => accepted(ws));
  const peer = await openWs(server.url);
  const got: unknown[] = [];
  peer.on('message', (data: Buffer, isBinary: boolean) => got.push(isBinary ? [...data] : data.toString()));
  peer.on('ping', (data: Buffer) => got.push({ ping: data.toString() }));
  return { server, ws: await serverWs, peer, got };
}

/** A promise's outcome within `ms`: its error, 'resolved', or 'pending' (a hang). */
async function outcome(promise: Promise<unknown>, ms = 500): Promise<unknown> {
  return Promise.race([
    promise.then(() => 'resolved', (error: unknown) => error),
    new Promise((resolve) => setTimeout(() => resolve('pending'), ms)),
  ]);
}

const bad = (value: unknown): never => value as never;

describe('input checks on the public API', () => {
  let server: OurServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  test('send() and ping() reject what they cannot send with TypeError, send nothing, and the connection works on', async () => {
    const c = await connected();
    server = c.server;
    for (const value of [123, null, undefined, { length: 3 }, [1, 2, 3], new ArrayBuffer(3), true]) {
      const error = await outcome(c.ws.send(bad(value)));
      expect(error).toBeInstanceOf(TypeError);
      expect((error as Error).message).toMatch(/^send\(\) takes a string or a Uint8Array/);
    }
    for (const value of ['abc', 5, [1], { length: 1 }]) {
      const error = await outcome(c.ws.ping(bad(value)));
      expect(error).toBeInstanceOf(TypeError);
    }
    expect(c.ws.connected).toBe(true);
    await c.ws.send('after');
    await c.ws.send(new Uint8Array([1, 2]));
    await c.ws.ping(new Uint8Array([0x68, 0x69]));
    await until(() => c.got.length === 3, 5000, 'three frames');
    // Nothing from the refused calls reached the peer.
    expect(c.got).toEqual(['after', [1, 2], { ping: 'hi' }]);
    c.peer.terminate();
  });

  test('receive() rejects options it cannot take at once, instead of waiting forever or returning early', async () => {
    const c = await connected();
    server = c.server;
    const cases: Array<[unknown, typeof TypeError]> = [
      [5000, TypeError],
      ['5000', TypeError],
      [null, TypeError],
      [{ timeout: '100' }, TypeError],
      [{ timeout: NaN }, TypeError],
      [{ timeout: -1 }, RangeError],
      [{ timeout: 2 ** 31 }, RangeError], // a Node timer would fire after 1 ms
    ];
    for (const [options, type] of cases) {
      const error = await outcome(c.ws.receive(bad(options)));
      expect(error).toBeInstanceOf(type);
    }
    // The connection is unchanged: a message still arrives, and Infinity waits for it.
    const next = c.ws.receive({ timeout: Infinity });
    c.peer.send('hello');
    expect(await next).toBe('hello');
    c.peer.terminate();
  });

  test('close() and closeWithStatus() throw TypeError for a code or reason of the wrong type, before the state moves', async () => {
    const c = await connected();
    server = c.server;
    const closed = wsClosed(c.peer);
    const calls: Array<() => unknown> = [
      () => c.ws.close(1000, bad(123)),
      () => c.ws.close(bad('1000')),
      () => c.ws.close(1000, bad({})),
      () => c.ws.close(1000, bad(null)),
      () => c.ws.closeWithStatus(1011, bad(Buffer.from('x'))),
      () => c.ws.closeWithStatus(bad(null)),
    ];
    for (const call of calls) expect(call).toThrow(TypeError);
    expect(() => c.ws.close(1005)).toThrow(InvalidCloseError);
    expect(c.ws.connected).toBe(true);
    // The connection works on, and a good close runs the whole handshake.
    await c.ws.send('still open');
    await until(() => c.got.length === 1, 5000, 'the message');
    await c.ws.close(4000, 'done');
    expect(await closed).toEqual({ code: 4000, reason: 'done' });
    expect(c.ws.closeCode).toBe(4000);
    // A second close() resolves at once: nothing hangs.
    expect(await outcome(c.ws.close())).toBe('resolved');
  });
});

test('Server.accept with options it cannot take rejects with WS_INVALID_OPTIONS and closes the socket it was given', async () => {
  let outcome!: (error: unknown) => void;
  const failed = new Promise<unknown>((resolve) => (outcome = resolve));
  const listener = net.createServer((socket) => {
    Server.accept(socket, { perMessageDeflate: { serverMaxWindowBits: 16 } }).then(() => outcome('accepted'), outcome);
  });
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  try {
    const peer = net.connect((listener.address() as net.AddressInfo).port, '127.0.0.1');
    peer.on('error', () => {});
    const closed = new Promise<void>((resolve) => peer.once('close', () => resolve()));
    peer.write(handshakeRequest());
    const error = await failed;
    expect(error).toBeInstanceOf(ConnectionError);
    expect(error).toMatchObject({ code: 'WS_INVALID_OPTIONS' });
    expect((error as Error).message).toMatch(/serverMaxWindowBits/);
    await closed;
  } finally {
    await new Promise<void>((resolve) => listener.close(() => resolve()));
  }
});

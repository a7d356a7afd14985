/**
 * How `Client.connect` fails (issue 16, items 2 and 4): every failure is the
 * documented rejection, never a throw; bad options are found before any
 * socket is opened or timer armed; a refusal reports its status and headers
 * as soon as its head arrives, whatever its body does.
 */
import * as net from 'node:net';
import { Client, ConnectionError, type ClientOptions } from '../src';
import { startHandServer, type Closable } from './helpers';

/** Sockets and timers this process holds, by kind. */
function resources(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) counts[kind] = (counts[kind] ?? 0) + 1;
  return counts;
}

describe('Client.connect failures', () => {
  const closables: Closable[] = [];
  afterEach(async () => {
    for (const c of closables.splice(0)) await c.close();
  });

  /** A listener that counts connections and drops them at once. */
  async function countingServer(): Promise<{ url: string; connections: () => number } & Closable> {
    let connections = 0;
    const server = net.createServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    const closable = { close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
    closables.push(closable);
    return { url: `ws://127.0.0.1:${port}`, connections: () => connections, ...closable };
  }

  test.each<[string, unknown]>([
    ['a header value with CR/LF', { headers: { 'X-Token': 'a\r\nX-Injected: 1' } }],
    ['a header name that is not a token', { headers: [['Bad Name', 'v']] }],
    ['a header value that is not a string', { headers: { 'X-Count': 5 } }],
    ['an origin with a line feed', { origin: 'https://a.example\nX: 1' }],
    ['an origin that is not a string', { origin: 42 }],
    ['a subprotocol that is not a token', { subprotocols: ['a b'] }],
    ['subprotocols that are not a list', { subprotocols: 'chat' }],
    ['clientMaxWindowBits 20', { perMessageDeflate: { clientMaxWindowBits: 20 } }],
    ['serverMaxWindowBits 8', { perMessageDeflate: { serverMaxWindowBits: 8 } }],
    ['a deflate level of 10', { perMessageDeflate: { level: 10 } }],
    ['a handshakeTimeout that is not a number', { handshakeTimeout: '10s' }],
    ['a closeTimeout past what a timer takes', { closeTimeout: 2 ** 31 }],
    ['a negative pingInterval', { pingInterval: -1 }],
    ['maxMessageSize 0', { maxMessageSize: 0 }],
    ['tls options that are not an object', { tls: 'insecure' }],
    ['options that are not an object', 'fast'],
  ])('%s: rejects with ConnectionError WS_INVALID_OPTIONS and opens nothing', async (_name, options) => {
    const server = await countingServer();
    const before = resources();
    let promise!: Promise<Client>;
    // Never a throw, whatever the options.
    expect(() => (promise = Client.connect(server.url, options as ClientOptions))).not.toThrow();
    const error = await promise.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    expect(error).toMatchObject({ code: 'WS_INVALID_OPTIONS' });
    expect((error as Error).cause).toBeInstanceOf(Error);
    // No socket was opened, no timer armed.
    expect(resources()).toEqual(before);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(server.connections()).toBe(0);
  });

  test.each<[string, string]>([
    ['a scheme that is not ws', 'ftp://127.0.0.1/'],
    ['a fragment', 'ws://127.0.0.1:1/#x'],
    ['port 0', 'ws://127.0.0.1:0/'],
    ['no URL at all', 'not a url'],
  ])('%s: rejects with WS_INVALID_URL', async (_name, url) => {
    await expect(Client.connect(url)).rejects.toMatchObject({ name: 'ConnectionError', code: 'WS_INVALID_URL' });
  });

  test('bad options against a silent server: the process sees no unhandled rejection later', async () => {
    // A server that accepts and never answers: before issue 16 the handshake
    // timer was armed and its rejection later went unhandled.
    const server = await startHandServer(() => {});
    closables.push(server);
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => {
      unhandled.push(reason);
    };
    process.on('unhandledRejection', onUnhandled);
    try {
      await expect(Client.connect(server.url, { handshakeTimeout: 100, headers: { X: 'a\nb' } })).rejects.toMatchObject({ code: 'WS_INVALID_OPTIONS' });
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(unhandled).toEqual([]);
      expect(server.requests).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  test('a refusal whose chunked body never ends rejects at once with its status and headers', async () => {
    let serverClosed!: () => void;
    const closed = new Promise<void>((resolve) => (serverClosed = resolve));
    const server = await startHandServer((socket) => {
      socket.write('HTTP/1.1 403 Forbidden\r\nTransfer-Encoding: chunked\r\nRetry-After: 7\r\nContent-Type: text/plain\r\n\r\n6\r\nnot yo\r\n');
      // A body that never ends: a chunk every 20 ms, for as long as the socket lives.
      const drip = setInterval(() => socket.write('2\r\nu \r\n'), 20);
      socket.once('close', () => {
        clearInterval(drip);
        serverClosed();
      });
    });
    closables.push(server);
    const started = Date.now();
    const error = await Client.connect(server.url, { handshakeTimeout: 5000 }).catch((e: unknown) => e);
    const elapsed = Date.now() - started;
    expect(error).toBeInstanceOf(ConnectionError);
    expect(error).toMatchObject({ code: 'WS_HANDSHAKE_REJECTED', statusCode: 403 });
    expect((error as ConnectionError).headers).toEqual(expect.arrayContaining([['retry-after', '7']]));
    expect((error as Error).message).toMatch(/HTTP 403: not yo/);
    expect(elapsed).toBeLessThan(2000);
    // The client stopped reading the body and closed the connection.
    await closed;
  });

  test('a refusal streaming an endless body fast: the status comes at once, the body read is bounded', async () => {
    const server = await startHandServer((socket) => {
      socket.write('HTTP/1.1 503 Service Unavailable\r\nTransfer-Encoding: chunked\r\n\r\n');
      const chunk = `4000\r\n${'z'.repeat(0x4000)}\r\n`;
      const pump = (): void => {
        while (!socket.destroyed && socket.write(chunk));
        if (!socket.destroyed) socket.once('drain', pump);
      };
      pump();
    });
    closables.push(server);
    const started = Date.now();
    const error = await Client.connect(server.url, { handshakeTimeout: 5000 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'WS_HANDSHAKE_REJECTED', statusCode: 503 });
    expect(Date.now() - started).toBeLessThan(2000);
    // At most 1 KiB of the body goes into the message.
    expect((error as Error).message.length).toBeLessThan(1200);
  });

  test('a refusal with a complete body keeps the body in the message', async () => {
    const server = await startHandServer((socket) => {
      socket.end('HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer\r\nContent-Length: 13\r\n\r\ntoken expired');
    });
    closables.push(server);
    const error = await Client.connect(server.url).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'WS_HANDSHAKE_REJECTED', statusCode: 401 });
    expect((error as Error).message).toMatch(/HTTP 401: token expired$/);
    expect((error as ConnectionError).headers).toEqual(expect.arrayContaining([['www-authenticate', 'Bearer']]));
  });
});

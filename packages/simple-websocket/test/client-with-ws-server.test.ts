/**
 * Our Client against a `ws` server on real sockets, with and without
 * permessage-deflate.
 */
import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import { Client, ConnectionClosed, ConnectionError } from '../src';
import { randomPayload, startWsServer } from './helpers';

type WsServer = Awaited<ReturnType<typeof startWsServer>>;

describe.each([false, true])('Client.connect with a ws server (permessage-deflate %s)', (deflate) => {
  let server: WsServer | undefined;
  let client: Client | undefined;
  afterEach(async () => {
    client?.socket.destroy();
    client = undefined;
    await server?.close();
    server = undefined;
  });

  async function echoServer(): Promise<WsServer> {
    const s = await startWsServer({ perMessageDeflate: deflate });
    s.wss.on('connection', (peer: WebSocket) => {
      peer.on('message', (data: Buffer, isBinary: boolean) => peer.send(isBinary ? data : data.toString('utf8')));
    });
    return s;
  }

  test('sends and receives text, binary, empty and 16 MiB messages with their types', async () => {
    server = await echoServer();
    client = await Client.connect(server.url, { perMessageDeflate: deflate });
    const big = randomPayload(16 * 1024 * 1024);
    await Promise.all([
      client.send('héllo ✓'),
      client.send(new Uint8Array([9, 8, 7])),
      client.send(''),
      client.send(new Uint8Array(0)),
      client.send(big),
    ]);
    expect(await client.receive()).toBe('héllo ✓');
    expect(Buffer.from((await client.receive()) as Uint8Array)).toEqual(Buffer.from([9, 8, 7]));
    expect(await client.receive()).toBe('');
    const empty = await client.receive();
    expect(empty).toBeInstanceOf(Uint8Array);
    expect((empty as Uint8Array).byteLength).toBe(0);
    const echoed = (await client.receive()) as Uint8Array;
    expect(echoed).toBeInstanceOf(Uint8Array);
    expect(Buffer.from(echoed.buffer, echoed.byteOffset, echoed.byteLength).equals(big)).toBe(true);
  });

  test('1,000 messages sent before the first receive arrive in order', async () => {
    server = await startWsServer({ perMessageDeflate: deflate });
    server.wss.on('connection', (peer: WebSocket) => {
      for (let i = 0; i < 1000; i++) peer.send(`n${i}`);
    });
    client = await Client.connect(server.url, { perMessageDeflate: deflate });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const got: unknown[] = [];
    for (let i = 0; i < 1000; i++) got.push(await client.receive());
    expect(got).toEqual(Array.from({ length: 1000 }, (_, i) => `n${i}`));
  });

  test('offers subprotocols, sends headers and the path', async () => {
    server = await startWsServer({
      perMessageDeflate: deflate,
      handleProtocols: (protocols) => (protocols.has('v2') ? 'v2' : false),
    });
    const seen = new Promise<IncomingMessage>((resolve) =>
      server!.wss.on('connection', (_peer: WebSocket, req: IncomingMessage) => resolve(req)),
    );
    client = await Client.connect(`${server.url}/feed?since=5`, {
      subprotocols: ['v1', 'v2'],
      headers: { Authorization: 'Bearer t0k3n' },
      origin: 'http://example.test',
      perMessageDeflate: deflate,
    });
    const req = await seen;
    expect(client.subprotocol).toBe('v2');
    expect(req.url).toBe('/feed?since=5');
    expect(req.headers.authorization).toBe('Bearer t0k3n');
    expect(req.headers.origin).toBe('http://example.test');
    expect(req.headers['sec-websocket-extensions'] !== undefined).toBe(deflate);
  });

  test('a server-initiated close ends receive() with its code and reason after earlier messages', async () => {
    server = await startWsServer({ perMessageDeflate: deflate });
    server.wss.on('connection', (peer: WebSocket) => {
      peer.send('last words');
      peer.close(4003, 'server closing');
    });
    client = await Client.connect(server.url, { perMessageDeflate: deflate });
    expect(await client.receive()).toBe('last words');
    const error = await client.receive().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionClosed);
    expect(error).toMatchObject({ code: 4003, reason: 'server closing' });
    expect(client.connected).toBe(false);
    await expect(client.send('x')).rejects.toBeInstanceOf(ConnectionClosed);
  });

  test('a client-initiated close reaches the server and close() resolves after the handshake', async () => {
    server = await startWsServer({ perMessageDeflate: deflate });
    const serverSaw = new Promise<{ code: number; reason: string }>((resolve) =>
      server!.wss.on('connection', (peer: WebSocket) =>
        peer.on('close', (code: number, reason: Buffer) => resolve({ code, reason: reason.toString() })),
      ),
    );
    client = await Client.connect(server.url, { perMessageDeflate: deflate });
    await client.close(3999, 'client leaving');
    expect(await serverSaw).toEqual({ code: 3999, reason: 'client leaving' });
    expect(client.closeCode).toBe(3999);
    expect(client.socket.destroyed).toBe(true);
    await client.close(); // idempotent
  });
});

describe('Client pings', () => {
  test('ping(payload) reaches the ws server, which pongs', async () => {
    const server = await startWsServer();
    const pinged = new Promise<Buffer>((resolve) =>
      server.wss.on('connection', (peer: WebSocket) => peer.on('ping', (data: Buffer) => resolve(data))),
    );
    try {
      const client = await Client.connect(server.url);
      await client.ping(new Uint8Array([1, 2, 3]));
      expect(await pinged).toEqual(Buffer.from([1, 2, 3]));
      await expect(client.ping(new Uint8Array(126))).rejects.toThrow();
      expect(client.connected).toBe(true);
      await client.close();
    } finally {
      await server.close();
    }
  });
});

describe('Client.connect refusals', () => {
  test('a 403 from verifyClient rejects with ConnectionError statusCode 403', async () => {
    const server = await startWsServer({
      verifyClient: (_info, callback: (ok: boolean, code?: number, message?: string) => void) =>
        callback(false, 403, 'Forbidden'),
    });
    try {
      const error = await Client.connect(server.url).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConnectionError);
      expect(error).toMatchObject({ statusCode: 403, code: 'WS_HANDSHAKE_REJECTED' });
    } finally {
      await server.close();
    }
  });

  test('a refused TCP connection rejects with WS_CONNECT_FAILED', async () => {
    const server = await startWsServer();
    const port = server.port;
    await server.close();
    const error = await Client.connect(`ws://127.0.0.1:${port}`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    expect(error).toMatchObject({ code: 'WS_CONNECT_FAILED' });
  });

  test('a URL that is not ws/wss rejects with WS_INVALID_URL', async () => {
    await expect(Client.connect('ftp://127.0.0.1/')).rejects.toMatchObject({ code: 'WS_INVALID_URL' });
    await expect(Client.connect('not a url')).rejects.toMatchObject({ code: 'WS_INVALID_URL' });
  });
});

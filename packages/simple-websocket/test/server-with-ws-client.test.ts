/**
 * Our Server (both accept forms, with and without permessage-deflate)
 * against a `ws` client on real sockets.
 */
import { WebSocket } from 'ws';
import { ConnectionClosed, type Server } from '../src';
import { openWs, randomPayload, startOurServer, until, wsClosed, wsMessages, type AcceptForm, type OurServer } from './helpers';

async function echo(ws: Server): Promise<void> {
  for await (const message of ws) await ws.send(message);
}

describe.each([
  ['raw', false],
  ['raw', true],
  ['upgrade', false],
  ['upgrade', true],
] as Array<[AcceptForm, boolean]>)('Server.accept (%s form, permessage-deflate %s) with a ws client', (form, deflate) => {
  let server: OurServer | undefined;
  let client: WebSocket | undefined;
  afterEach(async () => {
    client?.terminate();
    client = undefined;
    await server?.close();
    server = undefined;
  });

  test('echoes text, binary, empty and 16 MiB messages with their types', async () => {
    const seen: Array<string | Uint8Array> = [];
    server = await startOurServer(form, async (ws) => {
      for await (const message of ws) {
        seen.push(message);
        await ws.send(message);
      }
    }, { perMessageDeflate: deflate });
    client = await openWs(server.url, undefined, { perMessageDeflate: deflate });
    expect(client.extensions).toBe(deflate ? 'permessage-deflate' : '');
    const big = randomPayload(16 * 1024 * 1024);
    const replies = wsMessages(client, 5);
    client.send('héllo wörld ✓');
    client.send(Buffer.from([0, 1, 2, 255]));
    client.send('');
    client.send(Buffer.alloc(0));
    client.send(big);
    const got = await replies;
    expect(got[0]).toBe('héllo wörld ✓');
    expect(got[1]).toEqual(Buffer.from([0, 1, 2, 255]));
    expect(got[2]).toBe('');
    expect(Buffer.isBuffer(got[3]) && got[3].length === 0).toBe(true);
    expect(Buffer.isBuffer(got[4])).toBe(true);
    expect((got[4] as Buffer).equals(big)).toBe(true);
    expect(typeof seen[0]).toBe('string');
    expect(seen[1]).toBeInstanceOf(Uint8Array);
    expect(seen[3]).toBeInstanceOf(Uint8Array);
    expect((seen[4] as Uint8Array).byteLength).toBe(big.length);
  });

  test('a large payload is not copied, yet reusing it after send() resolves cannot change what was sent', async () => {
    // 4 MiB outruns the socket buffer, so the bytes are still queued when send() returns.
    const payload = randomPayload(4 * 1024 * 1024);
    const original = Buffer.from(payload);
    server = await startOurServer(form, async (ws) => {
      await ws.receive();
      await ws.send(payload);
      payload.fill(0xee);
      await ws.send('after');
      await ws.receive({ timeout: 10000 });
    }, { perMessageDeflate: deflate });
    client = await openWs(server.url, undefined, { perMessageDeflate: deflate });
    const replies = wsMessages(client, 2);
    client.send('go');
    const got = await replies;
    expect((got[0] as Buffer).equals(original)).toBe(true);
    expect(got[1]).toBe('after');
  });

  test('concurrent sends of mixed sizes and types go out whole and in call order', async () => {
    const sizes = [0, 1, 125, 126, 16383, 16384, 16385, 65536, 200000, 3];
    const outgoing: Array<string | Buffer> = [];
    for (let round = 0; round < 5; round++) {
      for (const size of sizes) outgoing.push(randomPayload(size), `t${round}-${size}`);
    }
    // Long text too: over 16 Ki units it is framed as parts, over 21,845 encoded first.
    outgoing.push('ü'.repeat(20000), 'x'.repeat(70000), 'end');
    server = await startOurServer(form, async (ws) => {
      await ws.receive();
      await Promise.all(outgoing.map((message) => ws.send(message)));
      await ws.receive({ timeout: 10000 });
    }, { perMessageDeflate: deflate });
    client = await openWs(server.url, undefined, { perMessageDeflate: deflate });
    const replies = wsMessages(client, outgoing.length);
    client.send('go');
    const got = await replies;
    got.forEach((message, i) => {
      const want = outgoing[i];
      if (typeof want === 'string') expect(message).toBe(want);
      else expect(Buffer.isBuffer(message) && message.equals(want)).toBe(true);
    });
  });

  test('delivers 1,000 messages sent before the first receive, in order', async () => {
    const received: string[] = [];
    let done!: () => void;
    const finished = new Promise<void>((resolve) => (done = resolve));
    server = await startOurServer(form, async (ws) => {
      await until(() => ws.queuedMessages > 0);
      await new Promise((resolve) => setTimeout(resolve, 100));
      for (let i = 0; i < 1000; i++) received.push((await ws.receive()) as string);
      done();
    }, { perMessageDeflate: deflate });
    client = await openWs(server.url, undefined, { perMessageDeflate: deflate });
    for (let i = 0; i < 1000; i++) client.send(`message ${i}`);
    await finished;
    expect(received).toEqual(Array.from({ length: 1000 }, (_, i) => `message ${i}`));
  });

  test('picks the first of its own subprotocols the client offered and keeps the request path', async () => {
    server = await startOurServer(form, echo, { subprotocols: ['chat.v2', 'chat.v1'], perMessageDeflate: deflate });
    client = await openWs(`${server.url}/rooms/7?user=ann`, ['chat.v1', 'chat.v2'], {
      headers: { 'X-Token': 'abc', 'X-Empty': '', 'X-Spaced': 'a  b' },
      perMessageDeflate: deflate,
    });
    expect(client.protocol).toBe('chat.v2');
    await until(() => server!.accepted.length === 1);
    const ws = server.accepted[0];
    expect(ws.subprotocol).toBe('chat.v2');
    expect(ws.request.path).toBe('/rooms/7?user=ann');
    expect(ws.request.host).toBe(new URL(server.url).host);
    expect(ws.request.subprotocols).toEqual(['chat.v1', 'chat.v2']);
    expect(ws.request.headers).toContainEqual(['x-token', 'abc']);
    expect(ws.request.headers).toContainEqual(['x-empty', '']);
    expect(ws.request.headers).toContainEqual(['x-spaced', 'a  b']);
    expect(ws.request.headers).toContainEqual(['sec-websocket-version', '13']);
    expect(ws.request.headers.every(([name]) => name === name.toLowerCase())).toBe(true);
    expect(ws.connected).toBe(true);
  });

  test('a server-initiated close reaches the client with its code and reason', async () => {
    let closed!: (ws: Server) => void;
    const serverDone = new Promise<Server>((resolve) => (closed = resolve));
    server = await startOurServer(form, async (ws) => {
      // Wait for the client's word so its message listener is surely attached.
      expect(await ws.receive()).toBe('ready');
      await ws.send('bye soon');
      await ws.close(4001, 'server says bye');
      closed(ws);
    }, { perMessageDeflate: deflate });
    client = await openWs(server.url, undefined, { perMessageDeflate: deflate });
    const messages = wsMessages(client, 1);
    const clientSaw = wsClosed(client);
    client.send('ready');
    expect(await messages).toEqual(['bye soon']);
    expect(await clientSaw).toEqual({ code: 4001, reason: 'server says bye' });
    const ws = await serverDone;
    expect(ws.connected).toBe(false);
    expect(ws.closeCode).toBe(4001);
    expect(ws.closeReason).toBe('server says bye');
    await expect(ws.send('late')).rejects.toBeInstanceOf(ConnectionClosed);
  });

  test('a client-initiated close is echoed and ends receive() with ConnectionClosed after the messages', async () => {
    let result!: (value: { messages: unknown[]; error: unknown }) => void;
    const outcome = new Promise<{ messages: unknown[]; error: unknown }>((resolve) => (result = resolve));
    server = await startOurServer(form, async (ws) => {
      await until(() => ws.closeCode !== undefined);
      const messages: unknown[] = [];
      for (;;) {
        try {
          messages.push(await ws.receive());
        } catch (error) {
          result({ messages, error });
          return;
        }
      }
    }, { perMessageDeflate: deflate });
    client = await openWs(server.url, undefined, { perMessageDeflate: deflate });
    const clientSaw = wsClosed(client);
    client.send('one');
    client.send('two');
    client.close(4002, 'client done');
    const { messages, error } = await outcome;
    expect(messages).toEqual(['one', 'two']);
    expect(error).toBeInstanceOf(ConnectionClosed);
    expect((error as ConnectionClosed).code).toBe(4002);
    expect((error as ConnectionClosed).reason).toBe('client done');
    expect(await clientSaw).toEqual({ code: 4002, reason: 'client done' });
  });
});

describe('Server.accept with a ws client: iteration and options', () => {
  let server: OurServer | undefined;
  let client: WebSocket | undefined;
  afterEach(async () => {
    client?.terminate();
    await server?.close();
    server = undefined;
    client = undefined;
  });

  test('for await ends quietly on a 1000 close and the handler can finish', async () => {
    let ended!: (n: number) => void;
    const count = new Promise<number>((resolve) => (ended = resolve));
    server = await startOurServer('raw', async (ws) => {
      let n = 0;
      for await (const _message of ws) n++;
      ended(n);
    });
    client = await openWs(server.url);
    client.send('a');
    client.send('b');
    client.close(1000);
    expect(await count).toBe(2);
  });

  test('for await throws ConnectionClosed on an abnormal close code', async () => {
    let failed!: (error: unknown) => void;
    const thrown = new Promise<unknown>((resolve) => (failed = resolve));
    server = await startOurServer('raw', async (ws) => {
      try {
        for await (const _message of ws) {
          /* drain */
        }
        failed(null);
      } catch (error) {
        failed(error);
      }
    });
    client = await openWs(server.url);
    client.close(4500, 'app error');
    const error = await thrown;
    expect(error).toBeInstanceOf(ConnectionClosed);
    expect((error as ConnectionClosed).code).toBe(4500);
  });

  test('selectSubprotocol overrides the choice; a name not offered counts as none', async () => {
    server = await startOurServer('upgrade', echo, {
      subprotocols: ['a'],
      selectSubprotocol: (offered) => offered[offered.length - 1],
    });
    client = await openWs(server.url, ['a', 'b', 'c']);
    expect(client.protocol).toBe('c');
    client.terminate();
    await server.close();
    server = await startOurServer('upgrade', echo, { selectSubprotocol: () => 'zzz' });
    // ws refuses a 101 without the subprotocol it asked for; our side chose none.
    await expect(openWs(server.url, ['a'])).rejects.toThrow(/subprotocol/);
    await until(() => server!.accepted.length === 1);
    expect(server.accepted[0].subprotocol).toBeNull();
  });

  test('receive({ timeout }) resolves undefined when nothing arrives', async () => {
    let got!: (value: unknown[]) => void;
    const results = new Promise<unknown[]>((resolve) => (got = resolve));
    server = await startOurServer('raw', async (ws) => {
      const started = Date.now();
      const first = await ws.receive({ timeout: 50 });
      const waited = Date.now() - started;
      const polled = await ws.receive({ timeout: 0 });
      await ws.send('ready');
      const second = await ws.receive({ timeout: 5000 });
      got([first, waited, polled, second]);
    });
    client = await openWs(server.url);
    client.on('message', () => client!.send('now'));
    const [first, waited, polled, second] = await results;
    expect(first).toBeUndefined();
    expect(waited).toBeGreaterThanOrEqual(45);
    expect(polled).toBeUndefined();
    expect(second).toBe('now');
  });
});

/**
 * Topics on real sockets: subscribe, publish to every member at once (text
 * and binary kept apart, `except`, `ws.publish` leaving out the sender),
 * membership ending with the connection, one encode shared by members with
 * and without permessage-deflate, and the slow-consumer policy: a member
 * that stops reading is closed (1013) or skipped, and never holds up the
 * others.
 */
import * as net from 'node:net';
import type { WebSocket } from 'ws';
import { Topics, type Server, type ServerOptions, type SlowConsumerEvent } from '../src';
import { handshakeRequest, openWs, startOurServer, until, wsClosed, wsMessages, type OurServer } from './helpers';

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('topics', () => {
  let server: OurServer | undefined;
  const clients: WebSocket[] = [];
  const raw: net.Socket[] = [];
  afterEach(async () => {
    for (const client of clients.splice(0)) client.terminate();
    for (const socket of raw.splice(0)) socket.destroy();
    await server?.close();
    server = undefined;
  });

  /** A server whose connections subscribe to the topics their path names (`/a,b`), then read until closed. */
  async function start(topics: Topics, options: ServerOptions = {}): Promise<OurServer> {
    server = await startOurServer(
      'upgrade',
      async (ws) => {
        for (const topic of ws.request.path.slice(1).split(',')) if (topic !== '') ws.subscribe(topic);
        try {
          for await (const message of ws) if (message === 'publish') ws.publish('room', 'from a member');
        } catch {
          // closed: nothing to do
        }
      },
      { ...options, topics },
    );
    return server;
  }

  async function join(path: string, options?: ConstructorParameters<typeof import('ws').WebSocket>[2]): Promise<WebSocket> {
    const client = await openWs(`${server!.url}${path}`, undefined, options);
    clients.push(client);
    return client;
  }

  test('a publish reaches every member of the topic once, text as text and bytes as bytes', async () => {
    const topics = new Topics();
    await start(topics);
    const a = await join('/room');
    const b = await join('/room,other');
    const outsider = await join('/other');
    await until(() => topics.subscriberCount('room') === 2 && topics.subscriberCount('other') === 2);
    const gotA = wsMessages(a, 2);
    const gotB = wsMessages(b, 2);
    let outsiderGot = 0;
    outsider.on('message', () => outsiderGot++);
    expect(topics.publish('room', 'hello')).toBe(2);
    expect(topics.publish('room', new Uint8Array([1, 2, 3]))).toBe(2);
    for (const got of [await gotA, await gotB]) {
      expect(got[0]).toBe('hello');
      expect(Buffer.isBuffer(got[1])).toBe(true);
      expect([...(got[1] as Buffer)]).toEqual([1, 2, 3]);
    }
    expect(topics.publish('nobody-here', 'x')).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(outsiderGot).toBe(0);
    expect(topics.stats()).toMatchObject({ topics: 2, subscriptions: 4, published: 3, delivered: 4, skipped: 0, droppedMembers: 0 });
  });

  test('except leaves one member out, and ws.publish leaves out the sender', async () => {
    const topics = new Topics();
    await start(topics);
    const a = await join('/room');
    const b = await join('/room');
    await until(() => server!.accepted.length === 2 && topics.subscriberCount('room') === 2);
    const [first, second] = server!.accepted;
    let aGot: unknown[] = [];
    a.on('message', (data: Buffer) => aGot.push(data.toString()));
    const bGot = wsMessages(b, 1);
    const aServer = serverSideOf(a, [first, second]);
    expect(topics.publish('room', 'not for a', { except: aServer })).toBe(1);
    expect(await bGot).toEqual(['not for a']);
    aGot = [];
    // b asks its server side to publish: a gets it, b does not.
    const bMessages: string[] = [];
    b.on('message', (data: Buffer) => bMessages.push(data.toString()));
    b.send('publish');
    await until(() => aGot.length === 1);
    expect(aGot).toEqual(['from a member']);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(bMessages).toEqual([]);
  });

  test('subscribe, unsubscribe and ws.topics; membership ends with the connection', async () => {
    const topics = new Topics();
    let member!: Server;
    server = await startOurServer('raw', (ws) => {
      member = ws;
    }, { topics });
    const client = await join('/');
    await until(() => member !== undefined);
    expect(member.subscribe('a')).toBe(true);
    expect(member.subscribe('a')).toBe(false);
    expect(member.subscribe('b')).toBe(true);
    expect([...member.topics]).toEqual(['a', 'b']);
    expect(member.isSubscribed('a')).toBe(true);
    expect(member.unsubscribe('a')).toBe(true);
    expect(member.unsubscribe('a')).toBe(false);
    expect([...member.topics]).toEqual(['b']);
    expect(() => member.subscribe('')).toThrow(TypeError);
    expect(() => topics.publish('b', 42 as unknown as string)).toThrow(TypeError);
    expect(topics.stats()).toMatchObject({ topics: 1, subscriptions: 1 });
    client.close();
    await until(() => topics.stats().subscriptions === 0, 5000, 'membership to end');
    expect(topics.subscriberCount('b')).toBe(0);
    expect([...member.topics]).toEqual([]);
    expect(member.subscribe('b')).toBe(false); // closed: nothing changes
    expect(topics.stats().topics).toBe(0);
  });

  test('members with and without permessage-deflate get the same message from one encode each', async () => {
    const topics = new Topics();
    await start(topics, { perMessageDeflate: true });
    const plain = await join('/room', { perMessageDeflate: false });
    const deflated = await join('/room', { perMessageDeflate: true });
    const deflated2 = await join('/room', { perMessageDeflate: true });
    await until(() => topics.subscriberCount('room') === 3);
    const big = 'a fairly compressible line of chat text; '.repeat(200);
    const got = [plain, deflated, deflated2].map((client) => wsMessages(client, 3));
    topics.publish('room', big);
    topics.publish('room', 'small');
    topics.publish('room', big.toUpperCase());
    for (const messages of await Promise.all(got)) expect(messages).toEqual([big, 'small', big.toUpperCase()]);
  });

  test('a deflate member that keeps its context still sends its own messages right after a publish', async () => {
    const topics = new Topics();
    server = await startOurServer(
      'raw',
      async (ws) => {
        ws.subscribe('room');
        for await (const message of ws) await ws.send(message); // echo, compressed with context
      },
      { topics, perMessageDeflate: true },
    );
    const client = await join('/', { perMessageDeflate: true });
    await until(() => topics.subscriberCount('room') === 1);
    const own = 'our own words, repeated so the window matters: '.repeat(40);
    const published = 'something else entirely, published 0123456789 '.repeat(30);
    const messages: string[] = [];
    client.on('message', (data: Buffer) => messages.push(data.toString()));
    client.send(own);
    await until(() => messages.length === 1, 5000, 'the first echo');
    topics.publish('room', published);
    client.send(own);
    await until(() => messages.length === 3, 5000, 'the publish and the second echo');
    expect(messages[0]).toBe(own);
    expect(messages[1]).toBe(published);
    expect(messages[2]).toBe(own);
  });

  /** A member that completes the handshake and then never reads its socket. */
  async function stalledMember(): Promise<net.Socket> {
    const socket = net.connect(server!.port, '127.0.0.1');
    raw.push(socket);
    socket.on('error', () => {});
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    socket.write(handshakeRequest('/room'));
    await new Promise<void>((resolve) => socket.once('data', () => resolve()));
    socket.pause(); // from now on the kernel's buffers fill, then the server's
    return socket;
  }

  test.each(['close', 'skip'] as const)('a member that stops reading is %s-handled and the others keep receiving', async (policy) => {
    const topics = new Topics({ maxBufferedBytes: 256 * 1024, slowConsumer: policy });
    const events: SlowConsumerEvent[] = [];
    topics.on('slow', (event) => events.push(event));
    await start(topics, { closeTimeout: 300 });
    const socket = await stalledMember();
    const reader = await join('/room');
    await until(() => topics.subscriberCount('room') === 2);
    const stalled = server!.accepted.find((ws) => (ws.socket as net.Socket).remotePort === socket.localPort);
    expect(stalled).toBeDefined();
    const COUNT = 200;
    const payload = Buffer.alloc(64 * 1024, 0x61);
    let received = 0;
    reader.on('message', () => received++);
    for (let i = 0; i < COUNT; i++) {
      topics.publish('room', payload);
      // The reader keeps up: it never lags more than a few messages behind.
      await until(() => received >= i - 4, 2000, `the reader to keep up at ${i}`);
      await tick();
    }
    await until(() => received === COUNT, 5000, 'every message at the reader');
    expect(events.length).toBe(1);
    expect(events[0].action).toBe(policy);
    expect(events[0].topic).toBe('room');
    expect(events[0].bufferedBytes).toBeGreaterThan(0);
    expect(events[0].ws).toBe(stalled);
    const stats = topics.stats();
    if (policy === 'close') {
      expect(stats.droppedMembers).toBe(1);
      expect(topics.subscriberCount('room')).toBe(1);
      // Unsent bytes stayed bounded: the limit, one message, and the close frame.
      expect(stalled!.bufferedAmount).toBeLessThanOrEqual(256 * 1024 + payload.length + 64);
      await until(() => stalled!.closeCode !== undefined, 5000, 'the stalled member to close');
      expect(stalled!.connected).toBe(false);
    } else {
      expect(stats.skipped).toBeGreaterThan(0);
      expect(stats.droppedMembers).toBe(0);
      expect(topics.subscriberCount('room')).toBe(2);
      expect(stalled!.bufferedAmount).toBeLessThanOrEqual(256 * 1024 + payload.length);
      expect(stats.delivered + stats.skipped).toBe(2 * COUNT);
    }
  });

  test('the close policy sends 1013 to a member that reads again later', async () => {
    const topics = new Topics({ maxBufferedBytes: 64 * 1024 });
    await start(topics, { closeTimeout: 5000 });
    const socket = await stalledMember();
    await until(() => topics.subscriberCount('room') === 1);
    const payload = Buffer.alloc(32 * 1024, 0x62);
    for (let i = 0; i < 400 && topics.stats().droppedMembers === 0; i++) {
      topics.publish('room', payload);
      await tick();
    }
    expect(topics.stats().droppedMembers).toBe(1);
    // Read everything now: the last frame is the close, 1013.
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.resume();
    await until(() => closeCodeIn(Buffer.concat(chunks)) !== null, 5000, 'the close frame');
    expect(closeCodeIn(Buffer.concat(chunks))).toBe(1013);
  });

  test('options are checked', () => {
    expect(() => new Topics({ maxBufferedBytes: -1 })).toThrow(RangeError);
    expect(() => new Topics({ slowConsumer: 'wait' as 'skip' })).toThrow(TypeError);
    expect(Topics.default).toBe(Topics.default);
  });

  test('a closed member is not written to, and a wsClosed client sees a normal close', async () => {
    const topics = new Topics();
    await start(topics);
    const client = await join('/room');
    await until(() => topics.subscriberCount('room') === 1);
    const closed = wsClosed(client);
    client.close(1000);
    expect((await closed).code).toBe(1000);
    await until(() => topics.subscriberCount('room') === 0);
    expect(topics.publish('room', 'late')).toBe(0);
  });
});

/** The server-side connection of a `ws` client: its socket's remote port is the client's local port. */
function serverSideOf(client: WebSocket | null, candidates: Server[]): Server {
  const local = (client as unknown as { _socket: net.Socket })._socket.localPort;
  const found = candidates.find((ws) => (ws.socket as net.Socket).remotePort === local);
  if (found === undefined) throw new Error('no server side for this client');
  return found;
}

/** The close code in the last frame of a server's byte stream (unmasked frames), or null. */
function closeCodeIn(bytes: Buffer): number | null {
  let at = 0;
  let code: number | null = null;
  while (at + 2 <= bytes.length) {
    const opcode = bytes[at] & 0x0f;
    let length = bytes[at + 1] & 0x7f;
    let header = 2;
    if (length === 126) {
      if (at + 4 > bytes.length) return code;
      length = bytes.readUInt16BE(at + 2);
      header = 4;
    } else if (length === 127) {
      if (at + 10 > bytes.length) return code;
      length = Number(bytes.readBigUInt64BE(at + 2));
      header = 10;
    }
    if (at + header + length > bytes.length) return code;
    if (opcode === 0x8 && length >= 2) code = bytes.readUInt16BE(at + header);
    at += header + length;
  }
  return code;
}

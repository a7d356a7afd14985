/**
 * A close that arrives behind messages (issue 16, item 7): the application
 * gets to answer what it received before the peer's close. The close is
 * answered once the application asks for more than the queue holds, or
 * when closeTimeout passes; the replies go out first. Both roles, with the
 * request (or the 101), three messages and the close in one write.
 */
import { Client, ConnectionClosed, type Server } from '../src';
import {
  clientFrame,
  clientFrames,
  framesAfterHead,
  handshakeRequest,
  rawConnect,
  response101,
  serverFrame,
  startHandServer,
  startOurServer,
  until,
  type Closable,
  type WireFrame,
} from './helpers';

const text = (s: string): Buffer => Buffer.from(s);
const closeFrame = (code: number, masked: boolean): Buffer => {
  const payload = Buffer.from([code >> 8, code & 0xff]);
  return masked ? clientFrame(0x8, payload) : serverFrame(0x8, payload);
};
const summary = (frames: WireFrame[]): string[] =>
  frames.map((f) => (f.opcode === 0x8 ? `close ${f.payload.readUInt16BE(0)}` : `${f.opcode === 0x1 ? 'text' : f.opcode} ${f.payload.toString()}`));

describe('a close behind messages', () => {
  const closables: Closable[] = [];
  afterEach(async () => {
    for (const c of closables.splice(0)) await c.close();
  });

  async function serverWith(handler: (ws: Server) => Promise<void>, options = {}): Promise<number> {
    const server = await startOurServer('raw', handler, options);
    closables.push(server);
    return server.port;
  }

  test('Server: request, three messages and a close in one write: the three echoes go out, then the close', async () => {
    const port = await serverWith(async (ws) => {
      for await (const message of ws) await ws.send(`echo ${String(message)}`);
    });
    const peer = await rawConnect(port);
    peer.socket.write(Buffer.concat([
      Buffer.from(handshakeRequest()),
      clientFrame(0x1, text('one')),
      clientFrame(0x1, text('two')),
      clientFrame(0x1, text('three')),
      closeFrame(1000, true),
    ]));
    await peer.closed;
    expect(summary(framesAfterHead(peer.received()))).toEqual(['text echo one', 'text echo two', 'text echo three', 'close 1000']);
  });

  test('Server: replies that take a while still go out before the close', async () => {
    const port = await serverWith(async (ws) => {
      for await (const message of ws) {
        await new Promise((resolve) => setTimeout(resolve, 30)); // e.g. a database round trip
        await ws.send(`echo ${String(message)}`);
      }
    });
    const peer = await rawConnect(port);
    peer.socket.write(Buffer.concat([Buffer.from(handshakeRequest()), clientFrame(0x1, text('a')), clientFrame(0x1, text('b')), closeFrame(1001, true)]));
    await peer.closed;
    expect(summary(framesAfterHead(peer.received()))).toEqual(['text echo a', 'text echo b', 'close 1001']);
  });

  test('Server: an application that does not read: the close is answered after closeTimeout, and nothing received is lost', async () => {
    let received!: (value: { messages: unknown[]; error: unknown; connectedMeanwhile: boolean }) => void;
    const outcome = new Promise<{ messages: unknown[]; error: unknown; connectedMeanwhile: boolean }>((resolve) => (received = resolve));
    const port = await serverWith(async (ws) => {
      await new Promise((resolve) => setTimeout(resolve, 600));
      const connectedMeanwhile = ws.connected;
      const messages: unknown[] = [];
      for (;;) {
        try {
          messages.push(await ws.receive());
        } catch (error) {
          received({ messages, error, connectedMeanwhile });
          return;
        }
      }
    }, { closeTimeout: 200 });
    const peer = await rawConnect(port);
    const started = Date.now();
    peer.socket.write(Buffer.concat([Buffer.from(handshakeRequest()), clientFrame(0x1, text('x')), clientFrame(0x1, text('y')), closeFrame(4000, true)]));
    await until(() => framesAfterHead(peer.received()).length > 0, 5000, 'the close');
    const answeredAfter = Date.now() - started;
    expect(summary(framesAfterHead(peer.received()))).toEqual(['close 4000']);
    expect(answeredAfter).toBeGreaterThanOrEqual(150);
    expect(answeredAfter).toBeLessThan(550);
    peer.socket.end();
    const { messages, error, connectedMeanwhile } = await outcome;
    expect(connectedMeanwhile).toBe(false);
    expect(messages).toEqual(['x', 'y']);
    expect(error).toBeInstanceOf(ConnectionClosed);
    expect(error).toMatchObject({ code: 4000 });
  });

  test('upgrade form: a close then the peer’s TCP end: the close is answered before ours, every message is still received', async () => {
    let done!: (value: { messages: unknown[]; error: unknown; sendError: unknown }) => void;
    const outcome = new Promise<{ messages: unknown[]; error: unknown; sendError: unknown }>((resolve) => (done = resolve));
    // Node's http server keeps sockets half-open: after the peer's end we could still write.
    const server = await startOurServer('upgrade', async (ws) => {
      await new Promise((resolve) => setTimeout(resolve, 200));
      const messages: unknown[] = [];
      try {
        for (;;) messages.push(await ws.receive());
      } catch (error) {
        done({ messages, error, sendError: await ws.send('too late').catch((e: unknown) => e) });
      }
    });
    closables.push(server);
    const peer = await rawConnect(server.port);
    peer.socket.end(Buffer.concat([Buffer.from(handshakeRequest()), clientFrame(0x1, text('p')), clientFrame(0x1, text('q')), closeFrame(1001, true)]));
    await peer.closed;
    expect(summary(framesAfterHead(peer.received()))).toEqual(['close 1001']);
    const { messages, error, sendError } = await outcome;
    expect(messages).toEqual(['p', 'q']);
    expect(error).toMatchObject({ code: 1001 });
    expect(sendError).toBeInstanceOf(ConnectionClosed);
  });

  test('Server: close() while a close is owed answers it at once, echoing the peer’s code', async () => {
    const port = await serverWith(async (ws) => {
      const first = await ws.receive();
      await ws.send(`got ${String(first)}`);
      await ws.close(1000, 'ours');
    });
    const peer = await rawConnect(port);
    peer.socket.write(Buffer.concat([Buffer.from(handshakeRequest()), clientFrame(0x1, text('m1')), clientFrame(0x1, text('m2')), closeFrame(1001, true)]));
    await peer.closed;
    expect(summary(framesAfterHead(peer.received()))).toEqual(['text got m1', 'close 1001']);
  });

  test('Client: 101, three messages and a close in one write: the three echoes go out, then the close', async () => {
    let done!: () => void;
    const closedByServer = new Promise<void>((resolve) => (done = resolve));
    const chunks: Buffer[] = [];
    const server = await startHandServer((socket, request) => {
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      socket.on('close', () => done());
      socket.write(Buffer.concat([
        Buffer.from(response101(request)),
        serverFrame(0x1, text('one')),
        serverFrame(0x1, text('two')),
        serverFrame(0x1, text('three')),
        closeFrame(1000, false),
      ]));
      // As a server does (RFC 6455 7.1.1): close the TCP connection once the client answered.
      socket.on('data', () => {
        if (clientFrames(Buffer.concat(chunks)).some((f) => f.opcode === 0x8)) socket.end();
      });
    });
    closables.push(server);
    const client = await Client.connect(server.url);
    for await (const message of client) await client.send(`echo ${String(message)}`);
    await closedByServer;
    expect(summary(clientFrames(Buffer.concat(chunks)))).toEqual(['text echo one', 'text echo two', 'text echo three', 'close 1000']);
    expect(client.closeCode).toBe(1000);
  });
});

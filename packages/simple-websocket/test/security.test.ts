/**
 * One test per class of advisory the `ws` package has had: header floods,
 * parser DoS through Sec-WebSocket-Extensions and Sec-WebSocket-Protocol,
 * memory disclosure through pings and close reasons, and tiny-fragment
 * floods. Each asserts the safe behaviour on the wire.
 */
import type { Server } from '../src';
import { clientFrame, closeCodeOf, framesAfterHead, handshakeRequest, rawConnect, startOurServer, until, type OurServer } from './helpers';

/** Sends `request`, waits for the socket to close or the head to arrive; returns status and time. */
async function ask(port: number, request: string | Buffer): Promise<{ status: number | undefined; ms: number; received: Buffer }> {
  const peer = await rawConnect(port);
  const started = Date.now();
  peer.socket.write(request);
  await Promise.race([peer.closed, until(() => peer.received().includes('\r\n\r\n'), 5000, 'an answer')]);
  const received = peer.received();
  peer.socket.destroy();
  const status = /^HTTP\/1\.1 (\d{3}) /.exec(received.toString('latin1'))?.[1];
  return { status: status === undefined ? undefined : Number(status), ms: Date.now() - started, received };
}

describe('security', () => {
  let server: OurServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  async function echoServer(options = {}): Promise<OurServer> {
    return startOurServer('raw', async (ws: Server) => {
      try {
        for await (const message of ws) await ws.send(message);
      } catch {
        // closes provoked by the tests
      }
    }, options);
  }

  test('header flood: 5,000 headers and 1 MB of header bytes are refused with 431 at once', async () => {
    server = await echoServer();
    const many = handshakeRequest().replace('\r\n\r\n', '\r\n' + Array.from({ length: 5000 }, (_, i) => `X-H${i}: v`).join('\r\n') + '\r\n\r\n');
    const huge = handshakeRequest().replace('\r\n\r\n', `\r\nX-Big: ${'a'.repeat(1_000_000)}\r\n\r\n`);
    for (const request of [many, huge]) {
      const { status, ms } = await ask(server.port, request);
      expect(status).toBe(431);
      expect(ms).toBeLessThan(1000);
    }
  });

  test('Sec-WebSocket-Extensions parser: 20,000 offers with parameters are answered in well under a second', async () => {
    server = await echoServer({ perMessageDeflate: true });
    const offers = Array.from({ length: 20000 }, (_, i) => `x-ext-${i}; a=1; b="${i}"`).join(', ');
    // Within the 16 KiB header budget the parser must still be linear; past it, 431.
    const small = Array.from({ length: 250 }, (_, i) => `permessage-deflate; client_max_window_bits=${9 + (i % 7)}; bogus${i}`).join(', ');
    for (const [value, expected] of [[offers, [431]], [small, [101, 400]]] as const) {
      const { status, ms } = await ask(server.port, handshakeRequest('/', `Sec-WebSocket-Extensions: ${value}\r\n`));
      expect(expected).toContain(status);
      expect(ms).toBeLessThan(1000);
    }
  });

  test('Sec-WebSocket-Protocol parser: thousands of subprotocols are answered in well under a second', async () => {
    server = await startOurServer('raw', async () => {}, { subprotocols: ['chat'] });
    const many = Array.from({ length: 1500 }, (_, i) => `proto${i}`).join(', ') + ', chat';
    const { status, ms, received } = await ask(server.port, handshakeRequest('/', `Sec-WebSocket-Protocol: ${many}\r\n`));
    expect(status).toBe(101);
    expect(received.toString('latin1')).toMatch(/Sec-WebSocket-Protocol: chat\r\n/i);
    expect(ms).toBeLessThan(1000);
  });

  test('ping data disclosure: after large messages, every pong carries exactly its ping payload', async () => {
    server = await echoServer();
    const peer = await rawConnect(server.port);
    peer.socket.write(handshakeRequest());
    await until(() => peer.received().includes('\r\n\r\n'), 5000, '101');
    const secret = Buffer.alloc(100000, 0x53); // 'S' everywhere: any leak shows
    const payloads = [Buffer.alloc(0), Buffer.from('a'), Buffer.from('0123456789'), Buffer.alloc(125, 0x7a)];
    peer.socket.write(Buffer.concat([clientFrame(0x2, secret), ...payloads.map((p) => clientFrame(0x9, p))]));
    await until(() => framesAfterHead(peer.received()).filter((f) => f.opcode === 0xa).length === payloads.length, 5000, 'pongs');
    const pongs = framesAfterHead(peer.received()).filter((f) => f.opcode === 0xa);
    expect(pongs.map((f) => f.payload.toString('hex'))).toEqual(payloads.map((p) => p.toString('hex')));
    peer.socket.destroy();
  });

  test("close reasons carry exactly their bytes: ours after large sends, and the echo of the peer's", async () => {
    server = await startOurServer('raw', async (ws: Server) => {
      await ws.receive();
      await ws.send(Buffer.alloc(50000, 0x53));
      await ws.send('S'.repeat(5000));
      await ws.close(1000, 'x');
    });
    const peer = await rawConnect(server.port);
    peer.socket.write(Buffer.concat([Buffer.from(handshakeRequest()), clientFrame(0x1, Buffer.from('go'))]));
    await until(() => framesAfterHead(peer.received()).some((f) => f.opcode === 0x8), 5000, 'our close');
    const close = framesAfterHead(peer.received()).find((f) => f.opcode === 0x8)!;
    expect(close.payload.toString('hex')).toBe('03e878');
    peer.socket.destroy();

    await server.close();
    server = await echoServer();
    const other = await rawConnect(server.port);
    const reason = Buffer.from('going away: ünïcode ✓');
    other.socket.write(Buffer.concat([
      Buffer.from(handshakeRequest()),
      clientFrame(0x2, Buffer.alloc(70000, 0x53)),
      clientFrame(0x8, Buffer.concat([Buffer.from([0x03, 0xe9]), reason])),
    ]));
    await other.closed;
    const echoed = framesAfterHead(other.received()).find((f) => f.opcode === 0x8)!;
    expect(closeCodeOf([echoed])).toBe(1001);
    expect(echoed.payload.subarray(2).equals(reason)).toBe(true);
  });

  test('many tiny fragments under the limit: reassembled exactly, with bounded time', async () => {
    server = await echoServer();
    const peer = await rawConnect(server.port);
    peer.socket.write(handshakeRequest());
    await until(() => peer.received().includes('\r\n\r\n'), 5000, '101');
    const n = 8000; // charged 8,000 × 128 B: well within the default budget
    const frames = [clientFrame(0x1, Buffer.from('a'), false)];
    for (let i = 1; i < n; i++) frames.push(clientFrame(0x0, Buffer.from('a'), i === n - 1));
    const started = Date.now();
    peer.socket.write(Buffer.concat(frames));
    await until(() => framesAfterHead(peer.received()).length === 1, 5000, 'the echo');
    expect(framesAfterHead(peer.received())[0].payload.toString()).toBe('a'.repeat(n));
    expect(Date.now() - started).toBeLessThan(2000);
    peer.socket.destroy();
  });
});

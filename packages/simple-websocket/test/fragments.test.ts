/**
 * Fragmented messages against the default limits (issue 16, item 5): the
 * limit is on memory, in bytes, not on a count. A 4 MiB message in 64-byte
 * fragments (65,536 of them, as RFC 6455 allows and conformance suites send)
 * is delivered; 1,000,000 one-byte fragments, or empty ones without end,
 * close with 1009 and memory stays flat. Both roles, on real sockets.
 */
import type * as net from 'node:net';
import { Client, ConnectionClosed, type Server } from '../src';
import { clientFrames, closeCodeOf, framesAfterHead, handshakeRequest, rawConnect, response101, startHandServer, startOurServer, until, type Closable } from './helpers';

const MiB = 1024 * 1024;
const MASK = [0x37, 0xfa, 0x21, 0x3d];

/**
 * `payload` cut into frames of `size` bytes (a first frame of `opcode`, then
 * continuations), written straight into one buffer; masked for a client.
 * With `endless` no frame has FIN.
 */
function fragmented(opcode: number, payload: Buffer, size: number, masked: boolean, endless = false): Buffer {
  const count = Math.max(1, Math.ceil(payload.length / size));
  const header = masked ? 6 : 2;
  const out = Buffer.alloc(count * header + payload.length);
  let at = 0;
  for (let i = 0; i < count; i++) {
    const piece = payload.subarray(i * size, (i + 1) * size);
    out[at] = (i === 0 ? opcode : 0) | (i === count - 1 && !endless ? 0x80 : 0);
    out[at + 1] = (masked ? 0x80 : 0) | piece.length; // size < 126
    at += 2;
    if (masked) {
      for (let j = 0; j < 4; j++) out[at + j] = MASK[j];
      at += 4;
      for (let j = 0; j < piece.length; j++) out[at + j] = piece[j] ^ MASK[j & 3];
    } else {
      piece.copy(out, at);
    }
    at += piece.length;
  }
  return out;
}

/** Empty continuation frames, none final. */
function emptyContinuations(count: number, masked: boolean): Buffer {
  const one = masked ? Buffer.from([0x00, 0x80, ...MASK]) : Buffer.from([0x00, 0x00]);
  return Buffer.concat(Array.from({ length: count }, () => one));
}

/** Heap and RSS now, after a GC when the process allows one. */
function memory(): { heap: number; rss: number } {
  (global as { gc?: () => void }).gc?.();
  const { heapUsed, rss } = process.memoryUsage();
  return { heap: heapUsed, rss };
}

function grewBy(before: { heap: number; rss: number }): { heap: number; text: string } {
  const after = memory();
  return {
    heap: after.heap - before.heap,
    text: `heap ${((after.heap - before.heap) / MiB).toFixed(1)} MiB, RSS ${(before.rss / MiB).toFixed(0)} -> ${(after.rss / MiB).toFixed(0)} MiB`,
  };
}

/** Writes `batch` until `stop()` holds or the socket closes; resolves with how many batches went out. */
async function pump(socket: net.Socket, batch: Buffer, stop: () => boolean): Promise<number> {
  let sent = 0;
  while (!stop() && !socket.destroyed && socket.writable) {
    sent++;
    if (!socket.write(batch)) await new Promise((resolve) => socket.once('drain', resolve).once('close', resolve));
    await new Promise((resolve) => setImmediate(resolve));
  }
  return sent;
}

describe('fragments are limited in bytes', () => {
  const closables: Closable[] = [];
  afterEach(async () => {
    for (const c of closables.splice(0)) await c.close();
  });

  async function echoServer(): Promise<{ port: number; errors: unknown[] }> {
    const errors: unknown[] = [];
    const server = await startOurServer('raw', async (ws: Server) => {
      try {
        for await (const message of ws) await ws.send(message);
      } catch (error) {
        errors.push(error);
      }
    });
    closables.push(server);
    return { port: server.port, errors };
  }

  async function handshaken(port: number): Promise<Awaited<ReturnType<typeof rawConnect>>> {
    const peer = await rawConnect(port);
    peer.socket.write(handshakeRequest());
    await until(() => peer.received().includes('\r\n\r\n'), 5000, '101');
    return peer;
  }

  test('Server: a 4 MiB message in 64-byte fragments is delivered with the default limits', async () => {
    const { port } = await echoServer();
    const peer = await handshaken(port);
    const message = Buffer.alloc(4 * MiB);
    for (let i = 0; i < message.length; i += 4) message.writeUInt32BE(i, i);
    peer.socket.write(fragmented(0x2, message, 64, true));
    const head = peer.received().indexOf('\r\n\r\n') + 4;
    await until(() => peer.received().length >= head + 10 + message.length, 20000, 'the echo');
    const [echo] = framesAfterHead(peer.received());
    expect(echo.opcode).toBe(0x2);
    expect(echo.payload.equals(message)).toBe(true);
    peer.socket.destroy();
  });

  test('Server: 1,000,000 one-byte fragments close with 1009, memory flat', async () => {
    const { port, errors } = await echoServer();
    const peer = await handshaken(port);
    const flood = fragmented(0x2, Buffer.alloc(1_000_000, 0x78), 1, true, true);
    const before = memory();
    const started = Date.now();
    peer.socket.write(flood);
    await peer.closed;
    const grew = grewBy(before);
    console.log(`1,000,000 one-byte fragments to our Server: 1009 after ${Date.now() - started} ms, ${grew.text}`);
    expect(closeCodeOf(framesAfterHead(peer.received()))).toBe(1009);
    await until(() => errors.length === 1, 5000, 'the handler to see the close');
    expect(errors[0]).toMatchObject({ code: 1009 });
    expect(grew.heap).toBeLessThan(64 * MiB);
  });

  test('Server: empty fragments without end close with 1009', async () => {
    const { port } = await echoServer();
    const peer = await handshaken(port);
    const before = memory();
    const start = fragmented(0x1, Buffer.alloc(0), 1, true, true);
    peer.socket.write(start);
    const batch = emptyContinuations(50_000, true);
    const batches = await pump(peer.socket, batch, () => framesAfterHead(peer.received()).length > 0);
    await until(() => framesAfterHead(peer.received()).length > 0, 10000, 'the close');
    console.log(`endless empty fragments to our Server: 1009 after about ${batches * 50_000} of them, ${grewBy(before).text}`);
    expect(closeCodeOf(framesAfterHead(peer.received()))).toBe(1009);
    peer.socket.destroy();
  });

  /** A hand-written server that sends `frames` after its 101 and collects the client's frames. */
  async function sendingServer(frames: (socket: net.Socket) => void): Promise<{ url: string; received: () => Buffer }> {
    const chunks: Buffer[] = [];
    const server = await startHandServer((socket, request) => {
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      socket.write(response101(request));
      frames(socket);
    });
    closables.push(server);
    return { url: server.url, received: () => Buffer.concat(chunks) };
  }

  test('Client: a 4 MiB text message in 64-byte fragments is delivered with the default limits', async () => {
    const text = 'fragmented text ✓ '.repeat(240_000).slice(0, 4 * MiB);
    const bytes = Buffer.from(text);
    const server = await sendingServer((socket) => socket.write(fragmented(0x1, bytes, 64, false)));
    const client = await Client.connect(server.url);
    expect(await client.receive({ timeout: 20000 })).toBe(bytes.toString());
    client.socket.destroy();
  });

  test('Client: 1,000,000 one-byte fragments close with 1009, memory flat', async () => {
    const server = await sendingServer((socket) => socket.write(fragmented(0x2, Buffer.alloc(1_000_000, 0x78), 1, false, true)));
    const before = memory();
    const started = Date.now();
    const client = await Client.connect(server.url);
    const error = await client.receive().catch((e: unknown) => e);
    const grew = grewBy(before);
    console.log(`1,000,000 one-byte fragments to our Client: 1009 after ${Date.now() - started} ms, ${grew.text}`);
    expect(error).toBeInstanceOf(ConnectionClosed);
    expect(error).toMatchObject({ code: 1009 });
    await until(() => clientFrames(server.received()).length > 0, 5000, 'the close frame');
    expect(closeCodeOf(clientFrames(server.received()))).toBe(1009);
    expect(grew.heap).toBeLessThan(64 * MiB);
    client.socket.destroy();
  });

  test('Client: empty fragments without end close with 1009', async () => {
    let stop = false;
    const server = await sendingServer((socket) => {
      socket.write(fragmented(0x2, Buffer.alloc(0), 1, false, true));
      void pump(socket, emptyContinuations(50_000, false), () => stop);
    });
    const client = await Client.connect(server.url);
    const error = await client.receive().catch((e: unknown) => e);
    stop = true;
    expect(error).toMatchObject({ code: 1009 });
    await until(() => clientFrames(server.received()).length > 0, 5000, 'the close frame');
    expect(closeCodeOf(clientFrames(server.received()))).toBe(1009);
    client.socket.destroy();
  });
});

/**
 * Automatic pongs and backpressure (issue 16, item 1): a peer that floods
 * pings and never reads must not make us buffer pongs without bound. Once
 * the socket's buffer is past its high-water mark we stop reading (its pings
 * wait in its own buffers), and we read on when it reads: every ping is
 * still answered, in order. Both roles, on real sockets.
 */
import * as net from 'node:net';
import { Client, type Server } from '../src';
import { clientFrames, handshakeRequest, response101, serverFrames, startHandServer, startOurServer, until, type Closable } from './helpers';

const MiB = 1024 * 1024;
/** Enough pings that their pongs (12.7 MB) outgrow what loopback's kernel buffers absorb (about 4 MB here). */
const PINGS = 100_000;
const PAYLOAD = 125;

/** `count` ping frames with 125-byte payloads that start with their index (big-endian), masked or not. */
function pingFlood(count: number, masked: boolean): Buffer {
  const mask = [0x37, 0xfa, 0x21, 0x3d];
  const size = (masked ? 6 : 2) + PAYLOAD;
  const out = Buffer.alloc(count * size);
  for (let i = 0; i < count; i++) {
    const at = i * size;
    out[at] = 0x89;
    out[at + 1] = (masked ? 0x80 : 0) | PAYLOAD;
    const payload = at + (masked ? 6 : 2);
    if (masked) for (let j = 0; j < 4; j++) out[at + 2 + j] = mask[j];
    out.writeUInt32BE(i, payload);
    if (masked) for (let j = 0; j < PAYLOAD; j++) out[payload + j] ^= mask[j & 3];
  }
  return out;
}

/**
 * Waits until `socket` stops reading for good (nothing read for 300 ms while
 * paused) or its write buffer outgrows 8 high-water marks (pongs piling up).
 */
async function settled(socket: net.Socket): Promise<void> {
  let last = -1;
  let still = 0;
  const deadline = Date.now() + 30000;
  while (Date.now() < deadline && socket.writableLength <= 8 * socket.writableHighWaterMark) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    still = socket.isPaused() && socket.bytesRead === last ? still + 1 : 0;
    if (still === 3) return;
    last = socket.bytesRead;
  }
}

function rss(): string {
  return `${(process.memoryUsage().rss / MiB).toFixed(0)} MiB`;
}

describe('pong backpressure', () => {
  const closables: Closable[] = [];
  afterEach(async () => {
    for (const c of closables.splice(0)) await c.close();
  });

  test('Server: pongs to a peer that does not read stay within the socket buffer; it is read again once it reads', async () => {
    let accepted!: (ws: Server) => void;
    const serverWs = new Promise<Server>((resolve) => (accepted = resolve));
    const server = await startOurServer('raw', async (ws) => {
      accepted(ws);
      for await (const message of ws) await ws.send(message);
    });
    closables.push(server);
    const before = rss();
    // A peer that writes and never reads: no 'data' listener, so nothing is read from its socket.
    const peer = net.connect(server.port, '127.0.0.1');
    peer.on('error', () => {});
    peer.write(Buffer.concat([Buffer.from(handshakeRequest()), pingFlood(PINGS, true)]));
    const ws = await serverWs;
    const socket = ws.socket as net.Socket;
    await settled(socket);
    console.log(`ping flood to our Server, peer not reading: writableLength ${socket.writableLength} B after ${socket.bytesWritten} B of pongs, RSS ${before} -> ${rss()}`);
    expect(socket.isPaused()).toBe(true);
    // At most one pong past the high-water mark.
    expect(socket.writableLength).toBeLessThanOrEqual(socket.writableHighWaterMark + 2 + PAYLOAD);

    // The peer reads now: every ping is answered, in order, and messages still echo.
    const chunks: Buffer[] = [];
    let bytes = 0;
    peer.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      bytes += chunk.length;
    });
    const head = Buffer.byteLength(response101(handshakeRequest()));
    await until(() => bytes >= head + PINGS * (2 + PAYLOAD), 30000, 'every pong');
    peer.write(Buffer.from([0x81, 0x82, 0, 0, 0, 0, 0x6f, 0x6b])); // "ok", masked with a zero key
    await until(() => bytes >= head + PINGS * (2 + PAYLOAD) + 4, 5000, 'the echo');
    const frames = serverFrames(Buffer.concat(chunks).subarray(head));
    expect(frames).toHaveLength(PINGS + 1);
    expect(frames.slice(0, PINGS).every((f, i) => f.opcode === 0xa && f.payload.length === PAYLOAD && f.payload.readUInt32BE(0) === i)).toBe(true);
    expect(frames[PINGS]).toMatchObject({ opcode: 0x1, payload: Buffer.from('ok') });
    peer.destroy();
  });

  test('Server: close() on a peer that floods pings and never reads ends within closeTimeout', async () => {
    let accepted!: (ws: Server) => void;
    const serverWs = new Promise<Server>((resolve) => (accepted = resolve));
    const server = await startOurServer('raw', (ws) => accepted(ws), { closeTimeout: 300 });
    closables.push(server);
    const peer = net.connect(server.port, '127.0.0.1');
    peer.on('error', () => {});
    peer.write(Buffer.concat([Buffer.from(handshakeRequest()), pingFlood(PINGS, true)]));
    const ws = await serverWs;
    await settled(ws.socket as net.Socket);
    expect(ws.socket.isPaused()).toBe(true);
    const started = Date.now();
    await ws.close(1000, 'bye');
    expect(Date.now() - started).toBeLessThan(3000);
    expect(ws.closeCode).toBe(1006);
    expect(ws.socket.destroyed).toBe(true);
    peer.destroy();
  });

  test('Client: pongs to a server that does not read stay within the socket buffer; it is read again once it reads', async () => {
    let serverSide!: (socket: net.Socket) => void;
    const serverSocket = new Promise<net.Socket>((resolve) => (serverSide = resolve));
    const server = await startHandServer((socket, request) => {
      // Answer, flood, and read nothing until the test says so.
      socket.pause();
      socket.write(Buffer.concat([Buffer.from(response101(request)), pingFlood(PINGS, false)]));
      serverSide(socket);
    });
    closables.push(server);
    const before = rss();
    const client = await Client.connect(server.url);
    const socket = client.socket as net.Socket;
    const peer = await serverSocket;
    await settled(socket);
    console.log(`ping flood to our Client, server not reading: writableLength ${socket.writableLength} B after ${socket.bytesWritten} B of pongs, RSS ${before} -> ${rss()}`);
    expect(socket.isPaused()).toBe(true);
    expect(socket.writableLength).toBeLessThanOrEqual(socket.writableHighWaterMark + 6 + PAYLOAD);

    const chunks: Buffer[] = [];
    let bytes = 0;
    peer.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      bytes += chunk.length;
    });
    peer.resume();
    await until(() => bytes >= PINGS * (6 + PAYLOAD), 30000, 'every pong');
    const frames = clientFrames(Buffer.concat(chunks));
    expect(frames).toHaveLength(PINGS);
    expect(frames.every((f, i) => f.opcode === 0xa && f.payload.length === PAYLOAD && f.payload.readUInt32BE(0) === i)).toBe(true);
    // Still a working connection.
    peer.write(Buffer.from([0x81, 0x02, 0x6f, 0x6b]));
    expect(await client.receive({ timeout: 5000 })).toBe('ok');
    client.socket.destroy();
  });
});

/**
 * Faults a server meets in the field: a peer that resets mid-frame, sends
 * 10,000 pings, or holds 2,000 idle connections (fragment floods are in
 * fragments.test.ts). The
 * server stays up, its memory stays bounded, and what the application
 * received before the fault is intact.
 */
import * as net from 'node:net';
import { ConnectionClosed, type Server } from '../src';
import { clientFrame, framesAfterHead, handshakeRequest, rawConnect, serverFrames, startOurServer, until, type OurServer } from './helpers';

const MiB = 1024 * 1024;

/** Opens a raw connection and completes the handshake. */
async function handshaken(port: number): Promise<Awaited<ReturnType<typeof rawConnect>>> {
  const peer = await rawConnect(port);
  peer.socket.write(handshakeRequest());
  await until(() => peer.received().includes('\r\n\r\n'), 5000, '101');
  return peer;
}

describe('faults', () => {
  let server: OurServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  test('a reset in the middle of a frame: earlier messages intact, then ConnectionClosed(1006)', async () => {
    const got: unknown[] = [];
    let outcome!: (error: unknown) => void;
    const ended = new Promise<unknown>((resolve) => (outcome = resolve));
    server = await startOurServer('raw', async (ws: Server) => {
      try {
        for (;;) got.push(await ws.receive());
      } catch (error) {
        outcome(error);
      }
    });
    const peer = await handshaken(server.port);
    const big = Buffer.alloc(200000, 0x61);
    peer.socket.write(Buffer.concat([clientFrame(0x1, Buffer.from('one')), clientFrame(0x2, big), clientFrame(0x1, big).subarray(0, 5000)]));
    await until(() => got.length === 2, 5000, 'two messages');
    peer.socket.resetAndDestroy();
    const error = await ended;
    expect(got[0]).toBe('one');
    expect(Buffer.from(got[1] as Uint8Array).equals(big)).toBe(true);
    expect(error).toBeInstanceOf(ConnectionClosed);
    expect((error as ConnectionClosed).code).toBe(1006);
  });

  test('10,000 pings: every one answered with its own payload, then a message still echoes', async () => {
    server = await startOurServer('raw', async (ws) => {
      for await (const message of ws) await ws.send(message);
    });
    const peer = await handshaken(server.port);
    const pings = Array.from({ length: 10000 }, (_, i) => clientFrame(0x9, Buffer.from(String(i))));
    const rssBefore = process.memoryUsage().rss;
    peer.socket.write(Buffer.concat([...pings, clientFrame(0x1, Buffer.from('still here'))]));
    await until(() => framesAfterHead(peer.received()).length >= 10001, 10000, 'pongs and echo');
    const frames = framesAfterHead(peer.received());
    const pongs = frames.filter((f) => f.opcode === 0xa).map((f) => f.payload.toString());
    expect(pongs).toEqual(Array.from({ length: 10000 }, (_, i) => String(i)));
    expect(frames.filter((f) => f.opcode === 0x1).map((f) => f.payload.toString())).toEqual(['still here']);
    const grew = process.memoryUsage().rss - rssBefore;
    console.log(`10,000 pings: RSS grew ${(grew / MiB).toFixed(1)} MiB`);
    expect(grew).toBeLessThan(128 * MiB);
    peer.socket.destroy();
  });

  test('2,000 idle connections: the server stays up, memory per connection is bounded, all close cleanly', async () => {
    const open = new Set<Server>();
    server = await startOurServer('raw', async (ws) => {
      open.add(ws);
      try {
        for await (const message of ws) await ws.send(message);
      } finally {
        open.delete(ws);
      }
    });
    (global as { gc?: () => void }).gc?.();
    const before = process.memoryUsage();
    const sockets: net.Socket[] = [];
    const request = handshakeRequest();
    for (let i = 0; i < 2000; i += 200) {
      const batch = await Promise.all(
        Array.from({ length: 200 }, () => new Promise<net.Socket>((resolve, reject) => {
          const socket = net.connect(server!.port, '127.0.0.1', () => socket.write(request));
          socket.once('data', () => resolve(socket));
          socket.once('error', reject);
        })),
      );
      sockets.push(...batch);
    }
    await until(() => open.size === 2000, 10000, '2,000 open');
    (global as { gc?: () => void }).gc?.();
    const after = process.memoryUsage();
    // Both ends live in this process: the figure covers client and server sockets.
    const perConnection = (after.heapUsed - before.heapUsed) / 2000;
    console.log(`2,000 idle connections: heap ${(perConnection / 1024).toFixed(1)} KiB per connection (client and server side), RSS +${((after.rss - before.rss) / MiB).toFixed(1)} MiB`);
    expect(perConnection).toBeLessThan(64 * 1024);
    // Still serving: one of them echoes.
    const probe = sockets[1234];
    const echoed = new Promise<Buffer>((resolve) => probe.once('data', resolve));
    probe.write(clientFrame(0x1, Buffer.from('alive')));
    expect(serverFrames(await echoed)[0].payload.toString()).toBe('alive');
    for (const socket of sockets) socket.end(clientFrame(0x8, Buffer.from([0x03, 0xe8])));
    await until(() => open.size === 0, 10000, 'all closed');
    await until(() => server!.openSockets() === 0, 10000, 'no server socket left');
  });
});

/**
 * Flow control both ways: a slow consumer pauses the socket instead of
 * buffering without bound, and send() waits for 'drain' when the peer is slow.
 */
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import { Client, type Server } from '../src';
import { openWs, startOurServer, startWsServer, until, type OurServer } from './helpers';

describe('backpressure', () => {
  let server: OurServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  test('a slow consumer pauses the socket and the queue stays at or under its high-water mark', async () => {
    const HWM = 8;
    const COUNT = 400;
    let accepted!: (ws: Server) => void;
    const serverWs = new Promise<Server>((resolve) => (accepted = resolve));
    server = await startOurServer('raw', (ws) => accepted(ws), { maxQueuedMessages: HWM });
    const client = await openWs(server.url);
    const payload = Buffer.alloc(64 * 1024, 0x61);
    for (let i = 0; i < COUNT; i++) {
      payload.writeUInt32BE(i, 0);
      client.send(payload);
    }
    const ws = await serverWs;
    let maxQueued = 0;
    const sample = setInterval(() => (maxQueued = Math.max(maxQueued, ws.queuedMessages)), 1);
    try {
      // Nobody receives: the reader must stop at the mark and pause the socket.
      await until(() => ws.queuedMessages === HWM && ws.socket.isPaused(), 5000, 'the socket to pause');
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(ws.socket.isPaused()).toBe(true);
      expect(ws.queuedMessages).toBe(HWM);
      // The rest waits in TCP buffers and in the sender, not in our queue.
      expect(client.bufferedAmount).toBeGreaterThan(0);
      // Now consume slowly-then-fast: every message arrives once, in order.
      for (let i = 0; i < COUNT; i++) {
        const message = (await ws.receive()) as Uint8Array;
        expect(message.byteLength).toBe(payload.length);
        expect(Buffer.from(message.buffer, message.byteOffset, 4).readUInt32BE(0)).toBe(i);
        maxQueued = Math.max(maxQueued, ws.queuedMessages);
      }
      expect(maxQueued).toBeLessThanOrEqual(HWM);
      expect(ws.socket.isPaused()).toBe(false);
    } finally {
      clearInterval(sample);
      client.terminate();
    }
  });

  test('a lone reply is written at once; a burst in one tick is corked into one write', async () => {
    const ws = await startWsServer();
    const received: string[] = [];
    ws.wss.on('connection', (p: WebSocket) => p.on('message', (data: Buffer) => received.push(data.toString())));
    try {
      const client = await Client.connect(ws.url);
      const socket = client.socket as Socket;
      await new Promise((resolve) => setImmediate(resolve)); // the 101 was read, nothing written since
      void client.send('lone');
      expect(socket.writableCorked).toBe(0); // nothing waits behind it: out now
      void client.send('burst 1');
      void client.send('burst 2');
      expect(socket.writableCorked).toBe(1); // the rest of the tick leaves together
      await new Promise((resolve) => process.nextTick(resolve));
      expect(socket.writableCorked).toBe(0);
      await until(() => received.length === 3, 5000, 'three messages');
      expect(received).toEqual(['lone', 'burst 1', 'burst 2']);
      // After a flush the next write goes out at once again.
      await new Promise((resolve) => setImmediate(resolve));
      void client.send('after the flush');
      expect(socket.writableCorked).toBe(0);
      // A read since our last write makes the next write a lone reply.
      for (const peer of ws.wss.clients) peer.send('answer me');
      expect(await client.receive()).toBe('answer me');
      void client.send('reply');
      expect(socket.writableCorked).toBe(0);
      // With no read since our last write it is no reply: corked too, and still out this tick.
      await new Promise((resolve) => setImmediate(resolve));
      void client.send('unprompted');
      expect(socket.writableCorked).toBe(1);
      await new Promise((resolve) => process.nextTick(resolve));
      expect(socket.writableCorked).toBe(0);
      await until(() => received.length === 6, 5000, 'six messages');
      expect(received).toEqual(['lone', 'burst 1', 'burst 2', 'after the flush', 'reply', 'unprompted']);
      await client.close();
    } finally {
      await ws.close();
    }
  });

  test('send() waits for drain while the peer does not read, then completes in order', async () => {
    const ws = await startWsServer();
    const received: number[] = [];
    const peer = new Promise<WebSocket>((resolve) =>
      ws.wss.on('connection', (p: WebSocket) => {
        p.on('message', (data: Buffer) => received.push(data.readUInt32BE(0)));
        resolve(p);
      }),
    );
    try {
      const client = await Client.connect(ws.url);
      const peerSocket = await peer;
      peerSocket.pause(); // ws.WebSocket#pause stops reading its socket
      const chunk = Buffer.alloc(256 * 1024);
      const COUNT = 200; // 50 MiB: far more than loopback buffers hold
      let sent = 0;
      const sending = (async () => {
        for (let i = 0; i < COUNT; i++) {
          chunk.writeUInt32BE(i, 0);
          await client.send(Buffer.from(chunk));
          sent++;
        }
      })();
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(sent).toBeLessThan(COUNT);
      // Waiting, not buffering: at most a message or so beyond the socket's own mark.
      expect(client.socket.writableLength).toBeLessThanOrEqual(client.socket.writableHighWaterMark + 2 * chunk.length);
      peerSocket.resume();
      await sending;
      await until(() => received.length === COUNT, 10000, 'all messages');
      expect(received).toEqual(Array.from({ length: COUNT }, (_, i) => i));
      await client.close();
    } finally {
      await ws.close();
    }
  });
});

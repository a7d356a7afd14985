/**
 * The demo's chat rooms are topics: a member that never reads its socket
 * does not hold up the room. Alice keeps talking, Bob keeps hearing every
 * message promptly, and the stalled member is closed (1013) once 1 MiB waits
 * for it. (With the old loop that awaited every member's send, the room
 * froze as soon as the stalled member's buffers filled.)
 */
import * as net from 'node:net';
import type { Server as HttpServer } from 'node:http';
import WebSocket from 'ws';
import type { Sock } from '../src/index';
import { close, listening, port } from './helpers';

/* eslint-disable @typescript-eslint/no-require-imports */
const { createApp } = require('../../../examples/demo/app.js') as { createApp: () => import('express').Express };
/* eslint-enable @typescript-eslint/no-require-imports */

function openClient(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

async function until(predicate: () => boolean, what: string, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('the demo chat with a member that stopped reading', () => {
  let server: HttpServer | undefined;
  afterEach(async () => {
    if (server) await close(server);
  });

  test('the others keep receiving promptly, and the stalled member is dropped', async () => {
    const app = createApp();
    const sock = app.locals.sock as Sock;
    server = await listening(app.listen(0, '127.0.0.1'));
    const url = `ws://127.0.0.1:${port(server)}/chat/lobby`;
    const alice = await openClient(url);
    const bob = await openClient(url);
    // The stalled member: a real handshake, then it never reads again.
    const stalled = net.connect(port(server), '127.0.0.1');
    stalled.on('error', () => {});
    await new Promise<void>((resolve) => stalled.once('connect', resolve));
    stalled.write(
      'GET /chat/lobby HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
    await new Promise<void>((resolve) => stalled.once('data', () => resolve()));
    stalled.pause();
    const slow: unknown[] = [];
    sock.topics.on('slow', (event) => slow.push(event));
    try {
      await until(() => sock.topics.subscriberCount('chat:lobby') === 3, 'three members');
      let bobGot = 0;
      bob.on('message', () => bobGot++);
      // 16 MB through the room: far past what the kernel buffers for the stalled member.
      const line = 'x'.repeat(2000);
      const BATCHES = 40;
      const PER_BATCH = 200;
      for (let batch = 1; batch <= BATCHES; batch++) {
        for (let i = 0; i < PER_BATCH; i++) alice.send(line);
        // Every batch reaches Bob within a few seconds: nobody waits for the stalled member.
        await until(() => bobGot === batch * PER_BATCH, `Bob to get batch ${batch}`);
      }
      expect(slow).toHaveLength(1);
      expect(sock.topics.stats().droppedMembers).toBe(1);
      expect(sock.topics.subscriberCount('chat:lobby')).toBe(2);
    } finally {
      alice.terminate();
      bob.terminate();
      stalled.destroy();
    }
  }, 60000);
});

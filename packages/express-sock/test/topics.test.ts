/**
 * Topics from express-sock routes: the handler's ws subscribes (a room per
 * route param), `sock.publish` reaches every member, and a member leaves its
 * topics when its connection closes.
 */
import type { Server as HttpServer } from 'node:http';
import type { Express } from 'express';
import { Topics } from '@wsstack/simple-websocket';
import { Sock } from '../src/index';
import { close, closed, connect, listening, nextMessage, port } from './helpers';

/* eslint-disable @typescript-eslint/no-require-imports */
const express = require('express') as () => Express;
/* eslint-enable @typescript-eslint/no-require-imports */

describe('topics in routes', () => {
  let server: HttpServer;
  afterEach(() => close(server));

  it('a route subscribes its ws to a room; sock.publish and ws.publish reach the members', async () => {
    const app = express();
    const sock = new Sock(app);
    app.ws('/rooms/:room', async (ws, req) => {
      ws.subscribe(`room:${String(req.params.room)}`);
      for await (const message of ws) ws.publish(`room:${String(req.params.room)}`, message);
    });
    server = await listening(app.listen(0, '127.0.0.1'));
    const url = `ws://127.0.0.1:${port(server)}/rooms`;
    const a = await connect(`${url}/1`);
    const b = await connect(`${url}/1`);
    const other = await connect(`${url}/2`);
    const until = async (ok: () => boolean): Promise<void> => {
      for (let i = 0; i < 500 && !ok(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
      expect(ok()).toBe(true);
    };
    await until(() => sock.topics.subscriberCount('room:1') === 2);
    const otherGot: string[] = [];
    other.on('message', (data: Buffer) => otherGot.push(data.toString()));
    const fromServer = [nextMessage(a), nextMessage(b)];
    expect(sock.publish('room:1', 'announcement')).toBe(2);
    expect(await Promise.all(fromServer)).toEqual(['announcement', 'announcement']);
    // a speaks: b hears it, a does not hear itself.
    const heard = nextMessage(b);
    a.send('hi from a');
    expect(await heard).toBe('hi from a');
    const done = closed(a);
    a.close(1000);
    await done;
    await until(() => sock.topics.subscriberCount('room:1') === 1);
    expect(otherGot).toEqual([]);
    b.close();
    other.close();
  });

  it('takes a registry shared with other code through the topics option', async () => {
    const topics = new Topics();
    const app = express();
    const sock = new Sock(app, { topics });
    expect(sock.topics).toBe(topics);
    app.ws('/feed', async (ws) => {
      ws.subscribe('feed');
      await ws.receive({ timeout: 5000 }).catch(() => undefined);
    });
    server = await listening(app.listen(0, '127.0.0.1'));
    const client = await connect(`ws://127.0.0.1:${port(server)}/feed`);
    for (let i = 0; i < 500 && topics.subscriberCount('feed') === 0; i++) await new Promise((resolve) => setTimeout(resolve, 5));
    const got = nextMessage(client);
    expect(topics.publish('feed', 'tick')).toBe(1);
    expect(await got).toBe('tick');
    client.close();
  });
});

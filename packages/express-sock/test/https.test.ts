/**
 * `sock.attach()` on a server made by hand: `https.createServer(options, app)`
 * with a self-signed certificate made by openssl for this test. Routing,
 * refusals and echo work over TLS exactly as over plain TCP.
 */
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { NextFunction, Request, Response } from 'express';
import WebSocket from 'ws';
import { Client } from '@wsstack/simple-websocket';
import { Sock } from '../src/index';
import { makeCertificate } from '../../simple-websocket/test/helpers';

describe('sock.attach(https.createServer(...))', () => {
  let server: https.Server;
  let base: string;
  let cert: Buffer;

  beforeAll(async () => {
    const pair = makeCertificate();
    cert = pair.cert;
    const app = express();
    const sock = new Sock(app);
    app.use('/private', (_req: Request, res: Response, _next: NextFunction) => {
      res.status(401).set('WWW-Authenticate', 'Bearer').end();
    });
    app.ws('/echo', async (ws) => {
      for await (const message of ws) await ws.send(message);
    });
    app.ws('/private/room', async () => {});
    server = https.createServer({ key: pair.key, cert: pair.cert }, app);
    sock.attach(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `wss://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  /** A ws client that trusts our certificate; resolves when open, rejects with the HTTP status if refused. */
  function wsClient(path: string, ca: Buffer | null = cert): Promise<WebSocket> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`${base}${path}`, ca ? { ca } : {});
      ws.once('open', () => resolve(ws));
      ws.once('unexpected-response', (_req, res) => {
        reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { statusCode: res.statusCode }));
        ws.terminate();
      });
      ws.once('error', reject);
    });
  }

  function reply(ws: WebSocket): Promise<{ data: Buffer; isBinary: boolean }> {
    return new Promise((resolve) => ws.once('message', (data: Buffer, isBinary) => resolve({ data, isBinary })));
  }

  test('a ws client round-trips text and binary over TLS', async () => {
    const ws = await wsClient('/echo');
    const text = reply(ws);
    ws.send('über TLS');
    expect(await text).toEqual({ data: Buffer.from('über TLS'), isBinary: false });
    const binary = reply(ws);
    ws.send(Buffer.from([0, 1, 254, 255]));
    expect(await binary).toEqual({ data: Buffer.from([0, 1, 254, 255]), isBinary: true });
    const closed = new Promise<number>((resolve) => ws.once('close', resolve));
    ws.close(1000);
    expect(await closed).toBe(1000);
  });

  test('our own Client round-trips with tls: { ca }', async () => {
    const ws = await Client.connect(`${base}/echo`, { tls: { ca: cert } });
    await ws.send('from our client');
    expect(await ws.receive({ timeout: 5000 })).toBe('from our client');
    await ws.close();
    expect(ws.closeCode).toBe(1000);
  });

  test('middleware refuses with 401, seen by the client over TLS', async () => {
    await expect(wsClient('/private/room')).rejects.toMatchObject({ statusCode: 401 });
  });

  test('a client that does not trust the certificate fails, and the server keeps serving', async () => {
    await expect(wsClient('/echo', null)).rejects.toThrow(/self[- ]signed/i);
    const ws = await wsClient('/echo');
    const echoed = reply(ws);
    ws.send('still up');
    expect((await echoed).data.toString()).toBe('still up');
    ws.terminate();
  });
});

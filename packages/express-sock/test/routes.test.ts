/**
 * express-sock on Express 5 and Express 4: routing before the handshake,
 * refusals with real statuses, close codes from the handler's outcome.
 */
import { connect as netConnect } from 'node:net';
import type { Server as HttpServer } from 'node:http';
import type { Express, NextFunction, Request, Response } from 'express';
import { Sock } from '../src/index';
import { close, closed, connect, listening, nextMessage, port } from './helpers';

/* eslint-disable @typescript-eslint/no-require-imports */
const majors: Array<[string, () => Express]> = [
  ['Express 5', require('express') as () => Express],
  ['Express 4', require('express4') as () => Express],
];
/* eslint-enable @typescript-eslint/no-require-imports */

describe.each(majors)('%s', (_name, express) => {
  let server: HttpServer;
  let url: string;
  let errors: unknown[];

  async function start(setup: (app: Express, sock: Sock) => void): Promise<void> {
    const app = express();
    const sock = new Sock(app);
    errors = [];
    setup(app, sock);
    app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
      errors.push(err);
      res.status(500).end();
    });
    server = await listening(app.listen(0, '127.0.0.1'));
    url = `ws://127.0.0.1:${port(server)}`;
  }

  afterEach(() => close(server));

  it('echoes on an app.ws route and closes with 1000 when the handler returns', async () => {
    await start((app) =>
      app.ws('/echo', async (ws) => {
        const msg = await ws.receive();
        if (msg !== undefined) await ws.send(msg);
      }),
    );
    const ws = await connect(`${url}/echo`);
    const done = closed(ws);
    ws.send('hello');
    expect(await nextMessage(ws)).toBe('hello');
    expect((await done).code).toBe(1000);
  });

  it('options Server.accept refuses are reported to onError, not dropped silently', async () => {
    const reported: unknown[] = [];
    await start((_app, sock) =>
      sock.route('/bad', async () => {}, { maxMessageSize: -1, onError: (err) => reported.push(err) }),
    );
    await expect(connect(`${url}/bad`)).rejects.toThrow();
    expect(reported).toHaveLength(1);
    expect(reported[0]).toMatchObject({ name: 'ConnectionError', code: 'WS_INVALID_OPTIONS' });
    expect(errors).toEqual([]);
  });

  it('registers sock.route before the app is bound, and as a higher-order function', async () => {
    const sock = new Sock();
    sock.route('/early', async (ws) => ws.send('early'));
    sock.route('/hof')(async (ws) => ws.send('hof'));
    const app = express();
    sock.initApp(app);
    server = await listening(app.listen(0, '127.0.0.1'));
    url = `ws://127.0.0.1:${port(server)}`;
    for (const path of ['early', 'hof']) {
      const ws = await connect(`${url}/${path}`);
      expect(await nextMessage(ws)).toBe(path);
      await closed(ws);
    }
  });

  it('lets middleware refuse the upgrade with its own status, before any handshake', async () => {
    await start((app) =>
      app.ws(
        '/private',
        (req, res, next) => (req.headers.authorization === 'Bearer ok' ? next() : res.status(401).send('no')),
        async (ws) => ws.send('secret'),
      ),
    );
    await expect(connect(`${url}/private`)).rejects.toMatchObject({ statusCode: 401 });
  });

  it('answers 404 to an upgrade no route takes', async () => {
    await start((app) => app.ws('/echo', () => undefined));
    await expect(connect(`${url}/nowhere`)).rejects.toMatchObject({ statusCode: 404 });
  });

  it('leaves an unrouted upgrade to another upgrade listener on the same server', async () => {
    await start((app) => app.ws('/echo', () => undefined));
    server.on('upgrade', (req, socket) => {
      if (req.url === '/foreign') socket.end('HTTP/1.1 418 I am a teapot\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    });
    await expect(connect(`${url}/foreign`)).rejects.toMatchObject({ statusCode: 418 });
    // Routed paths still work beside the foreign listener.
    const ws = await connect(`${url}/echo`);
    expect((await closed(ws)).code).toBe(1000);
  });

  it('closes with 1011 when the handler throws, and hands the error to the error middleware', async () => {
    await start((app) =>
      app.ws('/boom', async () => {
        await Promise.resolve();
        throw new Error('kaboom');
      }),
    );
    const ws = await connect(`${url}/boom`);
    expect((await closed(ws)).code).toBe(1011);
    await new Promise((r) => setTimeout(r, 50));
    expect(errors).toHaveLength(1);
    expect((errors[0] as Error).message).toBe('kaboom');
  });

  it('passes route params and the query to the handler', async () => {
    await start((app) => app.ws('/rooms/:id', async (ws, req) => ws.send(`${String(req.params.id)} ${req.query.name as string}`)));
    const ws = await connect(`${url}/rooms/42?name=ada`);
    expect(await nextMessage(ws)).toBe('42 ada');
  });

  it('routes router.ws under a mount prefix', async () => {
    await start((app) => {
      const router = (express as unknown as { Router: () => import('express').Router }).Router();
      router.ws('/chat', async (ws) => ws.send('from router'));
      app.use('/api', router);
    });
    const ws = await connect(`${url}/api/chat`);
    expect(await nextMessage(ws)).toBe('from router');
  });

  it('lets a plain GET to the same path reach the normal HTTP route', async () => {
    await start((app) => {
      app.ws('/echo', async (ws) => ws.send('ws'));
      app.get('/echo', (_req, res) => res.send('page'));
    });
    const res = await fetch(`http://127.0.0.1:${port(server)}/echo`);
    expect(await res.text()).toBe('page');
  });

  it('passes per-route options to the server, over the Sock defaults', async () => {
    const app = express();
    const sock = new Sock(app, { subprotocols: ['a'] });
    sock.route('/proto', async (ws) => ws.send(String(ws.subprotocol)), { subprotocols: ['b', 'a'] });
    app.ws('/default', async (ws) => ws.send(String(ws.subprotocol)));
    server = await listening(app.listen(0, '127.0.0.1'));
    url = `ws://127.0.0.1:${port(server)}`;
    const routed = await connect(`${url}/proto`, ['a', 'b']);
    expect(await nextMessage(routed)).toBe('b');
    const defaulted = await connect(`${url}/default`, ['a', 'b']);
    expect(await nextMessage(defaulted)).toBe('a');
  });

  it('writes nothing to the socket after the close frame', async () => {
    await start((app) => app.ws('/quick', async (ws) => ws.send('bye')));
    const bytes = await new Promise<Buffer>((resolve, reject) => {
      const socket = netConnect(port(server), '127.0.0.1', () => {
        socket.write(
          'GET /quick HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
            'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
        );
      });
      const chunks: Buffer[] = [];
      let answered = false;
      socket.on('data', (d) => {
        chunks.push(d);
        const all = Buffer.concat(chunks);
        // Answer the server's close (masked, empty) once it arrives.
        if (!answered && all.includes(Buffer.from([0x88, 0x02, 0x03, 0xe8]))) {
          answered = true;
          socket.write(Buffer.from([0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8]));
        }
      });
      socket.on('end', () => resolve(Buffer.concat(chunks)));
      socket.on('error', reject);
    });
    const headEnd = bytes.indexOf('\r\n\r\n') + 4;
    expect(bytes.subarray(0, 12).toString()).toBe('HTTP/1.1 101');
    // One text frame, then the 1000 close frame, then the end of the stream.
    expect(bytes.subarray(headEnd).toString('hex')).toBe('8103627965' + '880203e8');
  });
});

/**
 * A handler that leaves `for await (const m of ws)` early: an error thrown
 * in the loop still closes with 1011 (the loop's own close on leaving waits
 * a tick, and the handler's error gets there first); a break closes with
 * 1000 even while the handler has more to do.
 */
import type { Server as HttpServer } from 'node:http';
import express, { type NextFunction, type Request, type Response } from 'express';
import { Sock } from '../src/index';
import { close, closed, connect, listening, port } from './helpers';

let server: HttpServer | undefined;
afterEach(async () => {
  if (server) await close(server);
  server = undefined;
});

async function start(setup: (app: express.Express) => void): Promise<{ url: string; errors: unknown[] }> {
  const app = express();
  new Sock(app);
  const errors: unknown[] = [];
  setup(app);
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    errors.push(err);
    res.status(500).end();
  });
  server = await listening(app.listen(0, '127.0.0.1'));
  return { url: `ws://127.0.0.1:${port(server)}`, errors };
}

test('an error thrown inside for await closes with 1011 and reaches the error middleware', async () => {
  const { url, errors } = await start((app) =>
    app.ws('/strict', async (ws) => {
      for await (const message of ws) {
        if (message === 'bad') throw new Error('bad message');
      }
    }),
  );
  const ws = await connect(`${url}/strict`);
  const done = closed(ws);
  ws.send('bad');
  expect((await done).code).toBe(1011);
  // The error goes to Express after the close completed.
  for (let i = 0; i < 100 && errors.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(errors).toEqual([expect.objectContaining({ message: 'bad message' })]);
});

test('a break closes with 1000 while the handler still runs', async () => {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const { url } = await start((app) =>
    app.ws('/once', async (ws) => {
      for await (const _message of ws) break;
      await released; // more work after the loop: the connection does not wait for it
    }),
  );
  const ws = await connect(`${url}/once`);
  const done = closed(ws);
  ws.send('hello');
  expect((await done).code).toBe(1000);
  release();
});

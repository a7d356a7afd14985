/** `@sock.route(path)` on a class method, as flask-sock's `@sock.route` (TypeScript standard decorators). */
import type { Server as HttpServer } from 'node:http';
import express from 'express';
import type { Server } from '@wsstack/simple-websocket';
import { Sock } from '../src/index';
import { close, connect, listening, nextMessage, port } from './helpers';

describe('@sock.route', () => {
  let server: HttpServer;
  afterEach(() => close(server));

  it('registers a decorated method and calls it on its instance', async () => {
    const app = express();
    const sock = new Sock(app);

    class Chat {
      greeting = 'hello from the instance';

      @sock.route('/greet')
      async greet(ws: Server): Promise<void> {
        await ws.send(this.greeting);
      }
    }
    new Chat();

    server = await listening(app.listen(0, '127.0.0.1'));
    const ws = await connect(`ws://127.0.0.1:${port(server)}/greet`);
    expect(await nextMessage(ws)).toBe('hello from the instance');
  });
});

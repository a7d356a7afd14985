/**
 * `receive()`'s two types on a real socket: without a timeout it resolves a
 * message (or rejects on close), so it is typed `Promise<Message>`; with a
 * timeout it may resolve `undefined`.
 */
import type { WebSocket } from 'ws';
import type { Message, ReceiveOptions } from '../src';
import { openWs, startOurServer, type OurServer } from './helpers';

describe('receive() types', () => {
  let server: OurServer | undefined;
  let client: WebSocket | undefined;
  afterEach(async () => {
    client?.terminate();
    await server?.close();
    server = undefined;
    client = undefined;
  });

  test('without a timeout it resolves a message; with one, a message or undefined', async () => {
    let got!: (value: unknown[]) => void;
    const results = new Promise<unknown[]>((resolve) => (got = resolve));
    server = await startOurServer('raw', async (ws) => {
      // `npm run lint` type-checks these lines: the first compiles only with
      // receive()'s overload, and the @ts-expect-error only while a
      // timeout's result keeps `undefined` in its type.
      const message: Message = await ws.receive();
      const maybe: Message | undefined = await ws.receive({ timeout: 20 });
      // @ts-expect-error a receive with a timeout may resolve undefined
      const notChecked: Message = await ws.receive({ timeout: 0 });
      const plain: Message = await ws.receive({});
      // Options of the wider type may hold a timeout: `undefined` stays possible.
      const options = { timeout: 5000 } as ReceiveOptions | undefined;
      const passedOn: Message | undefined = await ws.receive(options);
      got([message, maybe, notChecked, plain, passedOn]);
    });
    client = await openWs(server.url);
    client.send('first');
    await new Promise((resolve) => setTimeout(resolve, 100));
    client.send('last');
    client.send('passed on');
    expect(await results).toEqual(['first', undefined, undefined, 'last', 'passed on']);
  });
});

/**
 * Leaving `for await (const m of ws)` early, on real sockets: the loop was
 * the connection's reader, so leaving it closes the connection with 1000,
 * unless the code right after the loop closes with a code of its own.
 */
import type { WebSocket } from 'ws';
import { Client, type Message, type Server } from '../src';
import { openWs, startOurServer, startWsServer, wsClosed, type OurServer } from './helpers';

/** `promise`, or a rejection saying what never happened within `ms`. */
function within<T>(promise: Promise<T>, what: string, ms = 5000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

describe('for await over a Server, left early', () => {
  let server: OurServer | undefined;
  let client: WebSocket | undefined;
  afterEach(async () => {
    client?.terminate();
    client = undefined;
    await server?.close();
    server = undefined;
  });

  test('break closes the connection with 1000 while the handler runs on', async () => {
    let later!: (value: { seen: Message[]; queued: Message | undefined }) => void;
    const afterLoop = new Promise<{ seen: Message[]; queued: Message | undefined }>((resolve) => (later = resolve));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    server = await startOurServer('raw', async (ws) => {
      const seen: Message[] = [];
      for await (const message of ws) {
        seen.push(message);
        if (message === 'stop') break;
      }
      // The handler is not done: only the loop is. The connection must not wait for it.
      await new Promise((resolve) => setTimeout(resolve, 50));
      later({ seen, queued: await ws.receive({ timeout: 0 }) });
      await released;
    });
    client = await openWs(server.url);
    const closed = wsClosed(client);
    client.send('a');
    client.send('stop');
    client.send('after'); // sent before the close: still receivable after the loop
    expect(await within(closed, 'the client saw no close frame')).toEqual({ code: 1000, reason: '' });
    expect(await afterLoop).toEqual({ seen: ['a', 'stop'], queued: 'after' });
    expect(server.accepted[0].closeCode).toBe(1000);
    release();
  });

  test('the code right after the loop can still close with its own code', async () => {
    server = await startOurServer('upgrade', async (ws) => {
      for await (const message of ws) {
        if (message === 'stop') break;
      }
      await ws.close(4001, 'done with you');
    });
    client = await openWs(server.url);
    const closed = wsClosed(client);
    client.send('stop');
    expect(await within(closed, 'the client saw no close frame')).toEqual({ code: 4001, reason: 'done with you' });
  });

  test('an error thrown in the loop leaves the close to the code that catches it', async () => {
    server = await startOurServer('raw', async (ws: Server) => {
      try {
        for await (const message of ws) {
          if (message === 'bad') throw new Error('cannot handle it');
        }
      } catch {
        await ws.closeWithStatus(1011, 'handler failed');
      }
    });
    client = await openWs(server.url);
    const closed = wsClosed(client);
    client.send('bad');
    expect(await within(closed, 'the client saw no close frame')).toEqual({ code: 1011, reason: 'handler failed' });
  });
});

describe('for await over a Client, left early', () => {
  test('break closes the connection with 1000', async () => {
    const server = await startWsServer();
    try {
      const peerClosed = new Promise<number>((resolve) => {
        server.wss.on('connection', (peer: WebSocket) => {
          peer.on('close', (code) => resolve(code));
          peer.send('one');
          peer.send('two');
        });
      });
      const client = await Client.connect(server.url);
      for await (const message of client) {
        expect(message).toBe('one');
        break;
      }
      expect(await within(peerClosed, 'the server saw no close frame')).toBe(1000);
      expect(client.closeCode).toBe(1000);
    } finally {
      await server.close();
    }
  });
});

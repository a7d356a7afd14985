/**
 * Byte-level interop with the `ws` package (no compression): frames ws's
 * Sender writes decode in our Connection, and frames we encode decode in
 * ws's Receiver. Both roles.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import {
  BytesMessage,
  CloseConnection,
  Connection,
  ConnectionType,
  Ping,
  Pong,
  TextMessage,
} from '@wsstack/wsproto';
import { concat, joinMessages, type Message } from './helpers/frames';

const load = createRequire(__filename);
// ws's exports map hides lib/: resolve its files from the package root.
const wsRoot = dirname(load.resolve('ws/package.json'));

interface WsSender {
  send(data: string | Buffer, options: { binary?: boolean; fin?: boolean; mask?: boolean; compress?: boolean }): void;
  ping(data: Buffer, mask: boolean): void;
  pong(data: Buffer, mask: boolean): void;
  close(code: number | undefined, reason: string, mask: boolean): void;
}
type WsSenderCtor = new (socket: unknown, extensions?: object, generateMask?: (b: Buffer) => void) => WsSender;
interface WsReceiver {
  write(chunk: Buffer): boolean;
  on(event: 'message', fn: (data: Buffer, isBinary: boolean) => void): this;
  on(event: 'ping' | 'pong', fn: (data: Buffer) => void): this;
  on(event: 'conclude', fn: (code: number, reason: Buffer) => void): this;
  on(event: 'error', fn: (error: Error) => void): this;
}
type WsReceiverCtor = new (options: { isServer: boolean; maxPayload?: number }) => WsReceiver;

const Sender = load(join(wsRoot, 'lib/sender.js')) as WsSenderCtor;
const Receiver = load(join(wsRoot, 'lib/receiver.js')) as WsReceiverCtor;

/** A socket stand-in for ws's Sender: collects what it writes. */
function fakeSocket(): { socket: object; bytes: () => Uint8Array } {
  const parts: Uint8Array[] = [];
  const socket = {
    // ws writes an unmasked text payload as the string itself.
    write(chunk: Uint8Array | string, cb?: () => void) {
      parts.push(Uint8Array.from(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk));
      cb?.();
      return true;
    },
    cork() {},
    uncork() {},
  };
  return { socket, bytes: () => concat(parts) };
}

/** What ws's Receiver saw, in our Message shape. */
function receiveWithWs(isServer: boolean, chunks: Uint8Array[]): { messages: Message[]; error?: Error } {
  const receiver = new Receiver({ isServer, maxPayload: 0 });
  const messages: Message[] = [];
  let error: Error | undefined;
  receiver.on('message', (data, isBinary) => messages.push(isBinary ? { bytes: Array.from(data) } : { text: data.toString('utf8') }));
  receiver.on('ping', (data) => messages.push({ ping: Array.from(data) }));
  receiver.on('pong', (data) => messages.push({ pong: Array.from(data) }));
  receiver.on('conclude', (code, reason) => messages.push({ close: code, reason: reason.toString('utf8') }));
  receiver.on('error', (e) => {
    error = e;
  });
  for (const chunk of chunks) receiver.write(Buffer.from(chunk));
  return error ? { messages, error } : { messages };
}

const big = Buffer.alloc(200_000, 0).map((_, i) => (i * 13) & 0xff);
const text300 = 'ü€😀'.repeat(40);

/** The same script of messages through ws's Sender, and what it must decode to. */
function sendScript(sender: WsSender, mask: boolean): Message[] {
  sender.send('Hello', { fin: true, mask });
  sender.send(Buffer.from([0, 1, 2, 255]), { binary: true, fin: true, mask });
  sender.send('Hel', { fin: false, mask });
  sender.ping(Buffer.from('mid'), mask);
  sender.send('lo', { fin: true, mask });
  sender.send(Buffer.from(big), { binary: true, fin: true, mask });
  sender.send(text300, { fin: true, mask });
  sender.send('', { fin: true, mask });
  sender.pong(Buffer.from('p'), mask);
  sender.close(4000, 'done', mask);
  return [
    { text: 'Hello' },
    { bytes: [0, 1, 2, 255] },
    { ping: Array.from(Buffer.from('mid')) },
    { text: 'Hello' },
    { bytes: Array.from(big) },
    { text: text300 },
    { text: '' },
    { pong: [0x70] },
    { close: 4000, reason: 'done' },
  ];
}

function decodeWithOurs(type: ConnectionType, bytes: Uint8Array, chunkSize: number): Message[] {
  const conn = new Connection({ type });
  const events = [];
  for (let i = 0; i < bytes.length; i += chunkSize) {
    conn.receiveData(bytes.slice(i, i + chunkSize));
    events.push(...conn.events());
  }
  return joinMessages(events);
}

describe('ws Sender → our Connection', () => {
  test.each([
    ['server', ConnectionType.SERVER, true],
    ['client', ConnectionType.CLIENT, false],
  ])('as %s, whole and in 1460- and 7-byte chunks', (_role, type, mask) => {
    const { socket, bytes } = fakeSocket();
    const expected = sendScript(new Sender(socket), mask);
    const wire = bytes();
    for (const chunkSize of [wire.length, 1460, 7]) expect(decodeWithOurs(type, wire, chunkSize)).toEqual(expected);
  });

  test('a close without a code from ws is 1005', () => {
    const { socket, bytes } = fakeSocket();
    new Sender(socket).close(undefined, '', true);
    expect(decodeWithOurs(ConnectionType.SERVER, bytes(), 100)).toEqual([{ close: 1005, reason: '' }]);
  });
});

describe('our Connection → ws Receiver', () => {
  function ourScript(conn: Connection): { wire: Uint8Array[]; expected: Message[] } {
    const wire = [
      conn.send(new TextMessage({ data: 'Hello' })),
      conn.send(new BytesMessage({ data: Uint8Array.of(0, 1, 2, 255) })),
      conn.send(new TextMessage({ data: 'Hel', messageFinished: false })),
      conn.send(new Ping({ payload: Uint8Array.of(1, 2) })),
      conn.send(new TextMessage({ data: 'lo' })),
      conn.send(new BytesMessage({ data: Uint8Array.from(big) })),
      conn.send(new BytesMessage({ data: Uint8Array.of(9), messageFinished: false })),
      conn.send(new BytesMessage({ data: Uint8Array.of(8) })),
      conn.send(new TextMessage({ data: text300 })),
      conn.send(new Pong({ payload: Uint8Array.of(7) })),
      conn.send(new CloseConnection({ code: 1001, reason: 'bye' })),
    ];
    const expected: Message[] = [
      { text: 'Hello' },
      { bytes: [0, 1, 2, 255] },
      { ping: [1, 2] },
      { text: 'Hello' },
      { bytes: Array.from(big) },
      { bytes: [9, 8] },
      { text: text300 },
      { pong: [7] },
      { close: 1001, reason: 'bye' },
    ];
    return { wire, expected };
  }

  test.each([
    ['client → ws server', ConnectionType.CLIENT, true],
    ['server → ws client', ConnectionType.SERVER, false],
  ])('%s, whole and in 1460-byte chunks', (_name, type, wsIsServer) => {
    const { wire, expected } = ourScript(new Connection({ type }));
    expect(receiveWithWs(wsIsServer, wire)).toEqual({ messages: expected });
    const all = concat(wire);
    const chunks = [];
    for (let i = 0; i < all.length; i += 1460) chunks.push(all.subarray(i, i + 1460));
    expect(receiveWithWs(wsIsServer, chunks)).toEqual({ messages: expected });
  });

  test('an empty close (1005) decodes in ws as 1005', () => {
    const conn = new Connection({ type: ConnectionType.CLIENT });
    expect(receiveWithWs(true, [conn.send(new CloseConnection({ code: 1005 }))])).toEqual({ messages: [{ close: 1005, reason: '' }] });
  });
});

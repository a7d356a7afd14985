/**
 * permessage-deflate against the `ws` package at the byte level: ws's own
 * PerMessageDeflate (zlib) through its Sender and Receiver, both roles, with
 * and without context takeover, fragmented and large.
 */
import WebSocket from 'ws';
import { Connection, ConnectionType } from '../src/connection';
import { BytesMessage, TextMessage, type Event } from '../src/events';
import { PerMessageDeflate } from '../src/permessage-deflate';

type Message = string | Buffer;

// ws exposes these on its main export at run time; @types/ws does not declare them.
interface WsDeflate {
  accept(configurations: Array<Record<string, true[]>>): unknown;
}
interface WsSender {
  send(data: Message, options: object, cb: (err?: Error | null) => void): void;
}
interface WsReceiver {
  on(event: 'message', fn: (data: Buffer, isBinary: boolean) => void): this;
  on(event: 'error', fn: (err: Error) => void): this;
  write(chunk: Buffer): boolean;
}
const wsInternals = WebSocket as unknown as {
  PerMessageDeflate: new (options: object, isServer: boolean, maxPayload: number) => WsDeflate;
  Sender: new (socket: unknown, extensions: object) => WsSender;
  Receiver: new (options: object) => WsReceiver;
};
const { PerMessageDeflate: WsDeflateCtor, Sender, Receiver } = wsInternals;
const text = JSON.stringify(Array.from({ length: 3000 }, (_, i) => ({ id: i, tag: `t${i % 7}`, note: 'héllo wörld ✓' })));
const large = Buffer.from(Array.from({ length: 1 << 20 }, (_, i) => (i % 251) ^ (i >> 12)));
const cases: Array<[string, string]> = [
  ['with context takeover', ''],
  ['without context takeover', 'server_no_context_takeover; client_no_context_takeover'],
];

function ours(role: ConnectionType, params: string): Connection {
  const pmd = new PerMessageDeflate({ threshold: 0 });
  if (role === ConnectionType.SERVER) pmd.accept(params);
  else pmd.finalize(params);
  return new Connection({ type: role, extensions: [pmd] });
}

function theirs(isServer: boolean, params: string): WsDeflate {
  const pmd = new WsDeflateCtor({ threshold: 0 }, isServer, 0);
  const parsed: Record<string, true[]> = {};
  for (const p of params.split(';').map((s) => s.trim()).filter(Boolean)) parsed[p] = [true];
  pmd.accept([parsed]);
  return pmd;
}

function collect(conn: Connection, bytes: Buffer): Message[] {
  conn.receiveData(bytes);
  const out: Message[] = [];
  let parts: Array<string | Uint8Array> = [];
  for (const ev of conn.events() as Iterable<Event>) {
    if (ev instanceof TextMessage || ev instanceof BytesMessage) {
      parts.push(ev.data);
      if (ev.messageFinished) {
        out.push(ev instanceof TextMessage ? parts.join('') : Buffer.concat(parts as Uint8Array[]));
        parts = [];
      }
    } else {
      throw new Error(`unexpected ${ev.type}`);
    }
  }
  return out;
}

/** Frames ws's Sender writes for `messages`, compressed, as one buffer. */
async function wsFrames(pmd: WsDeflate, mask: boolean, messages: Array<{ data: Message; fin?: boolean }>): Promise<Buffer> {
  const written: Buffer[] = [];
  const socket = {
    write(b: Buffer, cb?: () => void) {
      written.push(Buffer.from(b));
      if (cb) queueMicrotask(cb);
      return true;
    },
    cork() {},
    uncork() {},
  };
  const sender = new Sender(socket, { 'permessage-deflate': pmd });
  await Promise.all(
    messages.map(
      (m) =>
        new Promise<void>((resolve, reject) =>
          sender.send(m.data, { binary: typeof m.data !== 'string', compress: true, fin: m.fin ?? true, mask }, (err?: Error | null) =>
            err ? reject(err) : resolve(),
          ),
        ),
    ),
  );
  return Buffer.concat(written);
}

/** Messages ws's Receiver reads from `bytes`. */
function wsReceive(pmd: WsDeflate, isServer: boolean, bytes: Buffer, count: number): Promise<Message[]> {
  return new Promise((resolve, reject) => {
    const receiver = new Receiver({ isServer, extensions: { 'permessage-deflate': pmd }, maxPayload: 0 });
    const got: Message[] = [];
    receiver.on('message', (data: Buffer, isBinary: boolean) => {
      got.push(isBinary ? data : data.toString());
      if (got.length === count) resolve(got);
    });
    receiver.on('error', reject);
    receiver.write(bytes);
  });
}

/**
 * The same messages, same types, same bytes. Buffer.equals, not toEqual:
 * Jest compares a 1 MiB buffer element by element, ~15 s a test.
 */
function expectMessages(got: Message[], expected: Message[]): void {
  expect(got.map((m) => typeof m)).toEqual(expected.map((m) => typeof m));
  got.forEach((m, i) => {
    const want = expected[i];
    if (typeof want === 'string') expect(m).toBe(want);
    else expect(Buffer.from(m as Buffer).equals(want)).toBe(true);
  });
}

describe.each(cases)('permessage-deflate interop with ws, %s', (_, params) => {
  const messages: Message[] = ['Hello', 'Hello', text, large, ''];

  it('ws client frames inflate in our server', async () => {
    const bytes = await wsFrames(theirs(false, params), true, messages.map((data) => ({ data })));
    expectMessages(collect(ours(ConnectionType.SERVER, params), bytes), messages);
  });

  it('ws server frames inflate in our client, fragmented', async () => {
    const bytes = await wsFrames(theirs(true, params), false, [
      { data: text.slice(0, 1000), fin: false },
      { data: text.slice(1000) },
      { data: 'Hello' },
    ]);
    expectMessages(collect(ours(ConnectionType.CLIENT, params), bytes), [text, 'Hello']);
  });

  it('our client frames inflate in ws server', async () => {
    const client = ours(ConnectionType.CLIENT, params);
    const bytes = Buffer.concat(messages.map((m) => client.send(typeof m === 'string' ? new TextMessage({ data: m }) : new BytesMessage({ data: m }))));
    expectMessages(await wsReceive(theirs(true, params), true, bytes, messages.length), messages);
  });

  it('our server frames inflate in ws client, fragmented', async () => {
    const server = ours(ConnectionType.SERVER, params);
    const bytes = Buffer.concat([
      server.send(new BytesMessage({ data: large.subarray(0, 5000), messageFinished: false })),
      server.send(new BytesMessage({ data: large.subarray(5000) })),
      server.send(new TextMessage({ data: text })),
    ]);
    expectMessages(await wsReceive(theirs(false, params), false, bytes, 2), [large, text]);
  });
});

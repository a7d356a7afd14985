/**
 * The demo's inspector and lab on real sockets (127.0.0.1), without a
 * browser: sessions see their own connections only, records link to the
 * lines that define their step, frames are labelled, and each hard case of
 * the lab ends with the close code the server's layers decide on.
 */
import * as http from 'node:http';
import type { Server as HttpServer } from 'node:http';
import WebSocket from 'ws';
import { tracing } from '@wsstack/wsproto/internal';
import { close, listening, port } from './helpers';

// The demo is plain CommonJS; jest maps its @wsstack/* imports to source.
/* eslint-disable @typescript-eslint/no-require-imports */
const { createApp } = require('../../../examples/demo/app.js') as {
  createApp: (options?: { inspector?: boolean }) => import('express').Express;
};
const { labelFrame } = require('../../../examples/demo/frame-labels.js') as {
  labelFrame: (bytes: Uint8Array) => Array<{ hex: string; field: string; value: string }> | null;
};
const { definitionsOf } = require('../../../docs/test/definitions.js') as {
  definitionsOf: (name: string) => Array<[string, [number, number]]>;
};
/* eslint-enable @typescript-eslint/no-require-imports */

interface Item {
  conn: number;
  role: string;
  layer: string;
  fn: string;
  detail: string;
  path: string;
  link: { href: string; at: string } | null;
  frame?: Array<{ hex: string; field: string; value: string }>;
  http?: string;
  headers?: Array<[string, string]>;
}
interface Message {
  type: string;
  records?: Item[];
  name?: string;
  result?: { replies: string[]; close: { code: number; reason: string } | null };
  error?: string;
}

function get(url: string, headers: http.OutgoingHttpHeaders = {}): Promise<{ status: number; cookie: string; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode!, cookie: (res.headers['set-cookie']?.[0] ?? '').split(';')[0], body }));
      })
      .on('error', reject);
  });
}

/** A WebSocket client that keeps every message and the refusal status, if any. */
function open(url: string, headers: Record<string, string> = {}): Promise<{ ws: WebSocket; messages: Message[] }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    const messages: Message[] = [];
    // The inspector speaks JSON; /echo just echoes.
    ws.on('message', (data: Buffer) => {
      const text = data.toString('utf8');
      messages.push(text.startsWith('{') ? (JSON.parse(text) as Message) : { type: 'text' });
    });
    ws.once('open', () => resolve({ ws, messages }));
    ws.once('unexpected-response', (_req, res) => {
      reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { statusCode: res.statusCode }));
      ws.terminate();
    });
    ws.once('error', reject);
  });
}

async function until<T>(find: () => T | undefined, what: string): Promise<T> {
  for (let i = 0; i < 500; i++) {
    const found = find();
    if (found !== undefined) return found;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const recordsOf = (messages: Message[]): Item[] => messages.flatMap((m) => m.records ?? []);

describe('the demo with the inspector off', () => {
  let server: HttpServer;
  beforeAll(async () => {
    server = await listening(createApp().listen(0, '127.0.0.1'));
  });
  afterAll(() => close(server));

  test('says so, sets no cookie, has no /inspect, and installs no trace sink', async () => {
    const status = await get(`http://127.0.0.1:${port(server)}/inspector/status`);
    expect(JSON.parse(status.body)).toEqual({ enabled: false });
    expect((await get(`http://127.0.0.1:${port(server)}/`)).cookie).toBe('');
    await expect(open(`ws://127.0.0.1:${port(server)}/inspect`)).rejects.toMatchObject({ statusCode: 404 });
    expect(tracing).toBe(false);
  });
});

describe('the demo with the inspector on', () => {
  let app: import('express').Express;
  let server: HttpServer;
  let base: string;
  const sockets: WebSocket[] = [];

  /** A visitor: a session cookie from the page, and its inspector. */
  async function visitor(): Promise<{ cookie: string; inspector: Message[]; send: (m: object) => void }> {
    const { cookie } = await get(`${base.replace('ws:', 'http:')}/`);
    expect(cookie).toMatch(/^wsstack-demo=[\w-]{24}$/);
    const { ws, messages } = await open(`${base}/inspect`, { cookie, origin: base.replace('ws:', 'http:') });
    sockets.push(ws);
    await until(() => messages.find((m) => m.type === 'hello'), 'hello');
    return { cookie, inspector: messages, send: (m) => ws.send(JSON.stringify(m)) };
  }

  beforeAll(async () => {
    app = createApp({ inspector: true });
    server = await listening(app.listen(0, '127.0.0.1'));
    base = `ws://127.0.0.1:${port(server)}`;
  });
  afterAll(async () => {
    for (const ws of sockets) ws.terminate();
    (app.locals.inspector as { stop(): void }).stop();
    await close(server);
  });

  test('/inspect refuses an upgrade without a session, or from a page of another origin', async () => {
    await expect(open(`${base}/inspect`)).rejects.toMatchObject({ statusCode: 403 });
    await expect(open(`${base}/inspect`, { cookie: 'wsstack-demo=made-up' })).rejects.toMatchObject({ statusCode: 403 });
    const { cookie } = await get(`${base.replace('ws:', 'http:')}/`);
    await expect(open(`${base}/inspect`, { cookie, origin: 'http://evil.example' })).rejects.toMatchObject({ statusCode: 403 });
  });

  test("each session sees its own connections, never another's, and not its inspector's", async () => {
    const alice = await visitor();
    const bob = await visitor();
    const a = await open(`${base}/echo`, { cookie: alice.cookie });
    const b = await open(`${base}/echo`, { cookie: bob.cookie });
    sockets.push(a.ws, b.ws);
    a.ws.send('secret from alice');
    b.ws.send('hello from bob');
    await until(() => recordsOf(alice.inspector).find((r) => r.detail === 'TextMessage "secret from alice"' && r.fn === 'Connection.nextEvent'), "alice's message");
    await until(() => recordsOf(bob.inspector).find((r) => r.detail === 'TextMessage "hello from bob"' && r.fn === 'Connection.nextEvent'), "bob's message");
    await new Promise((resolve) => setTimeout(resolve, 100));
    const aliceConns = new Set(recordsOf(alice.inspector).map((r) => r.conn));
    const bobRecords = recordsOf(bob.inspector);
    expect(bobRecords.some((r) => r.detail.includes('alice'))).toBe(false);
    expect(bobRecords.filter((r) => aliceConns.has(r.conn))).toEqual([]);
    // Both saw their own handshake, from the first step, and nothing of /inspect.
    for (const records of [recordsOf(alice.inspector), bobRecords]) {
      expect(records[0]).toMatchObject({ layer: 'express-sock', fn: 'dispatch', detail: 'upgrade GET /echo through Express' });
      expect(records.every((r) => r.path === '/echo')).toBe(true);
    }
    // The session cookie is HttpOnly: the trace does not hand it to the page either.
    const headers = recordsOf(alice.inspector).find((r) => r.fn === 'WSConnection.initiateUpgradeConnection')!.headers!;
    expect(headers).toContainEqual(['cookie', 'wsstack-demo=(hidden)']);
  });

  test("a record links its step to the lines that define it, and the frame's fields are labelled", async () => {
    const me = await visitor();
    const echo = await open(`${base}/echo`, { cookie: me.cookie });
    sockets.push(echo.ws);
    echo.ws.send('Hello');
    const header = await until(() => recordsOf(me.inspector).find((r) => r.fn === 'FrameDecoder.readHeader'), 'the frame');
    for (const r of recordsOf(me.inspector)) {
      const [[file, [start, end]]] = definitionsOf(r.fn);
      expect(r.link).toEqual({ href: `/source/${file}#L${start}-L${end}`, at: `${file.split('/').pop()}:${start}` });
    }
    expect(header.frame!.map((f) => f.field)).toEqual(['FIN, RSV1-3, opcode', 'MASK, length', 'masking key', 'payload, masked']);
    expect(header.frame![0]).toMatchObject({ hex: '81', value: 'FIN=1 RSV=000 opcode=0x1 (text)' });
    expect(header.frame![1]).toMatchObject({ hex: '85', value: 'MASK=1 length=5' });
    expect(header.frame![3].value).toBe('unmasked: 48 65 6c 6c 6f = "Hello"');
    const sent = await until(() => recordsOf(me.inspector).find((r) => r.fn === 'FrameProtocol.sendData'), 'the echo');
    expect(sent.frame!.map((f) => f.hex)).toEqual(['81', '05', '48 65 6c 6c 6f']);
    // The link opens the source with that function's first line marked by its anchor.
    const page = await get(`${base.replace('ws:', 'http:')}${header.link!.href.split('#')[0]}`);
    const line = Number(/#L(\d+)/.exec(header.link!.href)![1]);
    expect(page.body).toMatch(new RegExp(`id="L${line}"><a href="#L${line}">${line}</a>\\s*readHeader\\(\\): boolean \\{`));
  });

  test('source pages show package sources and nothing else', async () => {
    const http0 = base.replace('ws:', 'http:');
    expect((await get(`${http0}/source/packages/wsproto/src/mask.ts`)).status).toBe(200);
    expect((await get(`${http0}/source/packages/wsproto/src/nope.ts`)).status).toBe(404);
    expect((await get(`${http0}/source/package.json`)).status).toBe(404);
    expect((await get(`${http0}/source/packages/wsproto/src/%2e%2e/package.json`)).status).toBe(404);
  });

  const cases: Array<[string, number | undefined, number, string]> = [
    ['fragmented', undefined, 1000, 'TextMessage "Hello, fragmented world"'],
    ['ping', undefined, 1000, 'Pong are you there?'],
    ['invalid-utf8', undefined, 1007, ''],
    ['oversized', undefined, 1009, ''],
    ['unmasked', undefined, 1002, ''],
    ['close', 4000, 4000, ''],
    ['close', 1005, 1002, ''],
    ['close', 999, 1002, ''],
  ];
  test.each(cases)('the lab: %s (code %s) ends with close %s', async (name, code, closeCode, reply) => {
    const me = await visitor();
    me.send({ lab: name, code });
    const done = await until(() => me.inspector.find((m) => m.type === 'lab'), 'the lab');
    expect(done.error).toBeUndefined();
    expect(done.result!.close!.code).toBe(closeCode);
    if (reply !== '') expect(done.result!.replies).toEqual([reply]);
    // Both ends are the visitor's to watch: the lab's raw client and the server's socket.
    const records = recordsOf(me.inspector);
    expect(new Set(records.map((r) => r.role))).toEqual(new Set(['client', 'server']));
    expect(records.some((r) => r.role === 'server' && r.fn === 'FrameProtocol.close' && r.frame![2]?.value.startsWith(`code ${closeCode}`))).toBe(true);
  });
});

describe('labelFrame, on the RFC 6455 examples (section 5.7)', () => {
  const bytes = (hex: string): Uint8Array => Uint8Array.from(Buffer.from(hex.replace(/ /g, ''), 'hex'));
  const fields = (hex: string): string[] => labelFrame(bytes(hex))!.map((f) => `${f.hex} | ${f.value}`);

  test('a single-frame unmasked text message', () => {
    expect(fields('81 05 48 65 6c 6c 6f')).toEqual(['81 | FIN=1 RSV=000 opcode=0x1 (text)', '05 | MASK=0 length=5', '48 65 6c 6c 6f | "Hello"']);
  });
  test('a single-frame masked text message', () => {
    expect(fields('81 85 37 fa 21 3d 7f 9f 4d 51 58')[3]).toBe('7f 9f 4d 51 58 | unmasked: 48 65 6c 6c 6f = "Hello"');
  });
  test('a fragmented unmasked text message', () => {
    expect(fields('01 03 48 65 6c')[0]).toBe('01 | FIN=0 RSV=000 opcode=0x1 (text)');
    expect(fields('80 02 6c 6f')).toEqual(['80 | FIN=1 RSV=000 opcode=0x0 (continuation)', '02 | MASK=0 length=2', '6c 6f | continues the message: "lo"']);
  });
  test('an unmasked ping and a masked pong', () => {
    expect(fields('89 05 48 65 6c 6c 6f')[2]).toBe('48 65 6c 6c 6f | "Hello"');
    expect(fields('8a 85 37 fa 21 3d 7f 9f 4d 51 58')[0]).toBe('8a | FIN=1 RSV=000 opcode=0xa (pong)');
  });
  test('256 bytes of binary in one unmasked frame: a 16-bit length', () => {
    const out = labelFrame(bytes('82 7e 01 00' + '00'.repeat(256)))!;
    expect(out[2]).toMatchObject({ hex: '01 00', field: 'extended length', value: '256 bytes' });
    expect(out[3].value).toBe('binary (shown: the first 48 of 256 bytes)');
  });
  test('a close frame: its code and reason', () => {
    expect(fields('88 05 03 e8 62 79 65')[2]).toBe('03 e8 62 79 65 | code 1000, reason "bye"');
  });
});

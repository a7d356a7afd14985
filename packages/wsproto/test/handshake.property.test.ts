/**
 * Incremental parsing: any split of the handshake's bytes, down to one byte
 * at a time, gives the same events, the same error, and the same frames after.
 */
import fc from 'fast-check';
import {
  AcceptConnection,
  ConnectionType,
  Handshake,
  Opcode,
  RejectConnection,
  RejectData,
  RemoteProtocolError,
  Request,
  generateAcceptToken,
  type Event,
  type RandomSource,
} from '@wsstack/wsproto';
import { clientFrame, concat, joinMessages, rawFrame, type Message } from './helpers/frames';

const bytes = (text: string): Uint8Array => Uint8Array.from(text, (c) => c.charCodeAt(0));
const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const rfcNonce: RandomSource = (buffer) => buffer.set(bytes('the sample nonce').subarray(0, buffer.length));

/** Cuts `input` at the given points (any order, duplicates allowed). */
function split(input: Uint8Array, points: number[]): Uint8Array[] {
  const cuts = [...new Set(points.map((p) => p % (input.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let start = 0;
  for (const cut of [...cuts, input.length]) {
    if (cut >= start) out.push(input.subarray(start, cut));
    start = cut;
  }
  return out;
}

const oneByteAtATime = (input: Uint8Array): Uint8Array[] => Array.from(input, (_, i) => input.subarray(i, i + 1));

/** What a handshake made of the input, in a form that does not depend on chunking. */
interface Outcome {
  events: unknown[];
  error: { code: string; status: number | undefined } | null;
  messages: Message[];
}

/** The handshake events, with RejectData pieces joined and their bodyFinished flags checked. */
function normalize(events: Event[]): unknown[] {
  const out: unknown[] = [];
  let body: number[] | null = null;
  for (const e of events) {
    if (e instanceof RejectData) {
      expect(body === null && out.at(-1) === 'body-finished').toBe(false);
      body = [...(body ?? []), ...e.data];
      if (e.bodyFinished) {
        out.push({ body: String.fromCharCode(...body) }, 'body-finished');
        body = null;
      }
    } else if (e instanceof Request) {
      out.push({ ...e });
    } else if (e instanceof AcceptConnection) {
      out.push({ subprotocol: e.subprotocol, extraHeaders: e.extraHeaders });
    } else if (e instanceof RejectConnection) {
      out.push({ ...e });
    }
  }
  if (body !== null) out.push({ body: String.fromCharCode(...body) }, 'body-open');
  return out;
}

/** Runs a server handshake over the chunks, accepting when the Request comes; then reads the frames. */
function serverOutcome(chunks: Uint8Array[]): Outcome {
  const hs = new Handshake(ConnectionType.SERVER);
  const events: Event[] = [];
  let error: Outcome['error'] = null;
  try {
    for (const chunk of chunks) {
      hs.receiveData(Uint8Array.from(chunk));
      for (const event of hs.events()) {
        events.push(event);
        if (event instanceof Request) hs.send(new AcceptConnection());
      }
    }
  } catch (e) {
    if (!(e instanceof RemoteProtocolError)) throw e;
    error = { code: e.code, status: e.eventHint?.statusCode };
  }
  const frames = hs.connection ? [...hs.connection.events()] : [];
  return { events: normalize(events), error, messages: joinMessages(frames) };
}

/** Runs a client handshake (request already sent) over the chunks, then EOF. */
function clientOutcome(chunks: Uint8Array[], eof: boolean): Outcome {
  const hs = new Handshake(ConnectionType.CLIENT, { random: rfcNonce });
  hs.send(new Request({ host: 'h', target: '/', subprotocols: ['chat'] }));
  const events: Event[] = [];
  let error: Outcome['error'] = null;
  try {
    for (const chunk of [...chunks, ...(eof ? [null] : [])]) {
      hs.receiveData(chunk && Uint8Array.from(chunk));
      events.push(...hs.events());
    }
  } catch (e) {
    if (!(e instanceof RemoteProtocolError)) throw e;
    error = { code: e.code, status: e.eventHint?.statusCode };
  }
  const frames = hs.connection ? [...hs.connection.events()].filter((e) => e.type !== 'CloseConnection' || eof) : [];
  return { events: normalize(events), error, messages: joinMessages(frames) };
}

// Arbitraries.

const token = fc.stringMatching(/^[a-z][a-z0-9-]{0,11}$/);
const headerValue = fc.stringMatching(/^[!-~]([ -~]{0,30}[!-~])?$/);
const spaces = fc.stringMatching(/^[ \t]{0,3}$/);
const casing = (name: string) =>
  fc.array(fc.boolean(), { minLength: name.length, maxLength: name.length }).map((upper) =>
    Array.from(name, (c, i) => (upper[i] ? c.toUpperCase() : c.toLowerCase())).join(''),
  );
const text = fc.string({ unit: 'grapheme', maxLength: 40 });

/** A faulty variant of the request and the status its refusal must carry. */
type Fault = { name: string; status: number; edit: (headers: Array<[string, string]>) => Array<[string, string]>; method?: string; version?: string };
const FAULTS: Fault[] = [
  { name: 'none', status: 0, edit: (h) => h },
  { name: 'POST', status: 405, edit: (h) => h, method: 'POST' },
  { name: 'HTTP/1.0', status: 400, edit: (h) => h, version: '1.0' },
  { name: 'no Host', status: 400, edit: (h) => h.filter(([n]) => n.toLowerCase() !== 'host') },
  { name: 'no Upgrade', status: 400, edit: (h) => h.filter(([n]) => n.toLowerCase() !== 'upgrade') },
  { name: 'no Connection', status: 400, edit: (h) => h.filter(([n]) => n.toLowerCase() !== 'connection') },
  { name: 'bad key', status: 400, edit: (h) => h.map(([n, v]) => [n, n.toLowerCase() === 'sec-websocket-key' ? 'short==' : v]) },
  { name: 'version 8', status: 426, edit: (h) => h.map(([n, v]) => [n, n.toLowerCase() === 'sec-websocket-version' ? '8' : v]) },
  { name: 'too many headers', status: 431, edit: (h) => [...h, ...Array.from({ length: 130 }, (_, i): [string, string] => [`x-${i}`, 'v'])] },
  { name: 'too many bytes', status: 431, edit: (h) => [...h, ['x-big', 'b'.repeat(17000)]] },
];

const requestCase = fc
  .record({
    target: fc.stringMatching(/^\/[a-z0-9/?=&%]{0,20}$/),
    names: fc.tuple(casing('host'), casing('upgrade'), casing('connection'), casing('sec-websocket-key'), casing('sec-websocket-version')),
    ows: fc.tuple(spaces, spaces),
    connection: fc.constantFrom('Upgrade', 'keep-alive, Upgrade', 'UPGRADE'),
    subprotocols: fc.array(token, { maxLength: 3 }),
    offers: fc.array(fc.tuple(token, fc.option(token, { nil: undefined })), { maxLength: 3 }),
    extra: fc.array(fc.tuple(token.map((t) => `x-${t}`), headerValue), { maxLength: 4 }),
    messages: fc.array(text, { maxLength: 3 }),
    fault: fc.constantFrom(...FAULTS),
  })
  .map((c) => {
    const [host, upgrade, connection, key, version] = c.names;
    let headers: Array<[string, string]> = [
      [host, 'server.example.com'],
      [upgrade, 'websocket'],
      [connection, c.connection],
      [key, KEY],
      [version, '13'],
      ...c.extra,
    ];
    if (c.subprotocols.length > 0) headers.push(['Sec-WebSocket-Protocol', c.subprotocols.join(', ')]);
    if (c.offers.length > 0) headers.push(['Sec-WebSocket-Extensions', c.offers.map(([n, p]) => (p ? `${n}; ${p}` : n)).join(', ')]);
    headers = c.fault.edit(headers);
    const head =
      `${c.fault.method ?? 'GET'} ${c.target} HTTP/${c.fault.version ?? '1.1'}\r\n` +
      headers.map(([n, v]) => `${n}:${c.ows[0]}${v}${c.ows[1]}\r\n`).join('') +
      '\r\n';
    const frames = c.messages.map((m) => clientFrame({ opcode: Opcode.TEXT, payload: m }));
    return { input: concat([bytes(head), ...frames]), fault: c.fault, messages: c.messages, subprotocols: c.subprotocols };
  });

const ACCEPT = generateAcceptToken(KEY);
const responseCase = fc
  .record({
    kind: fc.constantFrom('101', '101 bad token', '101 unoffered subprotocol', 'length', 'chunked', 'until EOF', '204', 'garbage'),
    body: fc.stringMatching(/^[ -~]{0,40}$/),
    extra: fc.array(fc.tuple(token.map((t) => `x-${t}`), headerValue), { maxLength: 3 }),
    messages: fc.array(text, { maxLength: 3 }),
  })
  .map((c) => {
    const extra = c.extra.map(([n, v]) => `${n}: ${v}\r\n`).join('');
    const frames = concat(c.messages.map((m) => rawFrame({ opcode: Opcode.TEXT, payload: m })));
    let head: string;
    let tail: Uint8Array = new Uint8Array(0);
    switch (c.kind) {
      case '101':
      case '101 bad token':
      case '101 unoffered subprotocol':
        head =
          'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          `Sec-WebSocket-Accept: ${c.kind === '101 bad token' ? generateAcceptToken('x') : ACCEPT}\r\n` +
          `Sec-WebSocket-Protocol: ${c.kind === '101 unoffered subprotocol' ? 'other' : 'chat'}\r\n${extra}\r\n`;
        tail = frames;
        break;
      case 'length':
        head = `HTTP/1.1 403 Forbidden\r\nContent-Length: ${c.body.length}\r\n${extra}\r\n${c.body}`;
        break;
      case 'chunked': {
        const chunks = c.body.length > 0 ? `${c.body.length.toString(16)}\r\n${c.body}\r\n` : '';
        head = `HTTP/1.1 500 Oops\r\nTransfer-Encoding: chunked\r\n${extra}\r\n${chunks}0\r\n\r\n`;
        break;
      }
      case 'until EOF':
        head = `HTTP/1.1 404 Not Found\r\n${extra}\r\n${c.body}`;
        break;
      case '204':
        head = `HTTP/1.1 204 No Content\r\n${extra}\r\n`;
        break;
      default:
        head = `HTTP/1.1 2x0 Nope\r\n${extra}\r\n`;
    }
    return { input: concat([bytes(head), tail]), kind: c.kind, body: c.body, messages: c.messages };
  });

const splitPoints = fc.array(fc.nat(), { maxLength: 30 });

describe('server handshake: any split of the request gives the same outcome', () => {
  test('random requests, valid and faulty, at random split points', () => {
    fc.assert(
      fc.property(requestCase, splitPoints, (c, points) => {
        const whole = serverOutcome([c.input]);
        // The whole-input outcome is the expected one (so the property cannot pass vacuously).
        if (c.fault.status === 0) {
          expect(whole.error).toBeNull();
          expect(whole.events).toHaveLength(1);
          expect(whole.events[0]).toMatchObject({ host: 'server.example.com', subprotocols: c.subprotocols });
          expect(whole.messages).toEqual(c.messages.map((m) => ({ text: m })));
        } else {
          expect(whole.error?.status).toBe(c.fault.status);
          expect(whole.events).toEqual([]);
        }
        expect(serverOutcome(split(c.input, points))).toEqual(whole);
      }),
      { numRuns: 300 },
    );
  });

  test('one byte at a time', () => {
    fc.assert(
      fc.property(requestCase, (c) => {
        expect(serverOutcome(oneByteAtATime(c.input))).toEqual(serverOutcome([c.input]));
      }),
      { numRuns: 60 },
    );
  });
});

describe('client handshake: any split of the response gives the same outcome', () => {
  test('random responses at random split points, then EOF', () => {
    fc.assert(
      fc.property(responseCase, splitPoints, fc.boolean(), (c, points, eof) => {
        const whole = clientOutcome([c.input], eof);
        switch (c.kind) {
          case '101':
            expect(whole.error).toBeNull();
            expect(whole.events[0]).toMatchObject({ subprotocol: 'chat' });
            expect(whole.messages.filter((m) => 'text' in m)).toEqual(c.messages.map((m) => ({ text: m })));
            break;
          case '101 bad token':
          case '101 unoffered subprotocol':
            expect(whole.error?.code).toBe('WS_BAD_HANDSHAKE');
            break;
          case 'garbage':
            expect(whole.error?.code).toBe('WS_BAD_HTTP');
            break;
          case '204':
            expect(whole.events).toEqual([expect.objectContaining({ statusCode: 204, hasBody: false })]);
            break;
          case 'until EOF':
            // The body ends only at EOF.
            expect(whole.events[0]).toMatchObject({ statusCode: 404, hasBody: true });
            if (eof) expect(whole.events.slice(1)).toEqual([{ body: c.body }, 'body-finished']);
            else expect(whole.events.slice(1)).toEqual(c.body === '' ? [] : [{ body: c.body }, 'body-open']);
            break;
          case 'length':
            // Content-Length: 0 is a refusal without a body.
            if (c.body === '') expect(whole.events).toEqual([expect.objectContaining({ statusCode: 403, hasBody: false })]);
            else expect(whole.events.slice(-2)).toEqual([{ body: c.body }, 'body-finished']);
            break;
          default:
            expect(whole.events.slice(-2)).toEqual([{ body: c.body }, 'body-finished']);
        }
        expect(clientOutcome(split(c.input, points), eof)).toEqual(whole);
      }),
      { numRuns: 300 },
    );
  });

  test('one byte at a time', () => {
    fc.assert(
      fc.property(responseCase, fc.boolean(), (c, eof) => {
        expect(clientOutcome(oneByteAtATime(c.input), eof)).toEqual(clientOutcome([c.input], eof));
      }),
      { numRuns: 60 },
    );
  });
});

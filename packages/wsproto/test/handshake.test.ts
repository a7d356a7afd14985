import {
  AcceptConnection,
  ConnectionState,
  ConnectionType,
  Handshake,
  LocalProtocolError,
  Opcode,
  RejectConnection,
  RejectData,
  RemoteProtocolError,
  Request,
  TextMessage,
  generateAcceptToken,
  pairHeaders,
  type Event,
  type Extension,
  type RandomSource,
} from '@wsstack/wsproto';
import { clientFrame, concat, rawFrame } from './helpers/frames';

/** Bytes of an ASCII string. */
const bytes = (text: string): Uint8Array => Uint8Array.from(text, (c) => c.charCodeAt(0));
const text = (data: Uint8Array): string => String.fromCharCode(...data);

/** RFC 6455 1.3's example nonce: the 16 bytes of "the sample nonce". */
const RFC_KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const RFC_ACCEPT = 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=';
const rfcNonce: RandomSource = (buffer) => buffer.set(bytes('the sample nonce').subarray(0, buffer.length));

/** RFC 6455 1.3's example request, with `overrides` replacing or (value null) removing headers. */
function request(overrides: Record<string, string | null> = {}, startLine = 'GET /chat HTTP/1.1'): string {
  const headers: Record<string, string | null> = {
    Host: 'server.example.com',
    Upgrade: 'websocket',
    Connection: 'Upgrade',
    'Sec-WebSocket-Key': RFC_KEY,
    Origin: 'http://example.com',
    'Sec-WebSocket-Protocol': 'chat, superchat',
    'Sec-WebSocket-Version': '13',
    ...overrides,
  };
  let out = `${startLine}\r\n`;
  for (const [name, value] of Object.entries(headers)) if (value !== null) out += `${name}: ${value}\r\n`;
  return `${out}\r\n`;
}

/** The error `fn` throws (fails the test when it does not throw). */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error');
}

function drain(hs: { events(): Generator<Event> }): Event[] {
  return [...hs.events()];
}

/** Feeds a server handshake and expects a RemoteProtocolError; returns it. */
function refused(input: string | Uint8Array, options = {}): RemoteProtocolError {
  const hs = new Handshake(ConnectionType.SERVER, options);
  let caught: unknown;
  try {
    hs.receiveData(typeof input === 'string' ? bytes(input) : input);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(RemoteProtocolError);
  expect(hs.state).toBe(ConnectionState.REJECTING);
  expect(drain(hs)).toEqual([]);
  return caught as RemoteProtocolError;
}

/** An extension that records its negotiation and leaves frames alone. */
class FakeExtension implements Extension {
  readonly calls: string[] = [];
  private on = false;
  constructor(
    readonly name: string,
    private readonly answer: (params: string) => string | true | null = () => true,
    private readonly offerParams: string | true = true,
  ) {}
  enabled(): boolean {
    return this.on;
  }
  offer(): string | true {
    return this.offerParams;
  }
  accept(offer: string): string | true | null {
    this.calls.push(`accept(${offer})`);
    const answer = this.answer(offer);
    if (answer !== null) this.on = true;
    return answer;
  }
  finalize(response: string): void {
    this.calls.push(`finalize(${response})`);
    if (response.includes('bogus')) throw new Error('bogus parameter');
    this.on = true;
  }
  frameInboundHeader(): number {
    return 0;
  }
  frameInboundPayloadData(data: Uint8Array): Uint8Array {
    return data;
  }
  frameInboundComplete(): Uint8Array | null {
    return null;
  }
  frameOutbound(_opcode: Opcode, rsv: number, data: Uint8Array): [number, Uint8Array] {
    return [rsv, data];
  }
}

describe('server: a valid request', () => {
  test('RFC 6455 1.3: the example request yields a Request and the example 101, byte for byte', () => {
    const hs = new Handshake(ConnectionType.SERVER);
    hs.receiveData(bytes(request()));
    const events = drain(hs);
    expect(events).toHaveLength(1);
    const req = events[0] as Request;
    expect(req).toBeInstanceOf(Request);
    expect(req.host).toBe('server.example.com');
    expect(req.target).toBe('/chat');
    expect(req.subprotocols).toEqual(['chat', 'superchat']);
    expect(req.extensions).toEqual([]);
    expect(req.extraHeaders).toEqual([
      ['host', 'server.example.com'],
      ['upgrade', 'websocket'],
      ['connection', 'Upgrade'],
      ['sec-websocket-key', RFC_KEY],
      ['origin', 'http://example.com'],
      ['sec-websocket-protocol', 'chat, superchat'],
      ['sec-websocket-version', '13'],
    ]);
    expect(hs.state).toBe(ConnectionState.CONNECTING);
    expect(hs.connection).toBeNull();

    const out = hs.send(new AcceptConnection({ subprotocol: 'chat' }));
    expect(text(out)).toBe(
      'HTTP/1.1 101 Switching Protocols\r\n' +
        'Upgrade: websocket\r\n' +
        'Connection: Upgrade\r\n' +
        `Sec-WebSocket-Accept: ${RFC_ACCEPT}\r\n` +
        'Sec-WebSocket-Protocol: chat\r\n' +
        '\r\n',
    );
    expect(hs.state).toBe(ConnectionState.OPEN);
    expect(hs.connection).not.toBeNull();
    expect(hs.connection?.state).toBe(ConnectionState.OPEN);
  });

  test('token lists are case-insensitive and comma-separated; values are trimmed', () => {
    const hs = new Handshake(ConnectionType.SERVER);
    hs.receiveData(
      bytes(
        request({
          Upgrade: 'foo/1, WebSocket',
          Connection: 'keep-alive,   UPGRADE',
          'Sec-WebSocket-Protocol': 'a,b',
          'X-Padded': '   spaced out   ',
        }),
      ),
    );
    const req = drain(hs)[0] as Request;
    expect(req.subprotocols).toEqual(['a', 'b']);
    expect(req.extraHeaders).toContainEqual(['x-padded', 'spaced out']);
  });

  test('a token must be a whole list item: "upgrade-ish" or "websockets" do not count', () => {
    for (const [header, value] of [
      ['Connection', 'upgrade-ish'],
      ['Connection', 'keep-alive upgrade'],
      ['Upgrade', 'websockets'],
      ['Upgrade', 'web socket'],
    ]) {
      const hs = new Handshake(ConnectionType.SERVER);
      const error = thrown(() => hs.receiveData(bytes(request({ [header]: value }))));
      expect(error).toMatchObject({ code: 'WS_BAD_HANDSHAKE', eventHint: { statusCode: 400 } });
    }
    // Tabs and spaces around an item, and any ASCII case, are fine.
    const hs = new Handshake(ConnectionType.SERVER);
    hs.receiveData(bytes(request({ Upgrade: '\tWEBsocket\t', Connection: 'close ,\tuPgRaDe ,' })));
    expect(drain(hs)[0]).toBeInstanceOf(Request);
  });

  test('subprotocols and extension offers from every header line are gathered in order', () => {
    const hs = new Handshake(ConnectionType.SERVER);
    const head = request({ 'Sec-WebSocket-Protocol': 'one, two' }).replace(
      '\r\n\r\n',
      '\r\nSec-WebSocket-Protocol: three\r\n' +
        'Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits, x-foo; a="1,2"\r\n' +
        'Sec-WebSocket-Extensions: x-bar\r\n\r\n',
    );
    hs.receiveData(bytes(head));
    const req = drain(hs)[0] as Request;
    expect(req.subprotocols).toEqual(['one', 'two', 'three']);
    expect(req.extensions).toEqual(['permessage-deflate; client_max_window_bits', 'x-foo; a="1,2"', 'x-bar']);
  });

  test('a subprotocol the client did not offer cannot be accepted', () => {
    const hs = new Handshake(ConnectionType.SERVER);
    hs.receiveData(bytes(request()));
    drain(hs);
    expect(thrown(() => hs.send(new AcceptConnection({ subprotocol: 'superduperchat' })))).toMatchObject({ name: 'LocalProtocolError', code: 'WS_BAD_EVENT' });
    expect(hs.state).toBe(ConnectionState.CONNECTING);
    expect(text(hs.send(new AcceptConnection()))).not.toContain('Sec-WebSocket-Protocol');
  });

  test('extensions: offers are tried in the client order, and the first accepted offer wins', () => {
    const hs = new Handshake(ConnectionType.SERVER);
    hs.receiveData(
      bytes(request({ 'Sec-WebSocket-Extensions': 'x-other, x-foo; a=1, x-foo; b, x-foo; c, x-unknown' })),
    );
    drain(hs);
    const foo = new FakeExtension('x-foo', (params) => (params === 'a=1' ? null : params));
    const other = new FakeExtension('x-other');
    const declined = new FakeExtension('x-declined');
    const out = text(hs.send(new AcceptConnection({ extensions: [foo, other, declined] })));
    expect(out).toContain('\r\nSec-WebSocket-Extensions: x-other, x-foo; b\r\n');
    expect(foo.calls).toEqual(['accept(a=1)', 'accept(b)']);
    expect(other.calls).toEqual(['accept()']);
    expect(declined.calls).toEqual([]);
    expect(hs.state).toBe(ConnectionState.OPEN);
  });

  test('no extension header when nothing is accepted; extra headers come last', () => {
    const hs = new Handshake(ConnectionType.SERVER);
    hs.receiveData(bytes(request({ 'Sec-WebSocket-Extensions': 'x-foo' })));
    drain(hs);
    const foo = new FakeExtension('x-foo', () => null);
    const out = text(hs.send(new AcceptConnection({ extensions: [foo], extraHeaders: [['X-Server', 'wsstack']] })));
    expect(out).not.toContain('Sec-WebSocket-Extensions');
    expect(out.endsWith('X-Server: wsstack\r\n\r\n')).toBe(true);
  });

  test('a header value that would inject a line is refused', () => {
    const hs = new Handshake(ConnectionType.SERVER);
    hs.receiveData(bytes(request({ 'Sec-WebSocket-Extensions': 'x-foo' })));
    drain(hs);
    expect(thrown(() => hs.send(new AcceptConnection({ extraHeaders: [['X-Evil', 'a\r\nSet-Cookie: x=1']] })))).toMatchObject({ code: 'WS_BAD_EVENT' });
    expect(thrown(() => hs.send(new AcceptConnection({ extraHeaders: [['Bad Name', 'x']] })))).toMatchObject({ code: 'WS_BAD_EVENT' });
    // No extension was asked (asking enables it) before the headers were found bad.
    const ext = new FakeExtension('x-foo');
    expect(thrown(() => hs.send(new AcceptConnection({ extensions: [ext], extraHeaders: [['X', '\n']] })))).toMatchObject({ code: 'WS_BAD_EVENT' });
    expect(ext.calls).toEqual([]);
    expect(hs.state).toBe(ConnectionState.CONNECTING);
  });
});

describe('server: each RFC 6455 4.2.1 check refuses on its own', () => {
  const cases: Array<[string, string, number, string, Array<[string, string]>]> = [
    ['POST instead of GET', request({}, 'POST /chat HTTP/1.1'), 405, 'WS_BAD_HANDSHAKE', [['Allow', 'GET']]],
    ['HTTP/1.0', request({}, 'GET /chat HTTP/1.0'), 400, 'WS_BAD_HANDSHAKE', []],
    ['no Host', request({ Host: null }), 400, 'WS_BAD_HANDSHAKE', []],
    ['two Host headers', request({ Origin: null }).replace('\r\n\r\n', '\r\nHost: evil.example\r\n\r\n'), 400, 'WS_BAD_HANDSHAKE', []],
    ['no Upgrade', request({ Upgrade: null }), 400, 'WS_BAD_HANDSHAKE', []],
    ['Upgrade without websocket', request({ Upgrade: 'h2c' }), 400, 'WS_BAD_HANDSHAKE', []],
    ['no Connection', request({ Connection: null }), 400, 'WS_BAD_HANDSHAKE', []],
    ['Connection without upgrade', request({ Connection: 'keep-alive' }), 400, 'WS_BAD_HANDSHAKE', []],
    ['no Sec-WebSocket-Key', request({ 'Sec-WebSocket-Key': null }), 400, 'WS_BAD_HANDSHAKE', []],
    ['a key of 15 bytes', request({ 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25j' }), 400, 'WS_BAD_HANDSHAKE', []],
    ['a key of 17 bytes', request({ 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZXM=' }), 400, 'WS_BAD_HANDSHAKE', []],
    ['a key that is not base64', request({ 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25j!Q==' }), 400, 'WS_BAD_HANDSHAKE', []],
    ['two keys', request().replace('\r\n\r\n', `\r\nSec-WebSocket-Key: ${RFC_KEY}\r\n\r\n`), 400, 'WS_BAD_HANDSHAKE', []],
    ['a body', request({ 'Content-Length': '5' }), 400, 'WS_BAD_HANDSHAKE', []],
    ['a chunked body', request({ 'Transfer-Encoding': 'chunked' }), 400, 'WS_BAD_HANDSHAKE', []],
    ['version 8', request({ 'Sec-WebSocket-Version': '8' }), 426, 'WS_BAD_HANDSHAKE', [['Sec-WebSocket-Version', '13']]],
    ['no version', request({ 'Sec-WebSocket-Version': null }), 426, 'WS_BAD_HANDSHAKE', [['Sec-WebSocket-Version', '13']]],
    ['garbage bytes', 'GARBAGE\x00\x01 nonsense\r\n\r\n', 400, 'WS_BAD_HTTP', []],
    ['a request line without a version (HTTP/0.9)', 'GET /chat\r\nHost: a\r\n\r\n', 400, 'WS_BAD_HANDSHAKE', []],
    ['HTTP/1.1 mangled', request({}, 'GET /chat HTTP/1.x'), 400, 'WS_BAD_HTTP', []],
    ['a header line without a colon', request().replace('Origin: ', 'Origin '), 400, 'WS_BAD_HTTP', []],
  ];
  test.each(cases.map(([name, ...rest]) => [`${name} → ${rest[1]}`, ...rest] as const))('%s', (_name, input, status, code, hintHeaders) => {
    const error = refused(input);
    expect(error.code).toBe(code);
    expect(error.eventHint).toBeInstanceOf(RejectConnection);
    expect(error.eventHint?.statusCode).toBe(status);
    expect(error.eventHint?.headers).toEqual(hintHeaders);
    expect(error.eventHint?.hasBody).toBe(false);
  });

  test('the same request with the fault removed is accepted (the cases above are isolated)', () => {
    const hs = new Handshake(ConnectionType.SERVER);
    hs.receiveData(bytes(request({ 'Content-Length': '0' })));
    expect(drain(hs)[0]).toBeInstanceOf(Request);
  });

  test('more header bytes than maxHeaderBytes → 431, before the head ends', () => {
    const hs = new Handshake(ConnectionType.SERVER, { maxHeaderBytes: 1024 });
    hs.receiveData(bytes('GET /chat HTTP/1.1\r\nX-Long: '));
    let caught: unknown;
    try {
      // No blank line ever comes: the limit must trip on the bytes alone.
      for (let i = 0; i < 20 && caught === undefined; i++) hs.receiveData(bytes('a'.repeat(100)));
    } catch (error) {
      caught = error;
    }
    expect(caught).toMatchObject({ code: 'WS_HEADERS_TOO_LARGE', eventHint: { statusCode: 431 } });
    expect(hs.state).toBe(ConnectionState.REJECTING);
  });

  test('the default header byte limit (16 KiB) applies', () => {
    const error = refused(request({ 'X-Big': 'x'.repeat(16 * 1024) }));
    expect(error.code).toBe('WS_HEADERS_TOO_LARGE');
    expect(error.eventHint?.statusCode).toBe(431);
  });

  test('more header lines than maxHeaderCount → 431', () => {
    const extra: Record<string, string> = {};
    for (let i = 0; i < 3; i++) extra[`X-${i}`] = 'v';
    const error = refused(request(extra), { maxHeaderCount: 9 });
    expect(error.code).toBe('WS_HEADERS_TOO_LARGE');
    expect(error.eventHint?.statusCode).toBe(431);
    // Exactly at the limit is fine: the example has 7 lines.
    const hs = new Handshake(ConnectionType.SERVER, { maxHeaderCount: 9 });
    hs.receiveData(bytes(request({ 'X-1': 'v', 'X-2': 'v' })));
    expect(drain(hs)[0]).toBeInstanceOf(Request);
  });

  test('after a refusal the hint is sent (state REJECTING → CLOSED), and later bytes are ignored', () => {
    const hs = new Handshake(ConnectionType.SERVER);
    let hint: RejectConnection | undefined;
    try {
      hs.receiveData(bytes(request({ 'Sec-WebSocket-Version': '8' })));
    } catch (error) {
      hint = (error as RemoteProtocolError).eventHint;
    }
    expect(hs.state).toBe(ConnectionState.REJECTING);
    hs.receiveData(bytes('more'));
    expect(text(hs.send(hint as RejectConnection))).toBe(
      'HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\nContent-Length: 0\r\nConnection: close\r\n\r\n',
    );
    expect(hs.state).toBe(ConnectionState.CLOSED);
    expect(() => hs.send(new RejectConnection())).toThrow(LocalProtocolError);
  });

  test('405 and 431 hints go out with their reason phrases', () => {
    for (const [input, line] of [
      [request({}, 'PUT /chat HTTP/1.1'), 'HTTP/1.1 405 Method Not Allowed\r\nAllow: GET\r\n'],
      [request({ 'X-Big': 'x'.repeat(20000) }), 'HTTP/1.1 431 Request Header Fields Too Large\r\n'],
    ] as const) {
      const hs = new Handshake(ConnectionType.SERVER);
      let hint: RejectConnection | undefined;
      try {
        hs.receiveData(bytes(input));
      } catch (error) {
        hint = (error as RemoteProtocolError).eventHint;
      }
      expect(text(hs.send(hint as RejectConnection)).startsWith(line)).toBe(true);
    }
  });

  test('EOF before any byte closes quietly; EOF mid-request is malformed HTTP (400)', () => {
    const quiet = new Handshake(ConnectionType.SERVER);
    quiet.receiveData(null);
    expect(quiet.state).toBe(ConnectionState.CLOSED);
    expect(drain(quiet)).toEqual([]);

    const cut = new Handshake(ConnectionType.SERVER);
    cut.receiveData(bytes(request().slice(0, 40)));
    expect(thrown(() => cut.receiveData(null))).toMatchObject({ code: 'WS_BAD_HTTP', eventHint: { statusCode: 400 } });
    expect(cut.state).toBe(ConnectionState.REJECTING);
  });
});

describe('server: refusing on purpose', () => {
  test('a refusal without a body gets Content-Length: 0 and ends the handshake', () => {
    const hs = new Handshake(ConnectionType.SERVER);
    hs.receiveData(bytes(request()));
    drain(hs);
    const out = hs.send(new RejectConnection({ statusCode: 401, headers: [['WWW-Authenticate', 'Bearer']] }));
    expect(text(out)).toBe(
      'HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer\r\nContent-Length: 0\r\nConnection: close\r\n\r\n',
    );
    expect(hs.state).toBe(ConnectionState.CLOSED);
    expect(() => hs.send(new RejectData({ data: bytes('x') }))).toThrow(LocalProtocolError);
  });

  test('a refusal with a body: the head, then RejectData pieces; bodyFinished closes', () => {
    const hs = new Handshake(ConnectionType.SERVER);
    hs.receiveData(bytes(request()));
    drain(hs);
    const head = hs.send(
      new RejectConnection({
        statusCode: 403,
        headers: [['Content-Type', 'text/plain'], ['Content-Length', '9']],
        hasBody: true,
      }),
    );
    expect(text(head)).toBe(
      'HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 9\r\nConnection: close\r\n\r\n',
    );
    expect(hs.state).toBe(ConnectionState.REJECTING);
    expect(text(hs.send(new RejectData({ data: bytes('forb'), bodyFinished: false })))).toBe('forb');
    expect(hs.state).toBe(ConnectionState.REJECTING);
    expect(text(hs.send(new RejectData({ data: bytes('idden') })))).toBe('idden');
    expect(hs.state).toBe(ConnectionState.CLOSED);
  });

  test('a refusal may come before any request; accepting cannot', () => {
    const hs = new Handshake(ConnectionType.SERVER);
    expect(thrown(() => hs.send(new AcceptConnection()))).toMatchObject({ code: 'WS_BAD_STATE' });
    expect(text(hs.send(new RejectConnection({ statusCode: 503 }))).startsWith('HTTP/1.1 503 Service Unavailable\r\n')).toBe(true);
    expect(hs.state).toBe(ConnectionState.CLOSED);
  });

  test('a refusal needs a final status code', () => {
    const hs = new Handshake(ConnectionType.SERVER);
    expect(thrown(() => hs.send(new RejectConnection({ statusCode: 101 })))).toMatchObject({ code: 'WS_BAD_EVENT' });
    expect(hs.state).toBe(ConnectionState.CONNECTING);
  });

  test('a server cannot send a Request, a client cannot accept or refuse', () => {
    expect(thrown(() => new Handshake(ConnectionType.SERVER).send(new Request({ host: 'a', target: '/' })))).toMatchObject({ code: 'WS_BAD_STATE' });
    const client = new Handshake(ConnectionType.CLIENT);
    expect(thrown(() => client.send(new AcceptConnection()))).toMatchObject({ code: 'WS_BAD_STATE' });
    expect(thrown(() => client.send(new RejectConnection()))).toMatchObject({ code: 'WS_BAD_STATE' });
  });
});

describe('server: bytes after the request are frames', () => {
  const frame = clientFrame({ opcode: Opcode.TEXT, payload: 'Hello' });

  test('frames in the same chunk as the request reach the Connection as events', () => {
    const hs = new Handshake(ConnectionType.SERVER);
    hs.receiveData(concat([bytes(request()), Uint8Array.from(frame)]));
    expect(drain(hs).map((e) => e.type)).toEqual(['Request']);
    expect(Array.from(hs.trailingData)).toEqual(Array.from(frame));
    hs.send(new AcceptConnection());
    const events = [...(hs.connection?.events() ?? [])];
    expect(events).toEqual([new TextMessage({ data: 'Hello' })]);
  });

  test('bytes that arrive between the Request and the accept are kept, and so is EOF', () => {
    const hs = new Handshake(ConnectionType.SERVER);
    hs.receiveData(concat([bytes(request()), frame.subarray(0, 3)]));
    drain(hs);
    hs.receiveData(Uint8Array.from(frame.subarray(3)));
    hs.receiveData(null);
    hs.send(new AcceptConnection());
    const events = [...(hs.connection?.events() ?? [])];
    expect(events.map((e) => e.type)).toEqual(['TextMessage', 'CloseConnection']);
    expect((events[0] as TextMessage).data).toBe('Hello');
    expect(events[1]).toMatchObject({ code: 1006 });
  });

  test('once open, receiveData feeds the Connection', () => {
    const hs = new Handshake(ConnectionType.SERVER);
    hs.receiveData(bytes(request()));
    drain(hs);
    hs.send(new AcceptConnection());
    hs.receiveData(Uint8Array.from(frame));
    expect([...(hs.connection?.events() ?? [])]).toEqual([new TextMessage({ data: 'Hello' })]);
  });
});

describe('server: initiateUpgradeConnection (the request was parsed elsewhere)', () => {
  // What Node's http gives as req.rawHeaders: a flat list, names as sent.
  const rawHeaders = [
    'Host', 'server.example.com',
    'upgrade', 'websocket',
    'CONNECTION', 'Upgrade',
    'Sec-WebSocket-Key', RFC_KEY,
    'Sec-WebSocket-Version', '13',
    'Sec-WebSocket-Protocol', 'chat, superchat',
    'Sec-WebSocket-Extensions', 'x-foo; a=1',
  ];

  test('yields the Request as if the bytes had been parsed, path with query kept', () => {
    const hs = new Handshake(ConnectionType.SERVER);
    hs.initiateUpgradeConnection(pairHeaders(rawHeaders), '/chat?room=1&x=%20y');
    const req = drain(hs)[0] as Request;
    expect(req).toBeInstanceOf(Request);
    expect(req.target).toBe('/chat?room=1&x=%20y');
    expect(req.host).toBe('server.example.com');
    expect(req.subprotocols).toEqual(['chat', 'superchat']);
    expect(req.extensions).toEqual(['x-foo; a=1']);
    expect(req.extraHeaders[1]).toEqual(['upgrade', 'websocket']);
    expect(req.extraHeaders[2]).toEqual(['connection', 'Upgrade']);
    const out = text(hs.send(new AcceptConnection({ subprotocol: 'chat' })));
    expect(out).toContain(`Sec-WebSocket-Accept: ${RFC_ACCEPT}\r\n`);
    expect(hs.state).toBe(ConnectionState.OPEN);
  });

  test('headers handed in with upper-case names or padded values are normalized; normalized ones are used as given', () => {
    const padded = pairHeaders(rawHeaders).map(([n, v]): [string, string] => [n, n === 'Host' ? ` ${v}\t` : v]);
    const hs = new Handshake(ConnectionType.SERVER);
    hs.initiateUpgradeConnection(padded, '/');
    const req = drain(hs)[0] as Request;
    expect(req.host).toBe('server.example.com');
    expect(req.extraHeaders[0]).toEqual(['host', 'server.example.com']);
    expect(padded[0]).toEqual(['Host', ' server.example.com\t']); // the caller's array is not changed

    const normalized = req.extraHeaders;
    const again = new Handshake(ConnectionType.SERVER);
    again.initiateUpgradeConnection(normalized, '/');
    expect((drain(again)[0] as Request).extraHeaders).toBe(normalized);
  });

  test("Node's head bytes (frames) passed to receiveData afterwards reach the Connection", () => {
    const hs = new Handshake(ConnectionType.SERVER);
    hs.initiateUpgradeConnection(pairHeaders(rawHeaders), '/chat');
    hs.receiveData(clientFrame({ opcode: Opcode.TEXT, payload: 'early' }));
    drain(hs);
    hs.send(new AcceptConnection());
    expect([...(hs.connection?.events() ?? [])]).toEqual([new TextMessage({ data: 'early' })]);
  });

  test('the same checks apply: a bad version gives the 426 hint', () => {
    const hs = new Handshake(ConnectionType.SERVER);
    const headers = pairHeaders(rawHeaders).map(([n, v]): [string, string] => [n, n === 'Sec-WebSocket-Version' ? '8' : v]);
    expect(thrown(() => hs.initiateUpgradeConnection(headers, '/chat'))).toMatchObject({ code: 'WS_BAD_HANDSHAKE', eventHint: { statusCode: 426 } });
    expect(hs.state).toBe(ConnectionState.REJECTING);
  });

  test('only a server, and only before any request', () => {
    expect(thrown(() => new Handshake(ConnectionType.CLIENT).initiateUpgradeConnection(pairHeaders(rawHeaders), '/'))).toMatchObject({ code: 'WS_BAD_STATE' });
    const hs = new Handshake(ConnectionType.SERVER);
    hs.receiveData(bytes('GET /'));
    expect(thrown(() => hs.initiateUpgradeConnection(pairHeaders(rawHeaders), '/'))).toMatchObject({ code: 'WS_BAD_STATE' });
  });
});

describe('client', () => {
  const RFC_RESPONSE =
    'HTTP/1.1 101 Switching Protocols\r\n' +
    'Upgrade: websocket\r\n' +
    'Connection: Upgrade\r\n' +
    `Sec-WebSocket-Accept: ${RFC_ACCEPT}\r\n` +
    'Sec-WebSocket-Protocol: chat\r\n\r\n';

  function sent(init: Partial<ConstructorParameters<typeof Request>[0]> = {}): Handshake {
    const hs = new Handshake(ConnectionType.CLIENT, { random: rfcNonce });
    hs.send(new Request({ host: 'server.example.com', target: '/chat', subprotocols: ['chat', 'superchat'], ...init }));
    return hs;
  }

  function failure(hs: Handshake, response: string): RemoteProtocolError {
    let caught: unknown;
    try {
      hs.receiveData(bytes(response));
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(RemoteProtocolError);
    expect(hs.state).toBe(ConnectionState.CLOSED);
    expect(drain(hs)).toEqual([]);
    return caught as RemoteProtocolError;
  }

  test('the request: RFC 6455 1.3 example headers, the nonce from options.random, extensions offered', () => {
    const hs = new Handshake(ConnectionType.CLIENT, { random: rfcNonce });
    const out = hs.send(
      new Request({
        host: 'server.example.com',
        target: '/chat?x=1',
        subprotocols: ['chat', 'superchat'],
        extensions: [new FakeExtension('x-foo', undefined, 'a=1'), new FakeExtension('x-bar')],
        extraHeaders: [['Origin', 'http://example.com']],
      }),
    );
    expect(text(out)).toBe(
      'GET /chat?x=1 HTTP/1.1\r\n' +
        'Host: server.example.com\r\n' +
        'Upgrade: websocket\r\n' +
        'Connection: Upgrade\r\n' +
        `Sec-WebSocket-Key: ${RFC_KEY}\r\n` +
        'Sec-WebSocket-Version: 13\r\n' +
        'Sec-WebSocket-Protocol: chat, superchat\r\n' +
        'Sec-WebSocket-Extensions: x-foo; a=1, x-bar\r\n' +
        'Origin: http://example.com\r\n\r\n',
    );
    expect(hs.state).toBe(ConnectionState.CONNECTING);
    expect(thrown(() => hs.send(new Request({ host: 'a', target: '/' })))).toMatchObject({ code: 'WS_BAD_STATE' });
  });

  test('the default random source gives a fresh key each time', () => {
    const key = (out: Uint8Array) => /Sec-WebSocket-Key: (\S+)/.exec(text(out))?.[1];
    const a = key(new Handshake(ConnectionType.CLIENT).send(new Request({ host: 'h', target: '/' })));
    const b = key(new Handshake(ConnectionType.CLIENT).send(new Request({ host: 'h', target: '/' })));
    expect(a).toMatch(/^[A-Za-z0-9+/]{22}==$/);
    expect(a).not.toBe(b);
  });

  test('a request with a bad target, subprotocol or string extension is refused locally', () => {
    const hs = new Handshake(ConnectionType.CLIENT);
    expect(thrown(() => hs.send(new Request({ host: 'h', target: '/a b' })))).toMatchObject({ code: 'WS_BAD_EVENT' });
    expect(thrown(() => hs.send(new Request({ host: 'h', target: '/', subprotocols: ['a b'] })))).toMatchObject({ code: 'WS_BAD_EVENT' });
    expect(thrown(() => hs.send(new Request({ host: 'h', target: '/', extensions: ['x-foo'] })))).toMatchObject({ code: 'WS_BAD_EVENT' });
    expect(thrown(() => hs.send(new Request({ host: 'h\r\nX: y', target: '/' })))).toMatchObject({ code: 'WS_BAD_EVENT' });
    expect(hs.state).toBe(ConnectionState.CONNECTING);
  });

  test('the RFC example 101 → AcceptConnection with the chosen subprotocol; state OPEN', () => {
    const hs = sent();
    hs.receiveData(bytes(RFC_RESPONSE));
    const events = drain(hs);
    expect(events).toHaveLength(1);
    const accept = events[0] as AcceptConnection;
    expect(accept).toBeInstanceOf(AcceptConnection);
    expect(accept.subprotocol).toBe('chat');
    expect(accept.extensions).toEqual([]);
    expect(accept.extraHeaders).toContainEqual(['sec-websocket-accept', RFC_ACCEPT]);
    expect(hs.state).toBe(ConnectionState.OPEN);
    expect(hs.connection?.state).toBe(ConnectionState.OPEN);
  });

  test('no subprotocol header → subprotocol null', () => {
    const hs = sent();
    hs.receiveData(bytes(RFC_RESPONSE.replace('Sec-WebSocket-Protocol: chat\r\n', '')));
    expect((drain(hs)[0] as AcceptConnection).subprotocol).toBeNull();
  });

  test('a wrong Sec-WebSocket-Accept fails the connection', () => {
    const error = failure(sent(), RFC_RESPONSE.replace(RFC_ACCEPT, generateAcceptToken('another key')));
    expect(error.code).toBe('WS_BAD_HANDSHAKE');
    expect(error.eventHint).toBeUndefined();
  });

  test.each([
    ['no Sec-WebSocket-Accept', RFC_RESPONSE.replace(`Sec-WebSocket-Accept: ${RFC_ACCEPT}\r\n`, '')],
    ['no Upgrade', RFC_RESPONSE.replace('Upgrade: websocket\r\n', '')],
    ['Upgrade: h2c', RFC_RESPONSE.replace('Upgrade: websocket', 'Upgrade: h2c')],
    ['no Connection', RFC_RESPONSE.replace('Connection: Upgrade\r\n', '')],
    ['a subprotocol not offered', RFC_RESPONSE.replace('Protocol: chat', 'Protocol: superduperchat')],
    ['two subprotocols', RFC_RESPONSE.replace('Protocol: chat', 'Protocol: chat, superchat')],
    ['an extension not offered', RFC_RESPONSE.replace('\r\n\r\n', '\r\nSec-WebSocket-Extensions: x-foo\r\n\r\n')],
  ])('%s fails the connection', (_name, response) => {
    expect(failure(sent(), response).code).toBe('WS_BAD_HANDSHAKE');
  });

  test('malformed HTTP and oversize heads fail with their codes', () => {
    expect(failure(sent(), 'HTTP/1.1 abc\r\n\r\n').code).toBe('WS_BAD_HTTP');
    expect(failure(sent(), `${RFC_RESPONSE.slice(0, -2)}X-Big: ${'x'.repeat(17000)}\r\n\r\n`).code).toBe(
      'WS_HEADERS_TOO_LARGE',
    );
  });

  test('accepted extensions must be offered once; each is finalized with its parameters', () => {
    const foo = new FakeExtension('x-foo');
    const bar = new FakeExtension('x-bar');
    const hs = sent({ extensions: [foo, bar] });
    hs.receiveData(bytes(RFC_RESPONSE.replace('\r\n\r\n', '\r\nSec-WebSocket-Extensions: x-bar; b=2, x-foo\r\n\r\n')));
    const accept = drain(hs)[0] as AcceptConnection;
    expect(accept.extensions).toEqual([bar, foo]);
    expect(bar.calls).toEqual(['finalize(b=2)']);
    expect(foo.calls).toEqual(['finalize()']);

    const twice = sent({ extensions: [new FakeExtension('x-foo')] });
    expect(failure(twice, RFC_RESPONSE.replace('\r\n\r\n', '\r\nSec-WebSocket-Extensions: x-foo, x-foo\r\n\r\n')).code).toBe(
      'WS_BAD_HANDSHAKE',
    );
  });

  test('an extension that refuses the server parameters fails the connection', () => {
    const hs = sent({ extensions: [new FakeExtension('x-foo')] });
    const error = failure(hs, RFC_RESPONSE.replace('\r\n\r\n', '\r\nSec-WebSocket-Extensions: x-foo; bogus\r\n\r\n'));
    expect(error.code).toBe('WS_BAD_HANDSHAKE');
    expect(error.message).toContain('bogus parameter');
  });

  test('frames in the same chunk as the 101 reach the Connection', () => {
    const hs = sent();
    const frames = concat([rawFrame({ opcode: Opcode.TEXT, payload: 'Hello' }), rawFrame({ opcode: Opcode.TEXT, payload: 'again' })]);
    hs.receiveData(concat([bytes(RFC_RESPONSE), frames]));
    expect(drain(hs).map((e) => e.type)).toEqual(['AcceptConnection']);
    expect(Array.from(hs.trailingData)).toEqual(Array.from(frames));
    expect([...(hs.connection?.events() ?? [])]).toEqual([
      new TextMessage({ data: 'Hello' }),
      new TextMessage({ data: 'again' }),
    ]);
  });

  test('403 with a Content-Length body → RejectConnection, then RejectData; CLOSED', () => {
    const hs = sent();
    hs.receiveData(bytes('HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 9\r\n\r\nforbidden'));
    const events = drain(hs);
    expect(events).toEqual([
      new RejectConnection({
        statusCode: 403,
        headers: [['content-type', 'text/plain'], ['content-length', '9']],
        hasBody: true,
      }),
      new RejectData({ data: bytes('forbidden'), bodyFinished: true }),
    ]);
    expect(hs.state).toBe(ConnectionState.CLOSED);
    hs.receiveData(bytes('ignored'));
    expect(drain(hs)).toEqual([]);
  });

  test('403 whose body arrives in pieces: REJECTING until the last piece', () => {
    const hs = sent();
    hs.receiveData(bytes('HTTP/1.1 403 Forbidden\r\nContent-Length: 9\r\n\r\nforb'));
    expect(drain(hs)).toEqual([
      new RejectConnection({ statusCode: 403, headers: [['content-length', '9']], hasBody: true }),
      new RejectData({ data: bytes('forb'), bodyFinished: false }),
    ]);
    expect(hs.state).toBe(ConnectionState.REJECTING);
    hs.receiveData(bytes('idden'));
    expect(drain(hs)).toEqual([new RejectData({ data: bytes('idden'), bodyFinished: true })]);
    expect(hs.state).toBe(ConnectionState.CLOSED);
  });

  test('403 with a body until EOF: receiveData(null) finishes it', () => {
    const hs = sent();
    hs.receiveData(bytes('HTTP/1.1 403 Forbidden\r\n\r\nno '));
    hs.receiveData(bytes('way'));
    expect(drain(hs)).toEqual([
      new RejectConnection({ statusCode: 403, headers: [], hasBody: true }),
      new RejectData({ data: bytes('no '), bodyFinished: false }),
      new RejectData({ data: bytes('way'), bodyFinished: false }),
    ]);
    expect(hs.state).toBe(ConnectionState.REJECTING);
    hs.receiveData(null);
    expect(drain(hs)).toEqual([new RejectData({ data: new Uint8Array(0), bodyFinished: true })]);
    expect(hs.state).toBe(ConnectionState.CLOSED);
  });

  test('a chunked body is de-chunked', () => {
    const hs = sent();
    hs.receiveData(bytes('HTTP/1.1 500 Oops\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n'));
    const events = drain(hs);
    expect(events[0]).toMatchObject({ statusCode: 500, hasBody: true });
    expect(events.slice(1)).toEqual([new RejectData({ data: bytes('abcde'), bodyFinished: true })]);
  });

  test('a refusal without a body (Content-Length: 0, 204) → RejectConnection only, CLOSED', () => {
    for (const response of ['HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n', 'HTTP/1.1 204 No Content\r\n\r\n']) {
      const hs = sent();
      hs.receiveData(bytes(response));
      const events = drain(hs);
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ type: 'RejectConnection', hasBody: false });
      expect(hs.state).toBe(ConnectionState.CLOSED);
    }
  });

  test('a body cut short by EOF, or EOF before the response, fails with WS_BAD_HTTP', () => {
    const short = sent();
    short.receiveData(bytes('HTTP/1.1 403 Forbidden\r\nContent-Length: 9\r\n\r\nfor'));
    drain(short);
    expect(thrown(() => short.receiveData(null))).toMatchObject({ code: 'WS_BAD_HTTP' });
    expect(short.state).toBe(ConnectionState.CLOSED);

    const none = sent();
    expect(thrown(() => none.receiveData(null))).toMatchObject({ code: 'WS_BAD_HTTP' });
    expect(none.state).toBe(ConnectionState.CLOSED);
  });

  test('a response before the request was sent is an error', () => {
    const hs = new Handshake(ConnectionType.CLIENT);
    expect(() => hs.receiveData(bytes(RFC_RESPONSE))).toThrow(RemoteProtocolError);
    expect(hs.state).toBe(ConnectionState.CLOSED);
  });
});

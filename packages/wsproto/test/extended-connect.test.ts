/**
 * The WebSocket handshake over HTTP/2 (RFC 8441, extended CONNECT) in the
 * core: header lists in, events out, then the same frames as RFC 6455.
 * The exchange is RFC 8441 section 5.1's example; the frames are RFC 6455
 * 5.7's "Hello".
 */
import {
  AcceptConnection,
  BytesMessage,
  CloseConnection,
  ConnectionState,
  ConnectionType,
  ExtendedConnect,
  LocalProtocolError,
  PerMessageDeflate,
  Ping,
  Pong,
  RejectConnection,
  RejectData,
  RemoteProtocolError,
  Request,
  TextMessage,
  type Event,
  type Headers,
} from '@wsstack/wsproto';
import { fixedRandom, hex, toHex } from './helpers/frames';

/** RFC 8441 5.1: the client's HEADERS, with `overrides` replacing (or, with null, removing) fields. */
function rfcRequest(overrides: Record<string, string | null> = {}): Headers {
  const fields: Record<string, string | null> = {
    ':method': 'CONNECT',
    ':protocol': 'websocket',
    ':scheme': 'https',
    ':path': '/chat',
    ':authority': 'server.example.com',
    'sec-websocket-protocol': 'chat, superchat',
    'sec-websocket-extensions': 'permessage-deflate',
    'sec-websocket-version': '13',
    origin: 'http://www.example.com',
    ...overrides,
  };
  return Object.entries(fields).filter((entry): entry is [string, string] => entry[1] !== null);
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

const drain = (conn: ExtendedConnect): Event[] => [...conn.events()];

/** RFC 6455 5.7: a masked "Hello" (key 37 fa 21 3d) and the unmasked one. */
const MASKED_HELLO = '81 85 37 fa 21 3d 7f 9f 4d 51 58';
const UNMASKED_HELLO = '810548656c6c6f';

describe('server: RFC 8441 5.1', () => {
  test('the example request becomes a Request event; the acceptance is :status 200 with the subprotocol', () => {
    const server = new ExtendedConnect(ConnectionType.SERVER);
    server.receiveHeaders(rfcRequest());
    expect(server.state).toBe(ConnectionState.CONNECTING);
    const [request] = drain(server) as [Request];
    expect(request).toBeInstanceOf(Request);
    expect(request).toMatchObject({
      host: 'server.example.com',
      target: '/chat',
      subprotocols: ['chat', 'superchat'],
      extensions: ['permessage-deflate'],
    });
    expect(request.extraHeaders).toContainEqual(['origin', 'http://www.example.com']);
    expect(request.extraHeaders).toContainEqual([':scheme', 'https']);

    expect(server.sendHeaders(new AcceptConnection({ subprotocol: 'chat' }))).toEqual([
      [':status', '200'],
      ['sec-websocket-protocol', 'chat'],
    ]);
    expect(server.state).toBe(ConnectionState.OPEN);
    expect(server.connection).not.toBeNull();
  });

  test('then the stream carries RFC 6455 frames both ways', () => {
    const server = new ExtendedConnect(ConnectionType.SERVER);
    server.receiveHeaders(rfcRequest());
    drain(server);
    server.sendHeaders(new AcceptConnection());
    server.receiveData(hex(MASKED_HELLO));
    expect(drain(server)).toEqual([new TextMessage({ data: 'Hello' })]);
    expect(toHex(server.send(new TextMessage({ data: 'Hello' })))).toBe(UNMASKED_HELLO);
  });

  test('DATA that came before the acceptance are the first frames, not lost', () => {
    const server = new ExtendedConnect(ConnectionType.SERVER);
    server.receiveHeaders(rfcRequest());
    server.receiveData(hex(MASKED_HELLO).subarray(0, 4));
    server.receiveData(hex(MASKED_HELLO).subarray(4));
    expect(drain(server).map((e) => e.type)).toEqual(['Request']);
    server.sendHeaders(new AcceptConnection());
    expect(drain(server)).toEqual([new TextMessage({ data: 'Hello' })]);
  });

  test('the end of the stream without a close frame is 1006, as a TCP EOF is', () => {
    const server = new ExtendedConnect(ConnectionType.SERVER);
    server.receiveHeaders(rfcRequest());
    server.sendHeaders(new AcceptConnection());
    drain(server);
    server.receiveData(null);
    expect(drain(server)).toEqual([new CloseConnection({ code: 1006 })]);
    expect(server.state).toBe(ConnectionState.CLOSED);
  });

  test('a request that came with END_STREAM opens and ends at once (1006)', () => {
    const server = new ExtendedConnect(ConnectionType.SERVER);
    server.receiveHeaders(rfcRequest(), true);
    server.sendHeaders(new AcceptConnection());
    expect(drain(server).map((e) => e.type)).toEqual(['Request', 'CloseConnection']);
  });

  test('permessage-deflate is negotiated by the same extension objects', () => {
    const server = new ExtendedConnect(ConnectionType.SERVER);
    server.receiveHeaders(rfcRequest());
    const headers = server.sendHeaders(new AcceptConnection({ extensions: [new PerMessageDeflate()] }));
    expect(headers).toEqual([
      [':status', '200'],
      ['sec-websocket-extensions', 'permessage-deflate'],
    ]);
  });

  test('Host stands in for a missing :authority; Sec-WebSocket-Key is ignored; names of any case are lower-cased', () => {
    const server = new ExtendedConnect(ConnectionType.SERVER);
    server.receiveHeaders(rfcRequest({ ':authority': null, Host: 'h.example', 'Sec-WebSocket-Key': 'not even base64' }));
    const [request] = drain(server) as [Request];
    expect(request.host).toBe('h.example');
  });

  test('a refusal is its status and fields; a body follows as DATA', () => {
    const server = new ExtendedConnect(ConnectionType.SERVER);
    server.receiveHeaders(rfcRequest());
    expect(server.sendHeaders(new RejectConnection({ statusCode: 403, headers: [['Content-Type', 'text/plain']], hasBody: true }))).toEqual([
      [':status', '403'],
      ['content-type', 'text/plain'],
    ]);
    expect(server.state).toBe(ConnectionState.REJECTING);
    const body = new TextEncoder().encode('no');
    expect(server.send(new RejectData({ data: body }))).toBe(body);
    expect(server.state).toBe(ConnectionState.CLOSED);
  });
});

describe('server: what it refuses, and with what', () => {
  const cases: Array<[string, Headers, number, Headers?]> = [
    ['a GET', rfcRequest({ ':method': 'GET', ':protocol': null }), 405, [['allow', 'CONNECT']]],
    ['a CONNECT without :protocol (a tunnel)', rfcRequest({ ':protocol': null }), 400],
    ['another :protocol', rfcRequest({ ':protocol': 'h2c' }), 400],
    ['no :method', rfcRequest({ ':method': null }), 400],
    ['no :scheme', rfcRequest({ ':scheme': null }), 400],
    ['a :scheme that is not http(s)', rfcRequest({ ':scheme': 'ftp' }), 400],
    ['no :path', rfcRequest({ ':path': null }), 400],
    ['a :path that is not absolute', rfcRequest({ ':path': 'chat' }), 400],
    ['no authority at all', rfcRequest({ ':authority': null }), 400],
    ['a Host other than :authority', rfcRequest({ host: 'elsewhere.example' }), 400],
    ['two :path fields', [...rfcRequest({ origin: null }).slice(0, 4), [':path', '/other'], ...rfcRequest().slice(4)], 400],
    ['a response pseudo-header', [[':status', '200'], ...rfcRequest()], 400],
    ['a pseudo-header after a regular field', [...rfcRequest(), [':path', '/late']], 400],
    ['Connection (HTTP/1.1 only)', rfcRequest({ connection: 'Upgrade' }), 400],
    ['Upgrade (HTTP/1.1 only)', rfcRequest({ upgrade: 'websocket' }), 400],
    ['Transfer-Encoding', rfcRequest({ 'transfer-encoding': 'chunked' }), 400],
    ['TE other than trailers', rfcRequest({ te: 'gzip' }), 400],
    ['content', rfcRequest({ 'content-length': '5' }), 400],
    ['no version', rfcRequest({ 'sec-websocket-version': null }), 400, [['sec-websocket-version', '13']]],
    ['version 8', rfcRequest({ 'sec-websocket-version': '8' }), 400, [['sec-websocket-version', '13']]],
  ];

  test.each(cases)('%s: RemoteProtocolError with a %s to send', (_what, headers, status, fields = []) => {
    const server = new ExtendedConnect(ConnectionType.SERVER);
    const error = thrown(() => server.receiveHeaders(headers)) as RemoteProtocolError;
    expect(error).toBeInstanceOf(RemoteProtocolError);
    expect(error.eventHint).toBeInstanceOf(RejectConnection);
    expect(error.eventHint!.statusCode).toBe(status);
    expect(error.eventHint!.headers).toEqual(fields);
    expect(server.state).toBe(ConnectionState.REJECTING);
    expect(drain(server)).toEqual([]);
    // The hint is what to send: its fields, then the stream ends.
    expect(server.sendHeaders(error.eventHint!)).toEqual([[':status', String(status)], ...fields]);
    expect(server.state).toBe(ConnectionState.CLOSED);
  });

  test('fields past maxHeaderCount or maxHeaderBytes: 431', () => {
    const many = new ExtendedConnect(ConnectionType.SERVER, { maxHeaderCount: 9 });
    const countError = thrown(() => many.receiveHeaders([...rfcRequest(), ['x-one', '1']])) as RemoteProtocolError;
    expect(countError.code).toBe('WS_HEADERS_TOO_LARGE');
    expect(countError.eventHint!.statusCode).toBe(431);
    const big = new ExtendedConnect(ConnectionType.SERVER, { maxHeaderBytes: 1024 });
    const bytesError = thrown(() => big.receiveHeaders(rfcRequest({ cookie: 'c'.repeat(800) }))) as RemoteProtocolError;
    expect(bytesError.eventHint!.statusCode).toBe(431);
  });
});

describe('server: the caller\'s mistakes are LocalProtocolErrors, the state unchanged', () => {
  function received(): ExtendedConnect {
    const server = new ExtendedConnect(ConnectionType.SERVER);
    server.receiveHeaders(rfcRequest());
    drain(server);
    return server;
  }

  test.each<[string, AcceptConnection | RejectConnection]>([
    ['a subprotocol not offered', new AcceptConnection({ subprotocol: 'other' })],
    ['a connection field', new AcceptConnection({ extraHeaders: [['Connection', 'close']] })],
    ['a pseudo-header among the extra fields', new AcceptConnection({ extraHeaders: [[':status', '101']] })],
    ['a value with a line break', new AcceptConnection({ extraHeaders: [['x-a', 'b\r\nx-c: d']] })],
    ['a 2xx refusal (it would accept)', new RejectConnection({ statusCode: 200 })],
    ['a 101 refusal', new RejectConnection({ statusCode: 101 })],
  ])('%s: WS_BAD_EVENT', (_what, event) => {
    const server = received();
    const error = thrown(() => server.sendHeaders(event)) as LocalProtocolError;
    expect(error).toBeInstanceOf(LocalProtocolError);
    expect(error.code).toBe('WS_BAD_EVENT');
    expect(server.state).toBe(ConnectionState.CONNECTING);
    expect(server.sendHeaders(new AcceptConnection())).toEqual([[':status', '200']]);
  });

  test('events in the wrong place: WS_BAD_STATE', () => {
    const server = new ExtendedConnect(ConnectionType.SERVER);
    expect((thrown(() => server.receiveData(new Uint8Array([1]))) as LocalProtocolError).code).toBe('WS_BAD_STATE');
    expect((thrown(() => server.sendHeaders(new Request({ host: 'h', target: '/' }))) as LocalProtocolError).code).toBe('WS_BAD_STATE');
    expect((thrown(() => server.sendHeaders(new AcceptConnection())) as LocalProtocolError).code).toBe('WS_BAD_STATE');
    server.receiveHeaders(rfcRequest());
    expect((thrown(() => server.receiveHeaders(rfcRequest())) as LocalProtocolError).code).toBe('WS_BAD_STATE');
    expect((thrown(() => server.send(new TextMessage({ data: 'early' }))) as LocalProtocolError).code).toBe('WS_BAD_STATE');
  });
});

describe('client', () => {
  const offer = (): Request =>
    new Request({ host: 'server.example.com', target: '/chat', subprotocols: ['chat', 'superchat'], extraHeaders: [['Origin', 'http://www.example.com']] });

  test('the request is RFC 8441 5.1\'s fields, in its order', () => {
    const client = new ExtendedConnect(ConnectionType.CLIENT);
    expect(client.sendHeaders(offer())).toEqual(
      rfcRequest({ 'sec-websocket-extensions': null }).sort(([a], [b]) => order(a) - order(b)),
    );
    expect(client.state).toBe(ConnectionState.CONNECTING);
  });

  /** Where each field comes in the request we write: pseudo-headers, version, offers, extras. */
  function order(name: string): number {
    return [':method', ':protocol', ':scheme', ':path', ':authority', 'sec-websocket-version', 'sec-websocket-protocol', 'origin'].indexOf(name);
  }

  test('scheme http for HTTP/2 without TLS', () => {
    const client = new ExtendedConnect(ConnectionType.CLIENT, { scheme: 'http' });
    expect(client.sendHeaders(new Request({ host: 'h:8080', target: '/' }))).toContainEqual([':scheme', 'http']);
  });

  test('a 200 opens the connection: AcceptConnection with the subprotocol, then masked frames', () => {
    const client = new ExtendedConnect(ConnectionType.CLIENT, { random: fixedRandom([0x37, 0xfa, 0x21, 0x3d]) });
    client.sendHeaders(offer());
    client.receiveHeaders([
      [':status', '200'],
      ['sec-websocket-protocol', 'chat'],
    ]);
    const [accepted] = drain(client) as [AcceptConnection];
    expect(accepted).toBeInstanceOf(AcceptConnection);
    expect(accepted.subprotocol).toBe('chat');
    expect(client.state).toBe(ConnectionState.OPEN);
    expect(toHex(client.send(new TextMessage({ data: 'Hello' })))).toBe(MASKED_HELLO.replace(/ /g, ''));
    client.receiveData(hex(UNMASKED_HELLO));
    expect(drain(client)).toEqual([new TextMessage({ data: 'Hello' })]);
  });

  test('a 1xx is skipped; the final response decides', () => {
    const client = new ExtendedConnect(ConnectionType.CLIENT);
    client.sendHeaders(offer());
    client.receiveHeaders([[':status', '103']]);
    expect(drain(client)).toEqual([]);
    client.receiveHeaders([[':status', '200']]);
    expect(drain(client).map((e) => e.type)).toEqual(['AcceptConnection']);
  });

  test('a refusal with a body: RejectConnection, RejectData per DATA, the last at END_STREAM', () => {
    const client = new ExtendedConnect(ConnectionType.CLIENT);
    client.sendHeaders(offer());
    client.receiveHeaders([
      [':status', '403'],
      ['content-type', 'text/plain'],
    ]);
    const body = new TextEncoder().encode('go away');
    client.receiveData(body);
    client.receiveData(null);
    const events = drain(client);
    expect(events[0]).toEqual(new RejectConnection({ statusCode: 403, headers: [[':status', '403'], ['content-type', 'text/plain']], hasBody: true }));
    expect(events.slice(1)).toEqual([new RejectData({ data: body, bodyFinished: false }), new RejectData({ data: new Uint8Array(0), bodyFinished: true })]);
    expect(client.state).toBe(ConnectionState.CLOSED);
  });

  test('a refusal with END_STREAM has no body', () => {
    const client = new ExtendedConnect(ConnectionType.CLIENT);
    client.sendHeaders(offer());
    client.receiveHeaders([[':status', '404']], true);
    expect(drain(client)).toEqual([new RejectConnection({ statusCode: 404, headers: [[':status', '404']], hasBody: false })]);
    expect(client.state).toBe(ConnectionState.CLOSED);
  });

  test.each<[string, Headers]>([
    ['no :status', [['sec-websocket-protocol', 'chat']]],
    ['two :status', [[':status', '200'], [':status', '200']]],
    ['a :status that is not 3 digits', [[':status', '2000']]],
    ['a request pseudo-header', [[':status', '200'], [':path', '/']]],
    ['a subprotocol not offered', [[':status', '200'], ['sec-websocket-protocol', 'other']]],
    ['two subprotocols', [[':status', '200'], ['sec-websocket-protocol', 'chat, superchat']]],
    ['an extension not offered', [[':status', '200'], ['sec-websocket-extensions', 'permessage-deflate']]],
  ])('a response with %s: RemoteProtocolError, state CLOSED', (_what, headers) => {
    const client = new ExtendedConnect(ConnectionType.CLIENT);
    client.sendHeaders(offer());
    const error = thrown(() => client.receiveHeaders(headers)) as RemoteProtocolError;
    expect(error).toBeInstanceOf(RemoteProtocolError);
    expect(error.code).toBe('WS_BAD_HANDSHAKE');
    expect(client.state).toBe(ConnectionState.CLOSED);
  });

  test('the stream ending before the response: RemoteProtocolError', () => {
    const client = new ExtendedConnect(ConnectionType.CLIENT);
    client.sendHeaders(offer());
    expect(thrown(() => client.receiveData(null))).toBeInstanceOf(RemoteProtocolError);
    expect(client.state).toBe(ConnectionState.CLOSED);
  });

  test.each<[string, Request]>([
    ['a target that is not an absolute path', new Request({ host: 'h', target: 'http://h/' })],
    ['no host', new Request({ host: '', target: '/' })],
    ['a Connection field', new Request({ host: 'h', target: '/', extraHeaders: [['Connection', 'keep-alive']] })],
    ['a Host field (:authority says it)', new Request({ host: 'h', target: '/', extraHeaders: [['Host', 'other']] })],
    ['a subprotocol that is not a token', new Request({ host: 'h', target: '/', subprotocols: ['a b'] })],
  ])('a request with %s: LocalProtocolError WS_BAD_EVENT, nothing sent', (_what, request) => {
    const client = new ExtendedConnect(ConnectionType.CLIENT);
    expect((thrown(() => client.sendHeaders(request)) as LocalProtocolError).code).toBe('WS_BAD_EVENT');
    expect(client.state).toBe(ConnectionState.CONNECTING);
  });
});

describe('both ends in memory', () => {
  test('compressed messages, a ping, and the closing handshake over one "stream"', () => {
    const client = new ExtendedConnect(ConnectionType.CLIENT, { scheme: 'http' });
    const server = new ExtendedConnect(ConnectionType.SERVER);
    server.receiveHeaders(client.sendHeaders(new Request({ host: '127.0.0.1:8080', target: '/echo', extensions: [new PerMessageDeflate()] })));
    const [request] = drain(server) as [Request];
    expect(request.extensions).toEqual(['permessage-deflate; client_max_window_bits']);
    client.receiveHeaders(server.sendHeaders(new AcceptConnection({ extensions: [new PerMessageDeflate()] })));
    expect(drain(client).map((e) => e.type)).toEqual(['AcceptConnection']);

    const text = 'over HTTP/2 '.repeat(200);
    const frame = client.send(new TextMessage({ data: text }));
    expect(frame[0] & 0x40).toBe(0x40); // RSV1: compressed
    expect(frame.length).toBeLessThan(text.length / 4);
    server.receiveData(frame);
    server.receiveData(client.send(new BytesMessage({ data: new Uint8Array([1, 2, 3]) })));
    expect(drain(server)).toEqual([new TextMessage({ data: text }), new BytesMessage({ data: new Uint8Array([1, 2, 3]) })]);
    client.receiveData(server.send(new Ping({ payload: new Uint8Array([7]) })));
    const [ping] = drain(client) as [Ping];
    server.receiveData(client.send(ping.response()));
    expect(drain(server)).toEqual([new Pong({ payload: new Uint8Array([7]) })]);

    server.receiveData(client.send(new CloseConnection({ code: 1000, reason: 'done' })));
    const [close] = drain(server) as [CloseConnection];
    expect(close).toEqual(new CloseConnection({ code: 1000, reason: 'done' }));
    client.receiveData(server.send(close.response()));
    expect(drain(client)).toEqual([new CloseConnection({ code: 1000, reason: 'done' })]);
    expect([client.state, server.state]).toEqual([ConnectionState.CLOSED, ConnectionState.CLOSED]);
  });
});

import {
  AcceptConnection,
  BytesMessage,
  CloseConnection,
  Connection,
  ConnectionState,
  ConnectionType,
  FRAGMENT_ALLOWANCE,
  MIN_FRAGMENT_BYTES,
  Opcode,
  ParseFailed,
  Ping,
  Pong,
  RSV1,
  TextMessage,
  type Extension,
} from '@wsstack/wsproto';
import { client, clientFrame, concat, feed, hex, joinMessages, rawFrame, server, toHex, expectLocalError } from './helpers/frames';

function expectClose(events: unknown[], code: number): CloseConnection {
  const last = events.at(-1);
  expect(last).toBeInstanceOf(CloseConnection);
  expect((last as CloseConnection).code).toBe(code);
  return last as CloseConnection;
}

describe('protocol errors close the connection with the right code', () => {
  const cases: Array<[string, Uint8Array, number]> = [
    ['reserved opcode 0x3', clientFrame({ opcode: 0x3 }), 1002],
    ['reserved opcode 0x7', clientFrame({ opcode: 0x7 }), 1002],
    ['reserved opcode 0xB', clientFrame({ opcode: 0xb }), 1002],
    ['reserved opcode 0xF', clientFrame({ opcode: 0xf }), 1002],
    ['an unmasked frame to a server', rawFrame({ opcode: Opcode.TEXT, payload: 'hi' }), 1002],
    ['RSV1 without an extension', clientFrame({ opcode: Opcode.TEXT, rsv: 0x40, payload: 'hi' }), 1002],
    ['RSV2 without an extension', clientFrame({ opcode: Opcode.TEXT, rsv: 0x20, payload: 'hi' }), 1002],
    ['RSV3 without an extension', clientFrame({ opcode: Opcode.BINARY, rsv: 0x10 }), 1002],
    ['a fragmented ping', clientFrame({ opcode: Opcode.PING, fin: false }), 1002],
    ['a ping over 125 bytes', clientFrame({ opcode: Opcode.PING, payload: new Uint8Array(126) }), 1002],
    ['a close over 125 bytes', clientFrame({ opcode: Opcode.CLOSE, payload: new Uint8Array(126), lengthBits: 16 }), 1002],
    ['a 16-bit length under 126', clientFrame({ opcode: Opcode.BINARY, payload: new Uint8Array(125), lengthBits: 16 }), 1002],
    ['a 64-bit length under 65536', clientFrame({ opcode: Opcode.BINARY, payload: new Uint8Array(200), lengthBits: 64 }), 1002],
    ['a 64-bit length with the high bit set', clientFrame({ opcode: Opcode.BINARY, announcedLength: 2 ** 63, lengthBits: 64 }), 1002],
    ['a continuation without a message', clientFrame({ opcode: Opcode.CONTINUATION, payload: 'x' }), 1002],
    [
      'a new text frame inside a fragmented message',
      concat([clientFrame({ opcode: Opcode.TEXT, fin: false, payload: 'a' }), clientFrame({ opcode: Opcode.TEXT, payload: 'b' })]),
      1002,
    ],
    [
      'a new binary frame inside a fragmented message',
      concat([clientFrame({ opcode: Opcode.BINARY, fin: false }), clientFrame({ opcode: Opcode.BINARY })]),
      1002,
    ],
    ['a close with a 1-byte payload', clientFrame({ opcode: Opcode.CLOSE, payload: hex('03') }), 1002],
    ...[0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535].map(
      (code): [string, Uint8Array, number] => [`close code ${code}`, clientFrame({ opcode: Opcode.CLOSE, payload: Uint8Array.of(code >> 8, code & 0xff) }), 1002],
    ),
    ['a close reason that is not UTF-8', clientFrame({ opcode: Opcode.CLOSE, payload: hex('03 e8 ff') }), 1007],
    ['text that is not UTF-8', clientFrame({ opcode: Opcode.TEXT, payload: hex('ed a0 80') }), 1007],
    ['text ending mid code point', clientFrame({ opcode: Opcode.TEXT, payload: hex('41 e2 82') }), 1007],
  ];

  test.each(cases)('%s', (_name, bytes, code) => {
    const conn = server();
    const events = feed(conn, bytes);
    // Only the close, after any fragment that was valid on its own.
    expect(events.filter((e) => e instanceof CloseConnection)).toHaveLength(1);
    expect(events.every((e) => e instanceof CloseConnection || (e as TextMessage).messageFinished === false)).toBe(true);
    const close = expectClose(events, code);
    expect(close.reason).not.toBe('');
    expect(conn.state).toBe(ConnectionState.REMOTE_CLOSING);
    // We owe the peer a close: the response goes out and closes the connection.
    expect(toHex(conn.send(close.response())).slice(0, 8)).toBe('88' + (2 + Buffer.byteLength(close.reason)).toString(16).padStart(2, '0') + code.toString(16).padStart(4, '0'));
    expect(conn.state).toBe(ConnectionState.CLOSED);
  });

  test('a masked frame to a client closes with 1002', () => {
    const conn = client();
    expectClose(feed(conn, clientFrame({ opcode: Opcode.TEXT, payload: 'hi' })), 1002);
    expect(conn.state).toBe(ConnectionState.REMOTE_CLOSING);
  });

  test('a message over maxMessageSize closes with 1009 from the header alone', () => {
    const conn = server({ maxMessageSize: 1000 });
    // Only the header arrives: the verdict needs no payload.
    const frame = clientFrame({ opcode: Opcode.BINARY, payload: new Uint8Array(1001) });
    expectClose(feed(conn, frame.subarray(0, 8)), 1009);
    expect(conn.state).toBe(ConnectionState.REMOTE_CLOSING);
  });

  test('maxMessageSize counts the fragments of a message together', () => {
    const conn = server({ maxMessageSize: 10 });
    const events = feed(
      conn,
      clientFrame({ opcode: Opcode.TEXT, fin: false, payload: 'x'.repeat(6) }),
      clientFrame({ opcode: Opcode.CONTINUATION, payload: 'x'.repeat(5) }),
    );
    expect(events[0]).toBeInstanceOf(TextMessage);
    expectClose(events, 1009);
  });

  test('a message of exactly maxMessageSize is fine, and the count restarts per message', () => {
    const conn = server({ maxMessageSize: 10 });
    const m = clientFrame({ opcode: Opcode.BINARY, payload: new Uint8Array(10) });
    expect(joinMessages(feed(conn, m, m))).toHaveLength(2);
  });

  test('a 64-bit length announcing petabytes closes with 1009', () => {
    const conn = server();
    expectClose(feed(conn, clientFrame({ opcode: Opcode.BINARY, announcedLength: 2 ** 50, lengthBits: 64 })), 1009);
  });

  test('fragments are charged in bytes: 4 MiB in 64-byte fragments passes the default limits', () => {
    const conn = server();
    const piece = new Uint8Array(64).fill(0x61);
    const count = (4 * 1024 * 1024) / 64;
    const frames: Uint8Array[] = [clientFrame({ opcode: Opcode.BINARY, fin: false, payload: piece })];
    for (let i = 1; i < count; i++) frames.push(clientFrame({ opcode: Opcode.CONTINUATION, fin: i === count - 1, payload: piece }));
    const events = feed(conn, concat(frames));
    expect(events.every((e) => e instanceof BytesMessage)).toBe(true);
    expect(events.reduce((n, e) => n + (e as BytesMessage).data.length, 0)).toBe(4 * 1024 * 1024);
    expect((events.at(-1) as BytesMessage).messageFinished).toBe(true);
  });

  test('each fragment is charged at least MIN_FRAGMENT_BYTES, up to maxMessageSize + FRAGMENT_ALLOWANCE: empty ones too', () => {
    const maxMessageSize = 10 * MIN_FRAGMENT_BYTES;
    const allowed = (maxMessageSize + FRAGMENT_ALLOWANCE) / MIN_FRAGMENT_BYTES;
    const empties = (n: number, last: boolean): Uint8Array => {
      const frames = [clientFrame({ opcode: Opcode.TEXT, fin: false })];
      for (let i = 1; i < n; i++) frames.push(clientFrame({ opcode: Opcode.CONTINUATION, fin: last && i === n - 1 }));
      return concat(frames);
    };
    // Exactly the allowance: the (empty) message is delivered.
    expect(joinMessages(feed(server({ maxMessageSize }), empties(allowed, true)))).toEqual([{ text: '' }]);
    // One fragment more: 1009, before its payload is read.
    const events = feed(server({ maxMessageSize }), empties(allowed + 1, false));
    expect(expectClose(events, 1009).reason).toMatch(/small fragments/);
  });

  test('fragments of MIN_FRAGMENT_BYTES or more are measured exactly against maxMessageSize', () => {
    const maxMessageSize = 4 * MIN_FRAGMENT_BYTES;
    const piece = new Uint8Array(MIN_FRAGMENT_BYTES);
    const frames = [0, 1, 2, 3].map((i) => clientFrame({ opcode: i === 0 ? Opcode.BINARY : Opcode.CONTINUATION, fin: i === 3, payload: piece }));
    expect(joinMessages(feed(server({ maxMessageSize }), concat(frames)))).toHaveLength(1);
  });

  test('more fragments than maxFragments (deprecated, still enforced when set) closes with 1009', () => {
    const conn = server({ maxFragments: 3 });
    const frames = [
      clientFrame({ opcode: Opcode.TEXT, fin: false, payload: 'a' }),
      clientFrame({ opcode: Opcode.CONTINUATION, fin: false, payload: 'b' }),
      clientFrame({ opcode: Opcode.CONTINUATION, fin: false, payload: 'c' }),
      clientFrame({ opcode: Opcode.CONTINUATION, payload: 'd' }),
    ];
    const events = feed(conn, ...frames);
    expect(events.filter((e) => e instanceof TextMessage)).toHaveLength(3);
    expectClose(events, 1009);
  });

  test('nothing after a violation is parsed', () => {
    const conn = server();
    const events = feed(conn, concat([clientFrame({ opcode: 0x3 }), clientFrame({ opcode: Opcode.TEXT, payload: 'late' })]));
    expect(events).toHaveLength(1);
    expect(feed(conn, clientFrame({ opcode: Opcode.TEXT, payload: 'later' }))).toEqual([]);
  });

  test('a close reason that is cut to fit a close frame', () => {
    const ext = fakeExtension({
      frameInboundPayloadData: () => {
        throw new ParseFailed('é'.repeat(100), 1007);
      },
    });
    const conn = server({ extensions: [ext] });
    const close = expectClose(feed(conn, clientFrame({ opcode: Opcode.TEXT, payload: 'a' })), 1007);
    expect(Buffer.byteLength(close.reason)).toBeLessThanOrEqual(123);
    expect(close.reason).toBe('é'.repeat(61));
    expect(() => conn.send(close.response())).not.toThrow();
  });
});

function fakeExtension(overrides: Partial<Extension>): Extension {
  return {
    name: 'x-test',
    enabled: () => true,
    offer: () => true,
    accept: () => true,
    finalize: () => undefined,
    frameInboundHeader: () => 0,
    frameInboundPayloadData: (data) => data,
    frameInboundComplete: () => null,
    frameOutbound: (_opcode, rsv, data) => [rsv, data],
    ...overrides,
  };
}

describe('extensions', () => {
  test('RSV bits an enabled extension claims are allowed; its payload hooks transform the data', () => {
    const seen: Array<[number, number, number]> = [];
    const ext = fakeExtension({
      frameInboundHeader: (opcode, rsv, length) => {
        seen.push([opcode, rsv, length]);
        return RSV1;
      },
      frameInboundPayloadData: (data) => data.map((b) => b + 1),
      frameInboundComplete: (fin) => (fin ? Uint8Array.of(0x21) : null),
      frameOutbound: (_opcode, rsv, data) => [rsv | RSV1, data.map((b) => b - 1)],
    });
    const conn = server({ extensions: [ext] });
    const events = feed(
      conn,
      clientFrame({ opcode: Opcode.TEXT, fin: false, rsv: RSV1, payload: 'G' }),
      clientFrame({ opcode: Opcode.CONTINUATION, payload: 'd' }),
    );
    expect(joinMessages(events)).toEqual([{ text: 'He!' }]);
    expect(seen).toEqual([
      [Opcode.TEXT, RSV1, 1],
      [Opcode.CONTINUATION, 0, 1],
    ]);
    expect(toHex(conn.send(new TextMessage({ data: 'b' })))).toBe('c10161');
  });

  test('a disabled extension takes no part: its RSV bit is a protocol error', () => {
    const conn = server({ extensions: [fakeExtension({ enabled: () => false, frameInboundHeader: () => RSV1 })] });
    expectClose(feed(conn, clientFrame({ opcode: Opcode.TEXT, rsv: RSV1, payload: 'a' })), 1002);
  });

  test('the limit passed to an extension is what the message may still grow by', () => {
    const limits: number[] = [];
    const ext = fakeExtension({
      frameInboundPayloadData: (data, limit) => {
        limits.push(limit);
        return new Uint8Array(data.length * 10);
      },
    });
    const conn = server({ extensions: [ext], maxMessageSize: 100 });
    const events = feed(
      conn,
      clientFrame({ opcode: Opcode.BINARY, fin: false, payload: new Uint8Array(4) }),
      clientFrame({ opcode: Opcode.CONTINUATION, payload: new Uint8Array(7) }),
    );
    expect(limits).toEqual([100, 60]);
    // 40 + 70 inflated bytes pass 100: the connection stops it even if the extension did not.
    expectClose(events, 1009);
  });
});

describe('events', () => {
  test('messages, pings and pongs become events', () => {
    const conn = server();
    const events = feed(
      conn,
      concat([
        clientFrame({ opcode: Opcode.TEXT, payload: 'hi' }),
        clientFrame({ opcode: Opcode.BINARY, payload: hex('00 ff') }),
        clientFrame({ opcode: Opcode.PING, payload: 'p' }),
        clientFrame({ opcode: Opcode.PONG, payload: 'q' }),
      ]),
    );
    expect(events[0]).toEqual(new TextMessage({ data: 'hi' }));
    expect(events[1]).toBeInstanceOf(BytesMessage);
    expect(toHex((events[1] as BytesMessage).data)).toBe('00ff');
    expect(events[2]).toBeInstanceOf(Ping);
    expect(toHex(conn.send((events[2] as Ping).response()))).toBe('8a0170');
    expect(events[3]).toBeInstanceOf(Pong);
    expect(conn.state).toBe(ConnectionState.OPEN);
  });

  test('the core never answers by itself: receiving gives events, not bytes', () => {
    const conn = server();
    feed(conn, clientFrame({ opcode: Opcode.PING, payload: 'p' }));
    expect(conn.state).toBe(ConnectionState.OPEN);
  });

  test('fragments carry frameFinished and messageFinished', () => {
    const conn = server();
    const events = feed(
      conn,
      clientFrame({ opcode: Opcode.BINARY, fin: false, payload: 'a' }),
      clientFrame({ opcode: Opcode.CONTINUATION, payload: 'b' }),
    );
    expect(events.map((e) => [(e as BytesMessage).frameFinished, (e as BytesMessage).messageFinished])).toEqual([
      [true, false],
      [true, true],
    ]);
  });

  test('trailing handshake bytes are the first frames', () => {
    const conn = new Connection({ type: ConnectionType.SERVER, trailingData: clientFrame({ opcode: Opcode.TEXT, payload: 'early' }) });
    expect(joinMessages([...conn.events()])).toEqual([{ text: 'early' }]);
  });

  test('events() is lazy: the state changes when the close is yielded', () => {
    const conn = server();
    conn.receiveData(concat([clientFrame({ opcode: Opcode.TEXT, payload: 'a' }), clientFrame({ opcode: Opcode.CLOSE, payload: hex('03e8') })]));
    const it = conn.events();
    expect(it.next().value).toBeInstanceOf(TextMessage);
    expect(conn.state).toBe(ConnectionState.OPEN);
    expect(it.next().value).toEqual(new CloseConnection({ code: 1000 }));
    expect(conn.state).toBe(ConnectionState.REMOTE_CLOSING);
    expect(it.next().done).toBe(true);
  });

  test('stopping early keeps the rest for the next events() call', () => {
    const conn = server();
    conn.receiveData(concat([clientFrame({ opcode: Opcode.TEXT, payload: 'a' }), clientFrame({ opcode: Opcode.TEXT, payload: 'b' })]));
    for (const e of conn.events()) {
      expect(e).toEqual(new TextMessage({ data: 'a' }));
      break;
    }
    expect([...conn.events()]).toEqual([new TextMessage({ data: 'b' })]);
  });
});

describe('closing', () => {
  test('a close in OPEN → REMOTE_CLOSING; answering it → CLOSED', () => {
    const conn = server();
    const [close] = feed(conn, clientFrame({ opcode: Opcode.CLOSE, payload: hex('03e8 6279 65') }));
    expect(close).toEqual(new CloseConnection({ code: 1000, reason: 'bye' }));
    expect(conn.state).toBe(ConnectionState.REMOTE_CLOSING);
    expect(toHex(conn.send((close as CloseConnection).response()))).toBe('880503e8627965');
    expect(conn.state).toBe(ConnectionState.CLOSED);
  });

  test('an empty close payload is code 1005, answered with an empty close', () => {
    const conn = server();
    const [close] = feed(conn, clientFrame({ opcode: Opcode.CLOSE }));
    expect((close as CloseConnection).code).toBe(1005);
    expect(toHex(conn.send((close as CloseConnection).response()))).toBe('8800');
  });

  test('our close in OPEN → LOCAL_CLOSING; the peer’s answer → CLOSED; data still arrives in between', () => {
    const conn = client();
    expect(toHex(conn.send(new CloseConnection({ code: 1001 })))).toBe('888237fa213d3413');
    expect(conn.state).toBe(ConnectionState.LOCAL_CLOSING);
    const events = feed(conn, rawFrame({ opcode: Opcode.TEXT, payload: 'last' }), rawFrame({ opcode: Opcode.CLOSE, payload: hex('03e9') }));
    expect(joinMessages(events)).toEqual([{ text: 'last' }, { close: 1001, reason: '' }]);
    expect(conn.state).toBe(ConnectionState.CLOSED);
    // Bytes after CLOSED are ignored, EOF too.
    conn.receiveData(rawFrame({ opcode: Opcode.TEXT, payload: 'x' }));
    conn.receiveData(null);
    expect([...conn.events()]).toEqual([]);
  });

  test.each([ConnectionState.OPEN, ConnectionState.REMOTE_CLOSING, ConnectionState.LOCAL_CLOSING])('EOF in %s yields 1006 and CLOSED', (state) => {
    const conn = server();
    if (state === ConnectionState.REMOTE_CLOSING) feed(conn, clientFrame({ opcode: Opcode.CLOSE }));
    if (state === ConnectionState.LOCAL_CLOSING) conn.send(new CloseConnection({ code: 1000 }));
    expect(conn.state).toBe(state);
    conn.receiveData(null);
    const events = [...conn.events()];
    expect(events).toEqual([new CloseConnection({ code: 1006 })]);
    expect(conn.state).toBe(ConnectionState.CLOSED);
  });

  test('EOF after a violation still yields 1006', () => {
    const conn = server();
    feed(conn, clientFrame({ opcode: 0x3 }));
    conn.receiveData(null);
    expect([...conn.events()]).toEqual([new CloseConnection({ code: 1006 })]);
    expect(conn.state).toBe(ConnectionState.CLOSED);
  });

  test('EOF with a frame half received yields the complete events, then 1006', () => {
    const conn = server();
    const frame = clientFrame({ opcode: Opcode.TEXT, payload: 'whole' });
    conn.receiveData(concat([frame, frame.subarray(0, 4)]));
    conn.receiveData(null);
    expect(joinMessages([...conn.events()])).toEqual([{ text: 'whole' }, { close: 1006, reason: '' }]);
  });

  test('frames after the peer’s close are ignored', () => {
    const conn = server();
    const events = feed(conn, concat([clientFrame({ opcode: Opcode.CLOSE }), clientFrame({ opcode: Opcode.TEXT, payload: 'x' })]));
    expect(events).toHaveLength(1);
  });
});

describe('sending and the state', () => {
  test('text and bytes, whole and continued', () => {
    const conn = server();
    expect(toHex(conn.send(new TextMessage({ data: 'Hel', messageFinished: false })))).toBe('010348656c');
    expect(toHex(conn.send(new TextMessage({ data: 'lo' })))).toBe('80026c6f');
    expect(toHex(conn.send(new BytesMessage({ data: hex('0102') })))).toBe('82020102');
  });

  test('a client masks what it sends', () => {
    expect(toHex(client().send(new TextMessage({ data: 'Hello' })))).toBe('818537fa213d7f9f4d5158');
  });

  test('data until our own close: after the peer’s close we may still finish answering (RFC 6455 5.5.1)', () => {
    const conn = server();
    feed(conn, clientFrame({ opcode: Opcode.CLOSE }));
    expect(conn.state).toBe(ConnectionState.REMOTE_CLOSING);
    expect(toHex(conn.send(new TextMessage({ data: 'x' })))).toBe('810178');
    expect(toHex(conn.send(new BytesMessage({ data: hex('00') })))).toBe('820100');
    expect(toHex(conn.send(new Ping()))).toBe('8900');
    expect(toHex(conn.send(new Pong()))).toBe('8a00');
    expect(toHex(conn.send(new CloseConnection({ code: 1005 }).response()))).toBe('8800');
    expect(conn.state).toBe(ConnectionState.CLOSED);
    expectLocalError(() => conn.send(new TextMessage({ data: 'x' })), 'WS_BAD_STATE');
  });

  test('nothing but the close in LOCAL_CLOSING and nothing at all in CLOSED', () => {
    const conn = server();
    conn.send(new CloseConnection({ code: 1000 }));
    for (const event of [new TextMessage({ data: 'x' }), new Ping(), new Pong(), new CloseConnection({ code: 1000 })]) {
      expectLocalError(() => conn.send(event), 'WS_BAD_STATE');
    }
    feed(conn, clientFrame({ opcode: Opcode.CLOSE }));
    expect(conn.state).toBe(ConnectionState.CLOSED);
    expectLocalError(() => conn.send(new Ping()), 'WS_BAD_STATE');
  });

  test('handshake events are not sendable here', () => {
    expectLocalError(() => server().send(new AcceptConnection()), 'WS_BAD_STATE');
  });

  test('an invalid close leaves the state unchanged', () => {
    const conn = server();
    expectLocalError(() => conn.send(new CloseConnection({ code: 1006 })), 'WS_BAD_EVENT');
    expectLocalError(() => conn.send(new CloseConnection({ code: 1000, reason: 'x'.repeat(124) })), 'WS_BAD_EVENT');
    expect(conn.state).toBe(ConnectionState.OPEN);
    expect(toHex(conn.send(new CloseConnection({ code: 4999 })))).toBe('88021387');
  });

  test('a 1006 from EOF answers with a 1000 that the CLOSED state refuses', () => {
    const conn = server();
    conn.receiveData(null);
    const [close] = [...conn.events()];
    expectLocalError(() => conn.send((close as CloseConnection).response()), 'WS_BAD_STATE');
  });
});

describe('nextEvent', () => {
  /** Pulls with nextEvent() until null, state after each event recorded. */
  function pull(conn: Connection, ...chunks: Uint8Array[]): Array<[string, ConnectionState]> {
    const out: Array<[string, ConnectionState]> = [];
    for (const chunk of chunks) {
      conn.receiveData(chunk === EOF ? null : Uint8Array.from(chunk));
      for (let e = conn.nextEvent(); e !== null; e = conn.nextEvent()) out.push([e.type, conn.state]);
    }
    return out;
  }
  const EOF = new Uint8Array(0);

  test.each([
    ['messages then a close', [clientFrame({ opcode: Opcode.TEXT, payload: 'a' }), clientFrame({ opcode: Opcode.PING, payload: 'p' }), clientFrame({ opcode: Opcode.CLOSE, payload: new Uint8Array([0x03, 0xe8]) })]],
    ['a violation after a message', [clientFrame({ opcode: Opcode.BINARY, payload: 'b' }), clientFrame({ opcode: 0x3 }), clientFrame({ opcode: Opcode.TEXT, payload: 'ignored' })]],
    ['EOF mid-message', [clientFrame({ opcode: Opcode.TEXT, payload: 'x', fin: false }), EOF]],
  ])('yields what events() yields, with the same states: %s', (_name, chunks) => {
    const viaGenerator: Array<[string, ConnectionState]> = [];
    const a = server();
    for (const chunk of chunks) {
      a.receiveData(chunk === EOF ? null : Uint8Array.from(chunk));
      for (const e of a.events()) viaGenerator.push([e.type, a.state]);
    }
    const viaNext = pull(server(), ...chunks);
    expect(viaNext).toEqual(viaGenerator);
    expect(viaNext.length).toBeGreaterThan(1);
  });
});

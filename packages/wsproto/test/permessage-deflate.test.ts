/**
 * permessage-deflate (RFC 7692): the section 7.2.3 examples byte for byte,
 * negotiation of all four parameters, the limits, and bad input.
 */
import { deflateRawSync, inflateRawSync, constants as zc } from 'node:zlib';
import { Connection, ConnectionState, ConnectionType } from '../src/connection';
import { BytesMessage, CloseConnection, TextMessage, type Event } from '../src/events';
import { LocalProtocolError } from '../src/errors';
import { PerMessageDeflate, type PerMessageDeflateInit } from '../src/permessage-deflate';

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** A negotiated extension for `role`, as if the handshake had accepted `params`. */
function negotiated(role: ConnectionType, init: PerMessageDeflateInit = {}, params = ''): PerMessageDeflate {
  const pmd = new PerMessageDeflate(init);
  if (role === ConnectionType.SERVER) expect(pmd.accept(params)).not.toBeNull();
  else pmd.finalize(params);
  return pmd;
}

function connection(role: ConnectionType, init: PerMessageDeflateInit = {}, maxMessageSize?: number): Connection {
  return new Connection({ type: role, extensions: [negotiated(role, init)], ...(maxMessageSize ? { maxMessageSize } : {}) });
}

function feed(conn: Connection, ...chunks: Uint8Array[]): Event[] {
  const out: Event[] = [];
  for (const chunk of chunks) {
    conn.receiveData(chunk);
    out.push(...conn.events());
  }
  return out;
}

/** Whole messages from events, pieces joined. */
function messages(events: Event[]): Array<string | Uint8Array | CloseConnection> {
  const out: Array<string | Uint8Array | CloseConnection> = [];
  let text = '';
  let bytes: Uint8Array[] = [];
  for (const ev of events) {
    if (ev instanceof TextMessage) {
      text += ev.data;
      if (ev.messageFinished) {
        out.push(text);
        text = '';
      }
    } else if (ev instanceof BytesMessage) {
      bytes.push(ev.data);
      if (ev.messageFinished) {
        out.push(Buffer.concat(bytes));
        bytes = [];
      }
    } else if (ev instanceof CloseConnection) out.push(ev);
  }
  return out;
}

describe('RFC 7692 7.2.3 examples, received by a client', () => {
  it('7.2.3.1: a compressed "Hello" in one frame', () => {
    expect(messages(feed(connection(ConnectionType.CLIENT), hex('c1 07 f2 48 cd c9 c9 07 00')))).toEqual(['Hello']);
  });

  it('7.2.3.1: the same message in two fragments, with a ping between them', () => {
    const events = feed(connection(ConnectionType.CLIENT), hex('41 03 f2 48 cd'), hex('89 00'), hex('80 04 c9 c9 07 00'));
    expect(events.map((e) => e.type)).toContain('Ping');
    expect(messages(events)).toEqual(['Hello']);
  });

  it('7.2.3.2: a second "Hello" that refers back into the first (context takeover)', () => {
    const conn = connection(ConnectionType.CLIENT);
    expect(messages(feed(conn, hex('c1 07 f2 48 cd c9 c9 07 00'), hex('c1 05 f2 00 11 00 00')))).toEqual(['Hello', 'Hello']);
  });

  it('7.2.3.3: a DEFLATE block with no compression', () => {
    expect(messages(feed(connection(ConnectionType.CLIENT), hex('c1 0b 00 05 00 fa ff 48 65 6c 6c 6f 00')))).toEqual(['Hello']);
  });

  it('7.2.3.4: a DEFLATE block with BFINAL set', () => {
    expect(messages(feed(connection(ConnectionType.CLIENT), hex('c1 08 f3 48 cd c9 c9 07 00 00')))).toEqual(['Hello']);
  });

  it('7.2.3.5: two DEFLATE blocks in one message', () => {
    const frame = hex('c1 0d f2 48 05 00 00 00 ff ff ca c9 c9 07 00');
    expect(messages(feed(connection(ConnectionType.CLIENT), frame))).toEqual(['Hello']);
  });

  it('7.2.3.6: the empty message', () => {
    expect(messages(feed(connection(ConnectionType.CLIENT), hex('c1 01 00')))).toEqual(['']);
  });

  it('decodes the same bytes one byte at a time', () => {
    const conn = connection(ConnectionType.CLIENT);
    const bytes = hex('41 03 f2 48 cd 89 00 80 04 c9 c9 07 00 c1 05 f2 00 11 00 00');
    const events = feed(conn, ...Array.from(bytes, (b) => Uint8Array.of(b)));
    expect(messages(events)).toEqual(['Hello', 'Hello']);
  });
});

describe('RFC 7692 7.2.3 examples, sent by a server', () => {
  it('7.2.3.1: compresses "Hello" to the RFC bytes', () => {
    const conn = connection(ConnectionType.SERVER, { threshold: 0 });
    expect(toHex(conn.send(new TextMessage({ data: 'Hello' })))).toBe('c107f248cdc9c90700');
  });

  it('7.2.3.6: sends the empty message as a single 00', () => {
    const conn = connection(ConnectionType.SERVER, { threshold: 0 });
    expect(toHex(conn.send(new TextMessage({ data: '' })))).toBe('c10100');
  });

  it('7.2.3.2: with context takeover the second "Hello" is shorter and decodes only in context', () => {
    const server = connection(ConnectionType.SERVER, { threshold: 0 });
    const first = server.send(new TextMessage({ data: 'Hello' }));
    const second = server.send(new TextMessage({ data: 'Hello' }));
    expect(second.length).toBeLessThan(first.length);
    expect(messages(feed(connection(ConnectionType.CLIENT), first, second))).toEqual(['Hello', 'Hello']);
  });

  it('with server_no_context_takeover every "Hello" is the same bytes', () => {
    const server = new Connection({
      type: ConnectionType.SERVER,
      extensions: [negotiated(ConnectionType.SERVER, { threshold: 0 }, 'server_no_context_takeover')],
    });
    const first = toHex(server.send(new TextMessage({ data: 'Hello' })));
    expect(toHex(server.send(new TextMessage({ data: 'Hello' })))).toBe(first);
  });

  it('sets RSV1 only on the first frame of a fragmented message', () => {
    const server = connection(ConnectionType.SERVER, { threshold: 0 });
    const a = server.send(new BytesMessage({ data: Buffer.from('abc'), messageFinished: false }));
    const b = server.send(new BytesMessage({ data: Buffer.from('def') }));
    expect(a[0]).toBe(0x42); // RSV1 + BINARY, no FIN
    expect(b[0]).toBe(0x80); // FIN + CONTINUATION, no RSV1
    expect(messages(feed(connection(ConnectionType.CLIENT), a, b))).toEqual([Buffer.from('abcdef')]);
  });

  it('leaves messages under the threshold uncompressed', () => {
    const server = connection(ConnectionType.SERVER); // default threshold 1024
    expect(server.send(new TextMessage({ data: 'Hello' }))[0]).toBe(0x81);
    expect(server.send(new TextMessage({ data: 'x'.repeat(2000) }))[0]).toBe(0xc1);
  });

  it('round-trips large text and binary both ways, masked from the client', () => {
    const client = connection(ConnectionType.CLIENT, { threshold: 0 });
    const server = connection(ConnectionType.SERVER, { threshold: 0 });
    const text = JSON.stringify(Array.from({ length: 20000 }, (_, i) => ({ i, s: `item ${i} é ✓` })));
    const binary = Uint8Array.from({ length: 300000 }, (_, i) => (i * 7) & 0xff);
    expect(messages(feed(server, client.send(new TextMessage({ data: text })), client.send(new BytesMessage({ data: binary })))))
      .toEqual([text, Buffer.from(binary)]);
    expect(messages(feed(client, server.send(new TextMessage({ data: text }))))).toEqual([text]);
  });
});

describe('permessage-deflate protocol errors', () => {
  const closeOf = (events: Event[]) => events.find((e): e is CloseConnection => e instanceof CloseConnection);

  it('RSV1 on a continuation frame is a protocol error (1002)', () => {
    const conn = connection(ConnectionType.CLIENT);
    expect(closeOf(feed(conn, hex('41 03 f2 48 cd'), hex('c0 04 c9 c9 07 00')))?.code).toBe(1002);
    expect(conn.state).toBe(ConnectionState.REMOTE_CLOSING);
  });

  it('RSV1 on a control frame is a protocol error (1002)', () => {
    expect(closeOf(feed(connection(ConnectionType.CLIENT), hex('c9 00')))?.code).toBe(1002);
  });

  it('data that does not inflate closes with 1007', () => {
    expect(closeOf(feed(connection(ConnectionType.CLIENT), hex('c1 03 ff ff ff')))?.code).toBe(1007);
  });

  it('a zip bomb ends in 1009 without inflating it into memory', () => {
    // 256 MiB of zeros deflate to about 256 KiB; the limit is 1 MiB.
    const bomb = deflateRawSync(Buffer.alloc(256 * 1024 * 1024), { level: 9, finishFlush: zc.Z_SYNC_FLUSH }).subarray(0, -4);
    const frame = Buffer.concat([Buffer.from([0xc2, 127]), Buffer.alloc(8), bomb]);
    frame.writeBigUInt64BE(BigInt(bomb.length), 2);
    const before = process.memoryUsage().arrayBuffers;
    const conn = connection(ConnectionType.CLIENT, {}, 1024 * 1024);
    const events = feed(conn, frame);
    const grown = process.memoryUsage().arrayBuffers - before;
    expect(closeOf(events)?.code).toBe(1009);
    expect(grown).toBeLessThan(64 * 1024 * 1024);
  });

  it('applies the limit to the inflated size of a fragmented message', () => {
    const server = connection(ConnectionType.SERVER, { threshold: 0 });
    const big = 'a'.repeat(50000);
    const bytes = [
      server.send(new TextMessage({ data: big, messageFinished: false })),
      server.send(new TextMessage({ data: big })),
    ];
    expect(bytes[0].length + bytes[1].length).toBeLessThan(60000);
    expect(closeOf(feed(connection(ConnectionType.CLIENT, {}, 60000), ...bytes))?.code).toBe(1009);
  });
});

describe('permessage-deflate negotiation', () => {
  it('a server accepts a bare offer with no parameters', () => {
    const pmd = new PerMessageDeflate();
    expect(pmd.accept('')).toBe(true);
    expect(pmd.enabled()).toBe(true);
  });

  it('a server honours both no_context_takeover requests and echoes them', () => {
    expect(new PerMessageDeflate().accept('server_no_context_takeover; client_no_context_takeover')).toBe(
      'server_no_context_takeover; client_no_context_takeover',
    );
  });

  it('a server may ask the client not to take over context unasked', () => {
    expect(new PerMessageDeflate({ clientNoContextTakeover: true }).accept('')).toBe('client_no_context_takeover');
  });

  it('a server limits client_max_window_bits only when the client offered it', () => {
    expect(new PerMessageDeflate({ clientMaxWindowBits: 10 }).accept('client_max_window_bits')).toBe('client_max_window_bits=10');
    expect(new PerMessageDeflate({ clientMaxWindowBits: 10 }).accept('client_max_window_bits=9')).toBe('client_max_window_bits=9');
    expect(new PerMessageDeflate({ clientMaxWindowBits: 10 }).accept('')).toBe(true);
  });

  it('a server compresses within the window the client asks for, and declines 8 which zlib cannot honour', () => {
    expect(new PerMessageDeflate().accept('server_max_window_bits=10')).toBe('server_max_window_bits=10');
    expect(new PerMessageDeflate({ serverMaxWindowBits: 12 }).accept('server_max_window_bits=14')).toBe('server_max_window_bits=12');
    const pmd = new PerMessageDeflate();
    expect(pmd.accept('server_max_window_bits=8')).toBeNull();
    expect(pmd.enabled()).toBe(false);
  });

  it('a server compressing in a 512-byte window still round-trips through ws-compatible inflate', () => {
    const server = new Connection({
      type: ConnectionType.SERVER,
      extensions: [negotiated(ConnectionType.SERVER, { threshold: 0 }, 'server_max_window_bits=9')],
    });
    const text = 'abcdefgh'.repeat(5000);
    expect(messages(feed(connection(ConnectionType.CLIENT), server.send(new TextMessage({ data: text }))))).toEqual([text]);
  });

  it.each([
    ['an unknown parameter', 'foo'],
    ['a repeated parameter', 'server_no_context_takeover; server_no_context_takeover'],
    ['a window below 8', 'client_max_window_bits=7'],
    ['a window above 15', 'server_max_window_bits=16'],
    ['a non-numeric window', 'client_max_window_bits=abc'],
    ['a value on a flag', 'server_no_context_takeover=1'],
    ['server_max_window_bits without a value', 'server_max_window_bits'],
  ])('a server declines an offer with %s', (_, offer) => {
    expect(new PerMessageDeflate().accept(offer)).toBeNull();
  });

  it('accepts quoted values', () => {
    expect(new PerMessageDeflate().accept('server_max_window_bits="15"')).toBe('server_max_window_bits=15');
  });

  it('a client offers what it was configured with, and client_max_window_bits bare by default', () => {
    expect(new PerMessageDeflate().offer()).toBe('client_max_window_bits');
    expect(new PerMessageDeflate({ serverNoContextTakeover: true }).offer()).toBe('server_no_context_takeover; client_max_window_bits');
    expect(
      new PerMessageDeflate({ clientNoContextTakeover: true, serverNoContextTakeover: true, serverMaxWindowBits: 10, clientMaxWindowBits: 11 }).offer(),
    ).toBe('client_no_context_takeover; server_no_context_takeover; server_max_window_bits=10; client_max_window_bits=11');
  });

  it('a client with the default offer compresses within the window the server chooses (RFC 7692 7.1.2.2)', () => {
    // The same 1,024 bytes twice: with context takeover the second message
    // can point 1,024 bytes back, out of a 9-bit (512-byte) window.
    let seed = 1;
    const message = Uint8Array.from({ length: 1024 }, () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24);
    const secondPayload = (response: string): Buffer => {
      const sender = new Connection({ type: ConnectionType.CLIENT, extensions: [negotiated(ConnectionType.CLIENT, { threshold: 0 }, response)], random: (b) => b.fill(0) });
      sender.send(new BytesMessage({ data: message }));
      const frame = Buffer.from(sender.send(new BytesMessage({ data: message })));
      expect(frame[0]).toBe(0xc2); // FIN, RSV1, binary
      // 7-bit or 16-bit length, then a zero mask key: the payload is as compressed.
      const start = (frame[1] & 0x7f) === 126 ? 8 : 6;
      return Buffer.concat([frame.subarray(start), Buffer.from([0x00, 0x00, 0xff, 0xff])]);
    };
    // What a server's 9-bit inflater holds after the first message: its last 512 bytes.
    const inflate9 = (data: Buffer): Buffer =>
      inflateRawSync(data, { windowBits: 9, finishFlush: zc.Z_SYNC_FLUSH, dictionary: message.subarray(512) });
    expect(inflate9(secondPayload('client_max_window_bits=9')).equals(Buffer.from(message))).toBe(true);
    // With the full window (no client_max_window_bits granted) it does not fit.
    expect(() => inflate9(secondPayload(''))).toThrow(/too far back/);
  });

  it('a client accepts a response that grants its offer', () => {
    const pmd = new PerMessageDeflate({ serverNoContextTakeover: true, serverMaxWindowBits: 10 });
    pmd.finalize('server_no_context_takeover; server_max_window_bits=9');
    expect(pmd.enabled()).toBe(true);
  });

  it.each([
    ['client_max_window_bits without a value', {}, 'client_max_window_bits'],
    ['client_max_window_bits above what it offered', { clientMaxWindowBits: 10 }, 'client_max_window_bits=8'],
    ['an unknown parameter', {}, 'foo=1'],
    ['no server_no_context_takeover when asked', { serverNoContextTakeover: true }, ''],
    ['a larger server window than asked', { serverMaxWindowBits: 10 }, 'server_max_window_bits=12'],
  ])('a client refuses a response with %s', (_, init, response) => {
    expect(() => new PerMessageDeflate(init).finalize(response)).toThrow(LocalProtocolError);
  });

  it('rejects out-of-range options when constructed', () => {
    expect(() => new PerMessageDeflate({ clientMaxWindowBits: 8 })).toThrow(LocalProtocolError);
    expect(() => new PerMessageDeflate({ serverMaxWindowBits: 16 })).toThrow(LocalProtocolError);
  });

  it('a client that sends compressed messages honours client_no_context_takeover from the server', () => {
    const client = new Connection({
      type: ConnectionType.CLIENT,
      extensions: [negotiated(ConnectionType.CLIENT, { threshold: 0 }, 'client_no_context_takeover')],
      random: (b) => b.fill(0),
    });
    const a = toHex(client.send(new TextMessage({ data: 'Hello' })));
    expect(toHex(client.send(new TextMessage({ data: 'Hello' })))).toBe(a);
  });
});

import { FrameProtocol, Opcode, ParseFailed, LocalProtocolError, decodeClosePayload, type Frame } from '@wsstack/wsproto';
import { FrameDecoder } from '@wsstack/wsproto/internal';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { applyMask } from '../src/mask';
import { concat, fixedRandom, hex, rawFrame, toHex, expectLocalError } from './helpers/frames';

const KEY = [0x37, 0xfa, 0x21, 0x3d];

function clientProto(): FrameProtocol {
  return new FrameProtocol({ client: true, random: fixedRandom(KEY) });
}
function serverProto(): FrameProtocol {
  return new FrameProtocol({ client: false });
}

function receive(proto: FrameProtocol, ...chunks: Uint8Array[]): Frame[] {
  const out: Frame[] = [];
  for (const chunk of chunks) {
    proto.receiveBytes(Uint8Array.from(chunk));
    for (const f of proto.receiveFrames()) out.push(f);
  }
  return out;
}

function parseError(fn: () => unknown): ParseFailed {
  try {
    fn();
  } catch (e) {
    if (e instanceof ParseFailed) return e;
    throw e;
  }
  throw new Error('expected ParseFailed');
}

describe('RFC 6455 5.7 examples', () => {
  const hello = new TextEncoder().encode('Hello');

  test('a single-frame unmasked text message encodes and decodes', () => {
    expect(toHex(serverProto().sendData('Hello'))).toBe('810548656c6c6f');
    expect(receive(clientProto(), hex('81 05 48 65 6c 6c 6f'))).toEqual([
      { opcode: Opcode.TEXT, payload: 'Hello', frameFinished: true, messageFinished: true },
    ]);
  });

  test('a single-frame masked text message encodes and decodes', () => {
    expect(toHex(clientProto().sendData('Hello'))).toBe('818537fa213d7f9f4d5158');
    expect(toHex(clientProto().sendData(hello))).toBe('828537fa213d7f9f4d5158');
    expect(receive(serverProto(), hex('81 85 37 fa 21 3d 7f 9f 4d 51 58'))).toEqual([
      { opcode: Opcode.TEXT, payload: 'Hello', frameFinished: true, messageFinished: true },
    ]);
  });

  test('a fragmented unmasked text message encodes and decodes', () => {
    const proto = serverProto();
    expect(toHex(proto.sendData('Hel', false))).toBe('010348656c');
    expect(toHex(proto.sendData('lo', true))).toBe('80026c6f');
    expect(receive(clientProto(), hex('01 03 48 65 6c'), hex('80 02 6c 6f'))).toEqual([
      { opcode: Opcode.TEXT, payload: 'Hel', frameFinished: true, messageFinished: false },
      { opcode: Opcode.TEXT, payload: 'lo', frameFinished: true, messageFinished: true },
    ]);
  });

  test('an unmasked ping and a masked pong encode and decode', () => {
    expect(toHex(serverProto().ping(hello))).toBe('890548656c6c6f');
    expect(toHex(clientProto().pong(hello))).toBe('8a8537fa213d7f9f4d5158');
    const [ping] = receive(clientProto(), hex('89 05 48 65 6c 6c 6f'));
    expect(ping.opcode).toBe(Opcode.PING);
    expect(Array.from(ping.payload as Uint8Array)).toEqual(Array.from(hello));
    const [pong] = receive(serverProto(), hex('8a 85 37 fa 21 3d 7f 9f 4d 51 58'));
    expect(pong.opcode).toBe(Opcode.PONG);
    expect(Array.from(pong.payload as Uint8Array)).toEqual(Array.from(hello));
  });

  test.each([
    [256, '827e0100'],
    [65536, '827f0000000000010000'],
  ])('a %i-byte unmasked binary message uses the right length encoding', (size, header) => {
    const payload = new Uint8Array(size).map((_, i) => i * 7);
    const bytes = serverProto().sendData(payload);
    expect(toHex(bytes.subarray(0, header.length / 2))).toBe(header);
    expect(bytes.length).toBe(header.length / 2 + size);
    const frames = receive(clientProto(), bytes);
    expect(frames).toHaveLength(1);
    expect(frames[0].messageFinished).toBe(true);
    expect(Buffer.compare(frames[0].payload as Uint8Array, payload)).toBe(0);
  });
});

describe('applyMask', () => {
  test('matches a byte-by-byte XOR for every alignment, phase and length', () => {
    const key = Uint8Array.from([0x37, 0xfa, 0x21, 0x3d]);
    const backing = new Uint8Array(300).map((_, i) => (i * 31 + 7) & 0xff);
    for (const offset of [0, 1, 2, 3, 5]) {
      for (const phase of [0, 1, 2, 3]) {
        for (const length of [0, 1, 3, 4, 31, 32, 33, 64, 65, 67, 200]) {
          const data = backing.slice().subarray(offset, offset + length);
          const expected = Array.from(data, (b, i) => b ^ key[(phase + i) & 3]);
          applyMask(data, key, phase);
          expect(Array.from(data)).toEqual(expected);
        }
      }
    }
  });

  test('masks a sub-range only', () => {
    const data = new Uint8Array(100).fill(0);
    applyMask(data, Uint8Array.from([1, 2, 3, 4]), 0, 10, 90);
    expect(data[9]).toBe(0);
    expect(data[10]).toBe(1);
    expect(data[89]).toBe(4);
    expect(data[90]).toBe(0);
  });
});

describe('incremental decoding', () => {
  test('one byte at a time gives the same messages, text never split inside a code point', () => {
    const text = 'κόσμε 😀 and ascii';
    const proto = serverProto();
    const frame = rawFrame({ opcode: Opcode.TEXT, payload: text, mask: KEY });
    const pieces = receive(proto, ...Array.from(frame, (b) => Uint8Array.of(b)));
    expect(pieces.map((p) => p.payload).join('')).toBe(text);
    expect(pieces.at(-1)).toMatchObject({ frameFinished: true, messageFinished: true });
    for (const p of pieces) expect(/[\ud800-\udbff]$/.test(p.payload as string)).toBe(false);
  });

  test('a whole frame spread over several buffered chunks comes out as one piece', () => {
    const payload = new Uint8Array(1000).map((_, i) => i);
    const frame = rawFrame({ opcode: Opcode.BINARY, payload, mask: KEY });
    const proto = serverProto();
    proto.receiveBytes(frame.slice(0, 3));
    proto.receiveBytes(frame.slice(3, 500));
    proto.receiveBytes(frame.slice(500));
    const frames = [...proto.receiveFrames()];
    expect(frames).toHaveLength(1);
    expect(Buffer.compare(frames[0].payload as Uint8Array, payload)).toBe(0);
  });

  test('a text frame still arriving is yielded in pieces with the right unmasking', () => {
    const text = 'abcdefghij'.repeat(100);
    const frame = rawFrame({ opcode: Opcode.TEXT, payload: text, mask: KEY });
    const pieces = receive(serverProto(), frame.slice(0, 9), frame.slice(9, 333), frame.slice(333, 334), frame.slice(334));
    expect(pieces.map((p) => p.frameFinished)).toEqual([false, false, false, true]);
    expect(pieces.map((p) => p.payload as string).join('')).toBe(text);
  });

  test('a binary frame still arriving is held back and yielded whole, unmasked', () => {
    const payload = new Uint8Array(1000).map((_, i) => i * 3);
    const frame = rawFrame({ opcode: Opcode.BINARY, payload, mask: KEY });
    const proto = serverProto();
    for (const cut of [[0, 9], [9, 333], [333, 334]]) {
      proto.receiveBytes(frame.slice(cut[0], cut[1]));
      expect([...proto.receiveFrames()]).toEqual([]);
    }
    proto.receiveBytes(frame.slice(334));
    const frames = [...proto.receiveFrames()];
    expect(frames.map((f) => [f.frameFinished, f.messageFinished])).toEqual([[true, true]]);
    expect(Buffer.compare(frames[0].payload as Uint8Array, payload)).toBe(0);
  });

  test('a control frame between fragments is yielded on its own, the message continues', () => {
    const frames = receive(
      serverProto(),
      concat([
        rawFrame({ opcode: Opcode.TEXT, fin: false, payload: 'Hel', mask: KEY }),
        rawFrame({ opcode: Opcode.PING, payload: 'x', mask: KEY }),
        rawFrame({ opcode: Opcode.CONTINUATION, payload: 'lo', mask: KEY }),
      ]),
    );
    expect(frames.map((f) => [f.opcode, typeof f.payload === 'string' ? f.payload : toHex(f.payload), f.messageFinished])).toEqual([
      [Opcode.TEXT, 'Hel', false],
      [Opcode.PING, '78', true],
      [Opcode.TEXT, 'lo', true],
    ]);
  });

  test('many small chunks buffered before reading keep their order', () => {
    const a = rawFrame({ opcode: Opcode.BINARY, payload: new Uint8Array(70).map((_, i) => i), mask: KEY });
    const b = rawFrame({ opcode: Opcode.TEXT, payload: 'after', mask: KEY });
    const proto = serverProto();
    // 76 one-byte chunks for the first frame, then 3 of the second.
    for (const byte of concat([a, b.subarray(0, 3)])) proto.receiveBytes(Uint8Array.of(byte));
    const first = [...proto.receiveFrames()];
    expect(first).toHaveLength(1);
    expect(Array.from(first[0].payload as Uint8Array)).toEqual(Array.from({ length: 70 }, (_, i) => i));
    proto.receiveBytes(b.slice(3));
    expect([...proto.receiveFrames()].map((f) => f.payload)).toEqual(['after']);
  });

  test('a 64-bit length frame decodes across chunks', () => {
    const payload = new Uint8Array(70000).map((_, i) => i);
    const frame = rawFrame({ opcode: Opcode.BINARY, payload });
    const pieces = receive(clientProto(), frame.slice(0, 5), frame.slice(5, 9), frame.slice(9));
    expect(Buffer.compare(concat(pieces.map((p) => p.payload as Uint8Array)), payload)).toBe(0);
  });

  test('the decoder exposes the header of the current frame', () => {
    const d = new FrameDecoder(false);
    const frame = rawFrame({ opcode: Opcode.BINARY, fin: false, rsv: 0x40, payload: 'abc', mask: KEY });
    d.receiveBytes(frame.slice(0, 5));
    expect(d.readHeader()).toBe(false);
    d.receiveBytes(frame.slice(5));
    expect(d.readHeader()).toBe(true);
    expect([d.fin, d.rsv, d.opcode, d.masked, d.payloadLength]).toEqual([false, 0x40, Opcode.BINARY, true, 3]);
    expect(new TextDecoder().decode(d.takeAll() ?? undefined)).toBe('abc');
    expect(d.buffered).toBe(0);
  });
});

describe('memory', () => {
  /** V8's gc(), exposed for this test only (a new context picks up the flag). */
  function exposedGc(): () => void {
    setFlagsFromString('--expose-gc');
    return runInNewContext('gc') as () => void;
  }

  /** Feeds a chunk that only the decoder references; returns a weak handle on it. */
  function feedUnreferenced(d: FrameDecoder, bytes: Uint8Array): WeakRef<ArrayBuffer> {
    const chunk = bytes.slice();
    d.receiveBytes(chunk);
    return new WeakRef(chunk.buffer);
  }

  test('a chunk whose bytes were all taken is let go while a later chunk is still buffered', async () => {
    const gc = exposedGc();
    const a = rawFrame({ opcode: Opcode.BINARY, payload: new Uint8Array(4000).fill(7), mask: KEY });
    const b = rawFrame({ opcode: Opcode.BINARY, payload: new Uint8Array(4000).fill(9), mask: KEY });
    const wire = concat([a, b]);
    const d = new FrameDecoder(false);
    // Chunk 1 holds most of frame A; chunk 2 the rest of A and the start of B.
    const first = feedUnreferenced(d, wire.subarray(0, 3000));
    d.receiveBytes(wire.slice(3000, a.length + 100));
    expect(d.readHeader()).toBe(true);
    const payload = d.takeAll();
    expect(payload?.length).toBe(4000);
    expect(d.buffered).toBe(100); // chunk 2 is still in use
    // WeakRefs made in this turn are kept until it ends: collect in the next one.
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    expect(first.deref()).toBeUndefined();
    // The buffered rest still decodes.
    d.receiveBytes(wire.slice(a.length + 100));
    expect(d.readHeader()).toBe(true);
    expect(Buffer.compare(d.takeAll() ?? new Uint8Array(0), new Uint8Array(4000).fill(9))).toBe(0);
  });
});

describe('UTF-8 validation', () => {
  test('fails at the first invalid byte, before the frame ends (κόσμε then f4 90)', () => {
    const bytes = hex('ce ba e1 bd b9 ce bc ce b5 f4 90 80 80 65 64 69 74 65 64');
    const frame = rawFrame({ opcode: Opcode.TEXT, payload: bytes, mask: KEY });
    const proto = serverProto();
    // Header plus the payload up to and including f4 90: the rest never arrives.
    const headerSize = 6;
    proto.receiveBytes(frame.slice(0, headerSize + 11));
    const error = parseError(() => [...proto.receiveFrames()]);
    expect(error.code).toBe(1007);
  });

  test('fails mid-message, in an unfinished fragmented message', () => {
    const proto = serverProto();
    proto.receiveBytes(rawFrame({ opcode: Opcode.TEXT, fin: false, payload: hex('c0 af'), mask: KEY }));
    expect(parseError(() => [...proto.receiveFrames()]).code).toBe(1007);
  });

  test('a code point split across fragments is fine', () => {
    const frames = receive(
      serverProto(),
      rawFrame({ opcode: Opcode.TEXT, fin: false, payload: hex('48 ce'), mask: KEY }),
      rawFrame({ opcode: Opcode.CONTINUATION, payload: hex('ba'), mask: KEY }),
    );
    expect(frames.map((f) => f.payload).join('')).toBe('Hκ');
  });

  test('text is never decoded with { stream: true }, whole or in pieces', () => {
    // Node's TextDecoder drops its fast UTF-8 path for good after one
    // streamed decode (src/utf8.ts), so pieces are cut at code points instead.
    const streamed: unknown[] = [];
    // eslint-disable-next-line @typescript-eslint/unbound-method -- called below with the decoder as `this`
    const decode = TextDecoder.prototype.decode;
    const spy = jest.spyOn(TextDecoder.prototype, 'decode').mockImplementation(function (this: InstanceType<typeof TextDecoder>, input, options) {
      if (options?.stream) streamed.push(input);
      return decode.call(this, input, options);
    });
    try {
      const frames = receive(
        serverProto(),
        rawFrame({ opcode: Opcode.TEXT, payload: 'before', mask: KEY }),
        rawFrame({ opcode: Opcode.TEXT, fin: false, payload: hex('48 ce'), mask: KEY }),
        rawFrame({ opcode: Opcode.CONTINUATION, payload: hex('ba'), mask: KEY }),
        rawFrame({ opcode: Opcode.TEXT, payload: 'after', mask: KEY }),
      );
      expect(frames.map((f) => f.payload)).toEqual(['before', 'H', 'κ', 'after']);
      expect(streamed).toEqual([]);
    } finally {
      spy.mockRestore();
    }
  });

  test('a sequence left dangling at the message end fails with 1007', () => {
    const proto = serverProto();
    proto.receiveBytes(rawFrame({ opcode: Opcode.TEXT, payload: hex('48 e1 bd'), mask: KEY }));
    expect(parseError(() => [...proto.receiveFrames()]).code).toBe(1007);
  });

  test('a leading byte order mark is kept', () => {
    const [frame] = receive(clientProto(), rawFrame({ opcode: Opcode.TEXT, payload: hex('ef bb bf 41') }));
    expect(frame.payload).toBe('\ufeffA');
  });
});

describe('close payloads', () => {
  test('decode code and reason, and an empty payload as 1005', () => {
    expect(decodeClosePayload(hex('03 e8 62 79 65'))).toEqual({ code: 1000, reason: 'bye' });
    expect(decodeClosePayload(new Uint8Array(0))).toEqual({ code: 1005, reason: '' });
  });

  test('encode code and reason; no code or 1005 gives an empty payload', () => {
    expect(toHex(serverProto().close(1000, 'bye'))).toBe('880503e8627965');
    expect(toHex(serverProto().close())).toBe('8800');
    expect(toHex(serverProto().close(1005))).toBe('8800');
    expect(toHex(clientProto().close())).toBe('888037fa213d');
  });

  test.each([0, 999, 1004, 1006, 1015, 1016, 2999, 5000, 1000.5])('refuses to send code %p', (code) => {
    expect(() => serverProto().close(code)).toThrow(LocalProtocolError);
  });

  test('refuses a reason over 123 bytes, counted in UTF-8', () => {
    expectLocalError(() => serverProto().close(1000, 'é'.repeat(62)), 'WS_BAD_EVENT');
    expect(serverProto().close(1000, 'é'.repeat(61) + 'a').length).toBe(2 + 125);
  });

  test('refuses control payloads over 125 bytes', () => {
    expect(() => serverProto().ping(new Uint8Array(126))).toThrow(LocalProtocolError);
    expect(() => serverProto().pong(new Uint8Array(126))).toThrow(LocalProtocolError);
  });
});

describe('sending', () => {
  test('a fresh mask key per frame from the random source', () => {
    let n = 0;
    const proto = new FrameProtocol({ client: true, random: (b) => b.fill(++n) });
    const a = proto.sendData('a');
    const b = proto.sendData('a');
    expect(toHex(a)).toBe('818101010101' + (0x61 ^ 1).toString(16));
    expect(toHex(b)).toBe('818102020202' + (0x61 ^ 2).toString(16));
  });

  test('text of every size gets a minimal header, from either side', () => {
    const texts = ['', 'a'.repeat(41), 'é'.repeat(41), 'a'.repeat(42), 'é'.repeat(62), 'a'.repeat(125), 'é'.repeat(63), 'a'.repeat(126), 'é€'.repeat(500), '€'.repeat(21845), 'a'.repeat(70000)];
    for (const s of texts) {
      const bytes = Buffer.byteLength(s);
      const headerSize = bytes < 126 ? 2 : bytes < 65536 ? 4 : 10;
      const frame = serverProto().sendData(s);
      expect(frame.length).toBe(headerSize + bytes);
      expect(receive(clientProto(), frame)[0].payload).toBe(s);
      const masked = clientProto().sendData(s);
      expect(masked.length).toBe(headerSize + 4 + bytes);
      expect(receive(serverProto(), masked)[0].payload).toBe(s);
    }
  });

  test('continuing a message with the other data type is refused', () => {
    const proto = serverProto();
    proto.sendData('a', false);
    expectLocalError(() => proto.sendData(new Uint8Array(1)), 'WS_BAD_EVENT');
  });

  test('the failure sticks: later calls throw it again', () => {
    const proto = serverProto();
    proto.receiveBytes(hex('83 80 00 00 00 00'));
    const first = parseError(() => [...proto.receiveFrames()]);
    proto.receiveBytes(rawFrame({ opcode: Opcode.TEXT, payload: 'ok', mask: KEY }));
    expect(parseError(() => [...proto.receiveFrames()])).toBe(first);
  });
});

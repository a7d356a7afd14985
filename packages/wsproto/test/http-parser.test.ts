import { HttpParseError, HttpParser, type HttpParserLimits } from '../src/http-parser';

const bytes = (text: string): Uint8Array => Uint8Array.from(text, (c) => c.charCodeAt(0));
const LIMITS: HttpParserLimits = { maxHeaderBytes: 16 * 1024, maxHeaderCount: 128 };

/** Feeds `input` in chunks of `size` bytes until done; returns the parser and the bytes after the message. */
function parse(kind: 'request' | 'response', input: Uint8Array, size = input.length, limits = LIMITS) {
  const parser = new HttpParser(kind, limits);
  for (let at = 0; at < input.length; at += size) {
    const chunk = input.subarray(at, at + size);
    const { done, consumed } = parser.execute(chunk);
    if (done) return { parser, rest: input.subarray(at + consumed) };
  }
  return { parser, rest: null };
}

function expectParseError(fn: () => unknown, code: string): HttpParseError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(HttpParseError);
  expect((caught as HttpParseError).code).toBe(code);
  return caught as HttpParseError;
}

const REQUEST =
  'GET /chat?room=1 HTTP/1.1\r\n' +
  'Host: server.example.com\r\n' +
  'X-Empty:\r\n' +
  'Upgrade: websocket\r\n' +
  'X-Blank:   \r\n' +
  'Connection:   Upgrade   \r\n' +
  'X-Latin1: caf\xe9\r\n' +
  'X-Empty:\r\n' +
  '\r\n';

describe('requests', () => {
  test('the head: method, target, version, headers (lower-case names, trimmed values, in order)', () => {
    const { parser, rest } = parse('request', bytes(REQUEST + 'FRAMES'));
    expect(parser.method).toBe('GET');
    expect(parser.target).toBe('/chat?room=1');
    expect(parser.httpVersion).toBe('1.1');
    expect(parser.headers).toEqual([
      ['host', 'server.example.com'],
      ['x-empty', ''],
      ['upgrade', 'websocket'],
      ['x-blank', ''],
      ['connection', 'Upgrade'],
      ['x-latin1', 'caf\xe9'],
      ['x-empty', ''],
    ]);
    expect(parser.headComplete).toBe(true);
    expect(parser.messageComplete).toBe(true);
    expect(rest && String.fromCharCode(...rest)).toBe('FRAMES');
  });

  test('every chunk size, down to one byte, gives the same head and the same trailing bytes', () => {
    const input = bytes(REQUEST + 'FRAMES');
    const whole = parse('request', input);
    for (let size = 1; size <= input.length; size++) {
      const split = parse('request', input, size);
      expect([split.parser.method, split.parser.target, split.parser.headers]).toEqual([
        whole.parser.method,
        whole.parser.target,
        whole.parser.headers,
      ]);
      expect(split.rest && Array.from(split.rest)).toEqual(Array.from(bytes('FRAMES')));
    }
  });

  test('a request body is not parsed: what follows the head is the caller’s', () => {
    const { parser, rest } = parse('request', bytes('GET / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcdef'));
    expect(parser.headers).toEqual([['content-length', '3']]);
    expect(rest && String.fromCharCode(...rest)).toBe('abcdef');
  });

  test('after done, execute takes nothing more', () => {
    const { parser } = parse('request', bytes('GET / HTTP/1.1\r\n\r\n'));
    expect(parser.execute(bytes('GET / HTTP/1.1\r\n\r\n'))).toEqual({ done: true, consumed: 0 });
  });

  test('HTTP/1.0 and other methods are reported, not judged', () => {
    const { parser } = parse('request', bytes('POST /x HTTP/1.0\r\n\r\n'));
    expect([parser.method, parser.httpVersion]).toEqual(['POST', '1.0']);
  });

  test('malformed input fails with HTTP_MALFORMED and llhttp’s reason, and stays failed', () => {
    const parser = new HttpParser('request', LIMITS);
    const error = expectParseError(() => parser.execute(bytes('GARBAGE\x00 nonsense\r\n\r\n')), 'HTTP_MALFORMED');
    expect(error.message).toMatch(/method/i);
    expectParseError(() => parser.execute(bytes('GET / HTTP/1.1\r\n\r\n')), 'HTTP_MALFORMED');
    expectParseError(() => parse('request', bytes('GET / HTTP/1.1\r\nBad Header: x\r\n\r\n')), 'HTTP_MALFORMED');
  });

  test('finish(): false with no bytes, HTTP_INCOMPLETE mid-head', () => {
    expect(new HttpParser('request', LIMITS).finish()).toBe(false);
    const parser = new HttpParser('request', LIMITS);
    parser.execute(bytes('GET / HTTP/1.1\r\nHo'));
    expectParseError(() => parser.finish(), 'HTTP_INCOMPLETE');
  });
});

describe('limits', () => {
  const head = 'GET / HTTP/1.1\r\nX: ' + 'a'.repeat(100) + '\r\n\r\n';

  test('a head of exactly maxHeaderBytes passes; one byte more fails, whatever the chunking', () => {
    const exact = { maxHeaderBytes: head.length, maxHeaderCount: 10 };
    const over = { maxHeaderBytes: head.length - 1, maxHeaderCount: 10 };
    for (const size of [1, 7, head.length, head.length + 50]) {
      const input = bytes(head + 'x'.repeat(50));
      expect(parse('request', input, size, exact).parser.headComplete).toBe(true);
      expectParseError(() => parse('request', input, size, over), 'HTTP_HEADER_BYTES');
    }
  });

  test('the byte limit trips as bytes stream in, with no end of head in sight', () => {
    const parser = new HttpParser('request', { maxHeaderBytes: 1000, maxHeaderCount: 10 });
    parser.execute(bytes('GET / HTTP/1.1\r\nX: '));
    let fed = 19;
    const error = expectParseError(() => {
      for (;;) {
        parser.execute(bytes('a'.repeat(64)));
        fed += 64;
      }
    }, 'HTTP_HEADER_BYTES');
    expect(error).toBeInstanceOf(HttpParseError);
    expect(fed).toBeLessThan(1000);
  });

  test('one huge chunk without an end of head fails at the limit', () => {
    const parser = new HttpParser('request', { maxHeaderBytes: 100, maxHeaderCount: 10 });
    const huge = new Uint8Array(1 << 20).fill(0x61);
    huge.set(bytes('GET / HTTP/1.1\r\nX: '));
    expectParseError(() => parser.execute(huge), 'HTTP_HEADER_BYTES');
  });

  test('maxHeaderCount lines pass; one more fails', () => {
    const lines = (n: number) => 'GET / HTTP/1.1\r\n' + Array.from({ length: n }, (_, i) => `X-${i}: v\r\n`).join('') + '\r\n';
    const limits = { maxHeaderBytes: 16384, maxHeaderCount: 5 };
    expect(parse('request', bytes(lines(5)), 1, limits).parser.headers).toHaveLength(5);
    expectParseError(() => parse('request', bytes(lines(6)), 1, limits), 'HTTP_HEADER_COUNT');
    expectParseError(() => parse('request', bytes(lines(6)), undefined, limits), 'HTTP_HEADER_COUNT');
  });
});

describe('responses', () => {
  test('101: status, reason, headers; the message ends with the head', () => {
    const input = bytes('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x02hi');
    for (const size of [1, 5, input.length]) {
      const { parser, rest } = parse('response', input, size);
      expect([parser.statusCode, parser.reason, parser.httpVersion]).toEqual([101, 'Switching Protocols', '1.1']);
      expect(parser.headers).toEqual([
        ['upgrade', 'websocket'],
        ['connection', 'Upgrade'],
      ]);
      expect(parser.hasBody).toBe(false);
      expect(rest && Array.from(rest)).toEqual([0x81, 0x02, 0x68, 0x69]);
    }
  });

  test('a Content-Length body, in pieces, through takeBody()', () => {
    const parser = new HttpParser('response', LIMITS);
    parser.execute(bytes('HTTP/1.1 403 Forbidden\r\nContent-Length: 9\r\n\r\nfor'));
    expect(parser.headComplete).toBe(true);
    expect(parser.hasBody).toBe(true);
    expect(parser.messageComplete).toBe(false);
    expect(String.fromCharCode(...(parser.takeBody() ?? []))).toBe('for');
    expect(parser.takeBody()).toBeNull();
    parser.execute(bytes('bi'));
    const last = parser.execute(bytes('ddenEXTRA'));
    expect(last).toEqual({ done: true, consumed: 4 });
    expect(String.fromCharCode(...(parser.takeBody() ?? []))).toBe('bidden');
  });

  test('a chunked body, one byte at a time', () => {
    const { parser } = parse('response', bytes('HTTP/1.1 500 Oops\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n'), 1);
    expect(parser.messageComplete).toBe(true);
    expect(String.fromCharCode(...(parser.takeBody() ?? []))).toBe('abcde');
  });

  test('a body until EOF: finish() completes it', () => {
    const parser = new HttpParser('response', LIMITS);
    parser.execute(bytes('HTTP/1.1 403 Forbidden\r\n\r\nuntil the end'));
    expect(parser.messageComplete).toBe(false);
    expect(parser.finish()).toBe(true);
    expect(parser.messageComplete).toBe(true);
    expect(String.fromCharCode(...(parser.takeBody() ?? []))).toBe('until the end');
  });

  test('hasBody is decided by the head: 204, 304, 1xx and Content-Length: 0 have none', () => {
    for (const [line, has] of [
      ['HTTP/1.1 204 No Content\r\n\r\n', false],
      ['HTTP/1.1 304 Not Modified\r\n\r\n', false],
      ['HTTP/1.1 100 Continue\r\n\r\n', false],
      ['HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n', false],
      ['HTTP/1.1 404 Not Found\r\nContent-Length: 1\r\n\r\n', true],
      ['HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n', true],
      ['HTTP/1.1 404 Not Found\r\n\r\n', true],
    ] as const) {
      const parser = new HttpParser('response', LIMITS);
      parser.execute(bytes(line));
      expect([line, parser.hasBody]).toEqual([line, has]);
    }
  });
});

describe('parsers share one llhttp instance', () => {
  test('interleaved parsers, fed a byte at a time in turn, keep their own state', () => {
    const a = bytes(REQUEST);
    const b = bytes('HTTP/1.1 403 Nope\r\nX-Split-Field-Name: some value\r\nContent-Length: 2\r\n\r\nhi');
    const pa = new HttpParser('request', LIMITS);
    const pb = new HttpParser('response', LIMITS);
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      if (i < a.length) pa.execute(a.subarray(i, i + 1));
      if (i < b.length) pb.execute(b.subarray(i, i + 1));
    }
    expect(pa.headers).toEqual(parse('request', a).parser.headers);
    expect(pb.headers).toEqual([
      ['x-split-field-name', 'some value'],
      ['content-length', '2'],
    ]);
    expect([pb.statusCode, pb.reason, pb.messageComplete]).toEqual([403, 'Nope', true]);
  });

  test('destroy() is idempotent and keeps the parsed fields', () => {
    const { parser } = parse('request', bytes('GET /x HTTP/1.1\r\n\r\n'));
    parser.destroy();
    parser.destroy();
    expect(parser.target).toBe('/x');
  });
});

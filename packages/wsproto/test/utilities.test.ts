import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { ACCEPT_GUID, generateAcceptToken, generateNonce } from '../src/utilities';
import { sha1 } from '../src/sha1';

/** Characters up to U+017F: ASCII, Latin-1 (one byte in a header, two in UTF-8) and a little beyond. */
const latin1AndBeyond = fc.integer({ min: 0, max: 0x17f }).map((code) => String.fromCharCode(code));

describe('generateAcceptToken', () => {
  it('gives the accept value of RFC 6455 section 1.3', () => {
    expect(generateAcceptToken('dGhlIHNhbXBsZSBub25jZQ==')).toBe('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
  });

  it('agrees with node:crypto for any key: ASCII, non-ASCII and long ones', () => {
    const expected = (key: string) => createHash('sha1').update(key + ACCEPT_GUID).digest('base64');
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 100 }), fc.string({ unit: latin1AndBeyond, maxLength: 100 })), (key) => {
        expect(generateAcceptToken(key)).toBe(expected(key));
      }),
      { numRuns: 500 },
    );
    // Back to back, so no state of one hash leaks into the next.
    expect(generateAcceptToken('x'.repeat(200))).toBe(expected('x'.repeat(200)));
    expect(generateAcceptToken('dGhlIHNhbXBsZSBub25jZQ==')).toBe('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
  });

  it('uses the GUID from RFC 6455', () => {
    expect(ACCEPT_GUID).toBe('258EAFA5-E914-47DA-95CA-C5AB0DC85B11');
  });
});

describe('sha1', () => {
  const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

  it('matches the FIPS 180 test vectors', () => {
    expect(hex(sha1(new TextEncoder().encode('abc')))).toBe('a9993e364706816aba3e25717850c26c9cd0d89d');
    expect(hex(sha1(new Uint8Array(0)))).toBe('da39a3ee5e6b4b0d3255bfef95601890afd80709');
  });

  it('agrees with node:crypto on any input, across block boundaries', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        expect(hex(sha1(bytes))).toBe(createHash('sha1').update(bytes).digest('hex'));
      }),
      { numRuns: 300 },
    );
  });
});

describe('generateNonce', () => {
  it('encodes 16 bytes from the random source as base64', () => {
    const nonce = generateNonce((buf) => buf.fill(0xab));
    expect(Buffer.from(nonce, 'base64')).toEqual(Buffer.alloc(16, 0xab));
  });

  it('differs between calls with the default source', () => {
    expect(generateNonce()).not.toBe(generateNonce());
  });
});

import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { ACCEPT_GUID, generateAcceptToken, generateNonce } from '../src/utilities';

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

describe('generateNonce', () => {
  it('encodes 16 bytes from the random source as base64', () => {
    const nonce = generateNonce((buf) => buf.fill(0xab));
    expect(Buffer.from(nonce, 'base64')).toEqual(Buffer.alloc(16, 0xab));
  });

  it('differs between calls with the default source', () => {
    expect(generateNonce()).not.toBe(generateNonce());
  });
});

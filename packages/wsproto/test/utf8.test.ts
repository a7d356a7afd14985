import fc from 'fast-check';
import { Utf8Decoder, decodeUtf8 } from '../src/utf8';

const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);

/** What each piece gives, or null for the piece that fails (and nothing after it). */
type Outcome = (string | null)[];
type Decoder = InstanceType<typeof TextDecoder>;

function ours(pieces: Uint8Array[]): Outcome {
  const decoder = new Utf8Decoder();
  const out: Outcome = [];
  for (let i = 0; i < pieces.length; i++) {
    try {
      out.push(decoder.decode(pieces[i], i === pieces.length - 1));
    } catch {
      out.push(null);
      break;
    }
  }
  return out;
}

/** The reference: a fatal TextDecoder fed with { stream: true } (WHATWG Encoding). */
function streaming(pieces: Uint8Array[]): Outcome {
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  const out: Outcome = [];
  for (let i = 0; i < pieces.length; i++) {
    try {
      out.push(decoder.decode(pieces[i], { stream: i < pieces.length - 1 }));
    } catch {
      out.push(null);
      break;
    }
  }
  return out;
}

/** Cuts `data` at the given offsets (sorted, deduplicated, in range). */
function split(data: Uint8Array, cuts: number[]): Uint8Array[] {
  const at = [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((a, b) => a - b);
  const pieces: Uint8Array[] = [];
  let from = 0;
  for (const c of at) {
    pieces.push(data.subarray(from, c));
    from = c;
  }
  pieces.push(data.subarray(from));
  return pieces;
}

/** Bytes where UTF-8's rules change: ASCII, continuation ranges, every kind of lead, the invalid ones. */
const edgeByte = fc.constantFrom(
  0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf,
  0xe0, 0xe1, 0xec, 0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf3, 0xf4, 0xf5, 0xff,
);
const cutsArb = fc.array(fc.nat(), { maxLength: 8 });

describe('Utf8Decoder', () => {
  test('gives what a streaming fatal TextDecoder gives, piece by piece, for valid text cut anywhere', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), cutsArb, (text, cuts) => {
        const pieces = split(new TextEncoder().encode(text), cuts);
        expect(ours(pieces)).toEqual(streaming(pieces));
        expect(ours(pieces).join('')).toBe(text);
      }),
      { numRuns: 2000 },
    );
  });

  test('fails at the same piece as a streaming fatal TextDecoder, for any bytes cut anywhere', () => {
    fc.assert(
      fc.property(fc.array(edgeByte, { maxLength: 24 }), cutsArb, (data, cuts) => {
        const pieces = split(Uint8Array.from(data), cuts);
        expect(ours(pieces)).toEqual(streaming(pieces));
      }),
      { numRuns: 5000 },
    );
  });

  test('the same for long pieces, ASCII or not, at any alignment (both of Node\'s decode paths)', () => {
    const longArb = fc.tuple(
      fc.nat({ max: 3 }),
      fc.string({ unit: 'grapheme-ascii', minLength: 200, maxLength: 700 }),
      fc.array(edgeByte, { maxLength: 6 }),
      fc.string({ unit: 'grapheme', maxLength: 200 }),
    );
    fc.assert(
      fc.property(longArb, cutsArb, ([shift, ascii, odd, tail], cuts) => {
        const encoded = Uint8Array.from([...new TextEncoder().encode(ascii), ...odd, ...new TextEncoder().encode(tail)]);
        // Copied to 0-3 bytes into a buffer: the ASCII scan reads words from a 4-byte boundary.
        const data = new Uint8Array(encoded.length + shift).fill(0x41).subarray(shift);
        data.set(encoded);
        const pieces = split(data, cuts);
        expect(ours(pieces)).toEqual(streaming(pieces));
        expect(ours([data])).toEqual(streaming([data]));
      }),
      { numRuns: 2000 },
    );
  });

  test('long text goes to the decoder that suited the last long text: ASCII or not', () => {
    // Node 20's two decode paths are each slow for one kind of text (src/utf8.ts).
    const used: Decoder[] = [];
    // eslint-disable-next-line @typescript-eslint/unbound-method -- called below with the decoder as `this`
    const decode = TextDecoder.prototype.decode;
    const spy = jest.spyOn(TextDecoder.prototype, 'decode').mockImplementation(function (this: Decoder, input, options) {
      used.push(this);
      return decode.call(this, input, options);
    });
    const decoder = new Utf8Decoder();
    /** The TextDecoder that decoded `text`, sent as one whole message. */
    const via = (text: string): Decoder => {
      used.length = 0;
      expect(decoder.decode(new TextEncoder().encode(text), true)).toBe(text);
      expect(used).toHaveLength(1);
      return used[0];
    };
    try {
      const ascii = 'a'.repeat(300);
      const accented = 'é'.repeat(150);
      const forAscii = via(ascii);
      expect(via(accented)).toBe(forAscii); // the first non-ASCII text: no way to know
      const forOther = via(accented);
      expect(forOther).not.toBe(forAscii);
      expect(via('€' + ascii)).toBe(forOther);
      expect(via(ascii)).toBe(forOther); // the first ASCII text after those
      expect(via(ascii)).toBe(forAscii);
      // Short text always goes to the ASCII one and changes nothing.
      expect(via('é'.repeat(20))).toBe(forAscii);
      expect(via(ascii)).toBe(forAscii);
    } finally {
      spy.mockRestore();
    }
  });

  test('a code point cut off waits for the next piece, one byte at a time (U+10000)', () => {
    expect(ours([bytes(0xf0), bytes(0x90), bytes(0x80), bytes(0x80)])).toEqual(['', '', '', '\u{10000}']);
  });

  test('a cut-off start that no byte can complete fails at once (RFC 3629: E0 80, ED A0, F0 8F, F4 90)', () => {
    for (const start of [bytes(0xe0, 0x80), bytes(0xed, 0xa0), bytes(0xf0, 0x8f), bytes(0xf4, 0x90)]) {
      expect(ours([Uint8Array.from([0x41, ...start]), bytes(0x80)])).toEqual([null]);
    }
  });

  test('a sequence left incomplete by the last piece fails', () => {
    expect(ours([bytes(0x41, 0xe2, 0x82), bytes()])).toEqual(['A', null]);
  });

  test('decodeUtf8 keeps a leading byte order mark, short or long, ASCII or not', () => {
    expect(decodeUtf8(bytes(0xef, 0xbb, 0xbf, 0x41))).toBe('\ufeffA');
    const long = '\ufeff' + 'é'.repeat(300);
    expect(decodeUtf8(new TextEncoder().encode(long))).toBe(long);
  });
});

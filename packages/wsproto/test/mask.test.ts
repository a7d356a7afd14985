import fc from 'fast-check';
import { BytesMessage, Connection, ConnectionType, ConnectionState } from '@wsstack/wsproto';
import { SIMD_MIN, applyMask, applyMaskScalar, copyMasked, copyOutSmall, gatherMasked } from '../src/mask';
import { createSimdMasker } from '../src/mask-simd';

/** RFC 6455 5.3 spelled out: byte i is XORed with key[(phase + i) mod 4]. */
function naiveMask(data: Uint8Array, key: Uint8Array, phase: number): Uint8Array {
  return data.map((b, i) => b ^ key[(phase + i) & 3]);
}

/** Lengths on both sides of the SIMD threshold, the 64 KiB block and the 64-byte loop turn. */
const lengthArb = fc.oneof(
  fc.integer({ min: 0, max: 200 }),
  fc.integer({ min: SIMD_MIN - 70, max: SIMD_MIN + 70 }),
  fc.integer({ min: 65536 - 70, max: 65536 + 70 }),
  fc.integer({ min: 0, max: 300_000 }),
);
const keyArb = fc.uint8Array({ minLength: 4, maxLength: 4 });
const phaseArb = fc.integer({ min: 0, max: 3 });

function payload(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (i * 31 + seed) & 0xff;
  return out;
}

const simd = createSimdMasker();

describe('masking with WebAssembly SIMD', () => {
  test('is available on this Node, so the tests below run the SIMD path', () => {
    expect(simd).not.toBeNull();
  });

  test('is declined, not thrown, where WebAssembly is missing', () => {
    const saved = Object.getOwnPropertyDescriptor(globalThis, 'WebAssembly')!;
    Reflect.deleteProperty(globalThis, 'WebAssembly');
    try {
      expect(createSimdMasker()).toBeNull();
    } finally {
      Object.defineProperty(globalThis, 'WebAssembly', saved);
    }
  });

  test('copyMasked writes the same bytes as the RFC byte loop, at any offset and phase', () => {
    fc.assert(
      fc.property(lengthArb, keyArb, phaseArb, fc.integer({ min: 0, max: 5000 }), (length, key, phase, offset) => {
        const source = payload(length, offset);
        const dest = new Uint8Array(offset + length + 80).fill(0xee);
        simd!.copyMasked(source, dest, offset, key, phase);
        expect(Buffer.from(dest.subarray(offset, offset + length)).equals(naiveMask(source, key, phase))).toBe(true);
        // Nothing outside the destination range is touched, though the loop overruns inside WebAssembly memory.
        expect(dest.subarray(0, offset).every((b) => b === 0xee)).toBe(true);
        expect(dest.subarray(offset + length).every((b) => b === 0xee)).toBe(true);
      }),
      { numRuns: 60 },
    );
  });

  test('gatherMasked joins pieces of any sizes, starting inside the first one', () => {
    fc.assert(
      fc.property(
        lengthArb,
        keyArb,
        phaseArb,
        fc.array(fc.integer({ min: 1, max: 70_000 }), { minLength: 1, maxLength: 30 }),
        fc.integer({ min: 0, max: 9 }),
        (length, key, phase, sizes, lead) => {
          const source = payload(length, lead);
          // Cut the payload into pieces; the first carries `lead` bytes before it, the last 7 after it.
          const pieces: Uint8Array[] = [];
          for (let at = 0, i = 0; at < length; i++) {
            const size = Math.min(sizes[i % sizes.length], length - at);
            pieces.push(source.slice(at, at + size));
            at += size;
          }
          const head = pieces.shift() ?? new Uint8Array(0);
          pieces.unshift(Buffer.concat([new Uint8Array(lead).fill(0xaa), head]));
          pieces.push(new Uint8Array(7).fill(0xbb));
          const viaSimd = new Uint8Array(length);
          const viaDispatch = new Uint8Array(length);
          const expected = naiveMask(source, key, phase);
          simd!.gatherMasked(pieces, { piece: 0, pos: lead }, length, viaSimd, key, phase);
          gatherMasked(pieces, { piece: 0, pos: lead }, length, viaDispatch, key, phase);
          expect(Buffer.from(viaSimd).equals(expected)).toBe(true);
          expect(Buffer.from(viaDispatch).equals(expected)).toBe(true);
        },
      ),
      { numRuns: 60 },
    );
  });

  test('applyMask, copyMasked and the JS loop agree in place and into another buffer', () => {
    fc.assert(
      fc.property(lengthArb, keyArb, phaseArb, fc.integer({ min: 0, max: 17 }), (length, key, phase, start) => {
        const original = payload(start + length, 3);
        const expected = original.slice();
        expected.set(naiveMask(original.subarray(start), key, phase), start);
        const inPlace = original.slice();
        applyMask(inPlace, key, phase, start);
        const scalar = original.slice();
        applyMaskScalar(scalar, key, phase, start);
        const copied = new Uint8Array(start + length);
        copied.set(original.subarray(0, start));
        copyMasked(original.subarray(start), copied, start, key, phase);
        for (const got of [inPlace, scalar, copied]) expect(Buffer.from(got).equals(expected)).toBe(true);
      }),
      { numRuns: 60 },
    );
  });
});

describe('copying a short payload out', () => {
  test('gives the RFC byte loop\'s bytes for every length up to 64, at any offset and phase, and leaves the source alone', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 64 }), keyArb, phaseArb, fc.integer({ min: 0, max: 9 }), fc.boolean(), (n, key, phase, at, masked) => {
        const source = payload(at + n + 5, n);
        const before = source.slice();
        const out = copyOutSmall(source, at, n, masked ? key : null, phase);
        const wanted = source.subarray(at, at + n);
        expect(Array.from(out)).toEqual(Array.from(masked ? naiveMask(wanted, key, phase) : wanted));
        expect(Buffer.from(source).equals(before)).toBe(true);
        // A copy, not a view: the caller may reuse the source.
        expect(out.buffer).not.toBe(source.buffer);
      }),
      { numRuns: 300 },
    );
  });
});

describe('large masked messages end to end', () => {
  function pair(): { client: Connection; server: Connection } {
    return { client: new Connection({ type: ConnectionType.CLIENT }), server: new Connection({ type: ConnectionType.SERVER }) };
  }

  test.each([
    ['whole', 0],
    ['in 1,460-byte segments', 1460],
    ['in 3-byte pieces around block edges', 65533],
  ])('a 300,007-byte binary message sent by a client arrives intact %s', (_label, chunk) => {
    const { client, server } = pair();
    const data = payload(300_007, 11);
    const wire = client.send(new BytesMessage({ data }));
    // A 64-bit length (2 + 8 header bytes), then the key, then the payload masked as RFC 6455 5.3 says.
    const key = wire.subarray(10, 14);
    expect(Buffer.from(wire.subarray(14)).equals(naiveMask(data, key, 0))).toBe(true);
    const received: Uint8Array[] = [];
    const feed = (bytes: Uint8Array): void => {
      server.receiveData(bytes);
      for (const event of server.events()) if (event.type === 'BytesMessage') received.push(event.data);
    };
    if (chunk === 0) feed(wire.slice());
    else for (let at = 0; at < wire.length; at += chunk) feed(wire.slice(at, at + chunk));
    expect(received).toHaveLength(1);
    expect(Buffer.from(received[0]).equals(Buffer.from(data))).toBe(true);
    expect(server.state).toBe(ConnectionState.OPEN);
  });
});

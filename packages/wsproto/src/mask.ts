/**
 * Masking (RFC 6455 5.3): XOR of the payload with a 4-byte key, the same
 * operation both ways. This is the hot loop of large messages: payloads from
 * {@link SIMD_MIN} bytes go through WebAssembly SIMD (mask-simd.ts) where it
 * is available; the rest, and every payload where it is not, through a JS
 * loop on 32-bit words where the bytes are 4-byte aligned and
 * {@link maskBytes} at the edges and for short payloads.
 *
 * @module
 */
import { gather, view, type PieceCursor } from './bytes';
import { createSimdMasker } from './mask-simd';

// The key rotated to the alignment point, read back as one native-endian
// word: building it through a byte view keeps the word loop endian-neutral.
const keyWord = new Int32Array(1);
const keyWordBytes = new Uint8Array(keyWord.buffer);

/** Below this many bytes a plain byte loop beats setting up a word view. */
const WORD_LOOP_MIN = 32;
/** Below this many bytes a masked copy in one pass beats a copy, then the word loop. */
const COPY_LOOP_MAX = 64;

/**
 * From this many bytes the SIMD path wins despite copying into WebAssembly
 * memory and back (bench/results/design-notes.md has the crossover).
 */
export const SIMD_MIN = 2048;

const simd = createSimdMasker();

/**
 * Writes `n` bytes of `source` from `from`, XORed with `key`, into `dest`
 * from `to`; `source[from]` meets `key[phase]`. `source` and `dest` may be
 * the same bytes at the same offset (masking in place). The key sits in
 * locals and four bytes go per step: the loop every short payload takes, in
 * both directions.
 */
export function maskBytes(source: Uint8Array, from: number, dest: Uint8Array, to: number, n: number, key: Uint8Array, phase = 0): void {
  const k0 = key[phase & 3];
  const k1 = key[(phase + 1) & 3];
  const k2 = key[(phase + 2) & 3];
  const k3 = key[(phase + 3) & 3];
  let i = 0;
  for (const whole = n & ~3; i < whole; i += 4) {
    dest[to + i] = source[from + i] ^ k0;
    dest[to + i + 1] = source[from + i + 1] ^ k1;
    dest[to + i + 2] = source[from + i + 2] ^ k2;
    dest[to + i + 3] = source[from + i + 3] ^ k3;
  }
  if (i < n) dest[to + i] = source[from + i++] ^ k0;
  if (i < n) dest[to + i] = source[from + i++] ^ k1;
  if (i < n) dest[to + i] = source[from + i] ^ k2;
}

/**
 * XORs `data[start, end)` in place with `key` (4 bytes). `phase` is the
 * position in the key of `data[start]`: the payload offset modulo 4, so a
 * payload unmasked piece by piece gives the same bytes as in one go.
 *
 * @param data - the bytes to mask or unmask, modified in place
 * @param key - the 4-byte masking key
 * @param phase - key index (0–3) of the first byte
 * @param start - first byte to transform (default 0)
 * @param end - one past the last byte to transform (default `data.length`)
 */
export function applyMask(data: Uint8Array, key: Uint8Array, phase = 0, start = 0, end = data.length): void {
  if (simd !== null && end - start >= SIMD_MIN) {
    simd.copyMasked(view(data, start, end - start), data, start, key, phase & 3);
  } else {
    applyMaskScalar(data, key, phase, start, end);
  }
}

/**
 * Writes `source` masked with `key` into `dest` at `offset`, in one pass
 * where it can: the copy a caller makes anyway (gathering a payload, building
 * a frame) feeds the SIMD path directly. `phase` is the key index of
 * `source[0]`.
 */
export function copyMasked(source: Uint8Array, dest: Uint8Array, offset: number, key: Uint8Array, phase = 0): void {
  if (simd !== null && source.length >= SIMD_MIN) {
    simd.copyMasked(source, dest, offset, key, phase & 3);
  } else if (source.length < COPY_LOOP_MAX) {
    maskBytes(source, 0, dest, offset, source.length, key, phase);
  } else {
    dest.set(source, offset);
    applyMaskScalar(dest, key, phase, offset, offset + source.length);
  }
}

/**
 * A short payload copied out of `source` (from `at`, `n` bytes) into a new
 * array, unmasked on the way when `key` is given. For payloads V8 keeps on
 * its own heap this beats a view plus {@link applyMask}: a view needs
 * `buffer` and `byteOffset`, which Node 20's V8 does not inline.
 */
export function copyOutSmall(source: Uint8Array, at: number, n: number, key: Uint8Array | null, phase = 0): Uint8Array {
  const out = new Uint8Array(n);
  if (key === null) {
    for (let i = 0; i < n; i++) out[i] = source[at + i];
  } else {
    maskBytes(source, at, out, 0, n, key, phase);
  }
  return out;
}

/**
 * Writes the next `n` bytes of `pieces` (from `at`) into `dest` from 0,
 * masked with `key` from key index `phase`, and moves `at` past them: a
 * payload gathered from the chunks it arrived in.
 */
export function gatherMasked(pieces: readonly Uint8Array[], at: PieceCursor, n: number, dest: Uint8Array, key: Uint8Array, phase = 0): void {
  if (simd !== null && n >= SIMD_MIN) {
    simd.gatherMasked(pieces, at, n, dest, key, phase & 3);
    return;
  }
  gather(pieces, at, n, dest, 0);
  applyMaskScalar(dest, key, phase, 0, n);
}

/** {@link applyMask} in plain JS: the fallback, and the path for short payloads. */
export function applyMaskScalar(data: Uint8Array, key: Uint8Array, phase = 0, start = 0, end = data.length): void {
  if (end - start < WORD_LOOP_MIN) {
    maskBytes(data, start, data, start, end - start, key, phase);
    return;
  }
  let i = start;
  let p = phase & 3;
  const base = data.byteOffset;
  // Leading bytes up to a 4-byte boundary of the underlying buffer.
  while (((base + i) & 3) !== 0) {
    data[i++] ^= key[p];
    p = (p + 1) & 3;
  }
  keyWordBytes[0] = key[p];
  keyWordBytes[1] = key[(p + 1) & 3];
  keyWordBytes[2] = key[(p + 2) & 3];
  keyWordBytes[3] = key[(p + 3) & 3];
  const k = keyWord[0];
  const words = (end - i) >>> 2;
  const wordView = new Int32Array(data.buffer, base + i, words);
  let w = 0;
  // Unrolled by four: fewer loop checks per word.
  const unrolled = words & ~3;
  for (; w < unrolled; w += 4) {
    wordView[w] ^= k;
    wordView[w + 1] ^= k;
    wordView[w + 2] ^= k;
    wordView[w + 3] ^= k;
  }
  for (; w < words; w++) wordView[w] ^= k;
  // A whole number of words leaves the key phase where it was; the tail is a few bytes.
  i += words * 4;
  maskBytes(data, i, data, i, end - i, key, p);
}

/**
 * Masking (RFC 6455 5.3): XOR of the payload with a 4-byte key, the same
 * operation both ways. This is the hot loop of large messages: payloads from
 * {@link SIMD_MIN} bytes go through WebAssembly SIMD (mask-simd.ts) where it
 * is available; the rest, and every payload where it is not, through a JS
 * loop on 32-bit words where the bytes are 4-byte aligned and byte by byte
 * only at the edges.
 *
 * @module
 */
import { createSimdMasker } from './mask-simd';

// The key rotated to the alignment point, read back as one native-endian
// word: building it through a byte view keeps the word loop endian-neutral.
const keyWord = new Int32Array(1);
const keyWordBytes = new Uint8Array(keyWord.buffer);

/** Below this many bytes a plain byte loop beats setting up a word view. */
const WORD_LOOP_MIN = 32;

/**
 * From this many bytes the SIMD path wins despite its two copies (measured
 * against the JS loop: level at 1 KiB, ahead at 2 KiB, half the time at 4 KiB).
 */
export const SIMD_MIN = 2048;

const simd = createSimdMasker();

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
    simd.copyMasked(new Uint8Array(data.buffer, data.byteOffset + start, end - start), data, start, key, phase & 3);
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
  } else {
    dest.set(source, offset);
    applyMaskScalar(dest, key, phase, offset, offset + source.length);
  }
}

/**
 * A short payload copied out of `source` (from `at`, `n` bytes) into a new
 * array, unmasked on the way when `key` is given: one pass, four bytes a
 * step. For up to 64 bytes, where V8 keeps the array on its heap, this beats
 * a view plus {@link applyMask}. A view needs `buffer` and `byteOffset`,
 * which are slow accessor calls in Node 20's V8.
 */
export function copyOutSmall(source: Uint8Array, at: number, n: number, key: Uint8Array | null, phase = 0): Uint8Array {
  const out = new Uint8Array(n);
  if (key === null) {
    for (let i = 0; i < n; i++) out[i] = source[at + i];
    return out;
  }
  const k0 = key[phase & 3];
  const k1 = key[(phase + 1) & 3];
  const k2 = key[(phase + 2) & 3];
  const k3 = key[(phase + 3) & 3];
  let i = 0;
  for (const whole = n & ~3; i < whole; i += 4) {
    out[i] = source[at + i] ^ k0;
    out[i + 1] = source[at + i + 1] ^ k1;
    out[i + 2] = source[at + i + 2] ^ k2;
    out[i + 3] = source[at + i + 3] ^ k3;
  }
  if (i < n) out[i] = source[at + i++] ^ k0;
  if (i < n) out[i] = source[at + i++] ^ k1;
  if (i < n) out[i] = source[at + i] ^ k2;
  return out;
}

/**
 * Writes `n` bytes from `pieces[first]` (starting at byte `pos`) and the
 * pieces after it into `dest` from 0, masked with `key` from key index
 * `phase`: a payload gathered from the chunks it arrived in.
 */
export function gatherMasked(pieces: Uint8Array[], first: number, pos: number, n: number, dest: Uint8Array, key: Uint8Array, phase = 0): void {
  if (simd !== null && n >= SIMD_MIN) {
    simd.gatherMasked(pieces, first, pos, n, dest, key, phase & 3);
    return;
  }
  let copied = 0;
  for (let i = first; copied < n; i++) {
    const piece = pieces[i];
    const take = Math.min(piece.length - pos, n - copied);
    // A plain view: a Node Buffer's subarray costs several times more.
    dest.set(pos === 0 && take === piece.length ? piece : new Uint8Array(piece.buffer, piece.byteOffset + pos, take), copied);
    copied += take;
    pos = 0;
  }
  applyMaskScalar(dest, key, phase, 0, n);
}

/** {@link applyMask} in plain JS: the fallback, and the path for short payloads. */
export function applyMaskScalar(data: Uint8Array, key: Uint8Array, phase = 0, start = 0, end = data.length): void {
  let i = start;
  let p = phase & 3;
  if (end - start < WORD_LOOP_MIN) {
    // Short payloads (most messages): the key in locals, four bytes a step.
    const k0 = key[p];
    const k1 = key[(p + 1) & 3];
    const k2 = key[(p + 2) & 3];
    const k3 = key[(p + 3) & 3];
    for (const whole = end - ((end - start) & 3); i < whole; i += 4) {
      data[i] ^= k0;
      data[i + 1] ^= k1;
      data[i + 2] ^= k2;
      data[i + 3] ^= k3;
    }
    if (i < end) data[i++] ^= k0;
    if (i < end) data[i++] ^= k1;
    if (i < end) data[i] ^= k2;
    return;
  }
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
  const view = new Int32Array(data.buffer, base + i, words);
  let w = 0;
  // Unrolled by four: fewer loop checks per word.
  const unrolled = words & ~3;
  for (; w < unrolled; w += 4) {
    view[w] ^= k;
    view[w + 1] ^= k;
    view[w + 2] ^= k;
    view[w + 3] ^= k;
  }
  for (; w < words; w++) view[w] ^= k;
  // A whole number of words leaves the key phase where it was.
  for (i += words * 4; i < end; i++) {
    data[i] ^= key[p];
    p = (p + 1) & 3;
  }
}

/**
 * Byte arrays: where the core's come from, and the two ways it puts pieces
 * together (joining them, and gathering a span that crosses them).
 *
 * @module
 */
// Node's global `Buffer` is a getter on globalThis; the module's binding is a plain load.
import { Buffer } from 'node:buffer';

/** A shared empty payload: nothing can be written into it, so one serves everyone. */
export const EMPTY_BYTES = new Uint8Array(0);

/** Up to this size V8 keeps a typed array's bytes on its own heap: cheaper than any pool. */
export const ON_HEAP_MAX = 64;

/**
 * A received payload the caller fills completely. Small ones are plain
 * Uint8Arrays on V8's heap, cheaper than the pool up to this size; larger
 * ones come from `Buffer.allocUnsafe`, which skips the zero fill and reuses
 * freed memory (fresh large buffers cost page faults).
 */
export function allocUninitialized(size: number): Uint8Array {
  return size <= ON_HEAP_MAX ? new Uint8Array(size) : Buffer.allocUnsafe(size);
}

/**
 * Bytes to send (a frame, a handshake head), filled completely by the
 * caller: a Node Buffer whatever its size, because a socket takes a Buffer
 * as it is, while a plain Uint8Array on V8's heap must first be moved off it.
 */
export function allocFrame(size: number): Uint8Array {
  return Buffer.allocUnsafe(size);
}

/** A plain view (not a Node Buffer: its subarray wrapper is slower) of `length` bytes of `bytes` from `offset`. */
export function view(bytes: Uint8Array, offset: number, length: number): Uint8Array {
  return new Uint8Array(bytes.buffer, bytes.byteOffset + offset, length);
}

/** One array holding `pieces` in order (the piece itself when there is only one). */
export function concatBytes(pieces: readonly Uint8Array[]): Uint8Array {
  if (pieces.length === 1) return pieces[0];
  let total = 0;
  for (const piece of pieces) total += piece.length;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const piece of pieces) {
    out.set(piece, offset);
    offset += piece.length;
  }
  return out;
}

/** A read position in a list of pieces: the piece and the byte within it. Moved by {@link gather}. */
export interface PieceCursor {
  piece: number;
  pos: number;
}

/**
 * Copies the next `n` bytes of `pieces`, from `at`, into `dest` from
 * `offset`, and moves `at` past them. The one loop behind every span that
 * crosses received chunks: a header split over reads, a payload gathered
 * for unmasking, a block bound for WebAssembly memory.
 */
export function gather(pieces: readonly Uint8Array[], at: PieceCursor, n: number, dest: Uint8Array, offset: number): void {
  let copied = 0;
  let i = at.piece;
  let pos = at.pos;
  while (copied < n) {
    const piece = pieces[i];
    const take = Math.min(piece.length - pos, n - copied);
    // A whole piece is copied as it is: a view would cost an allocation.
    dest.set(pos === 0 && take === piece.length ? piece : view(piece, pos, take), offset + copied);
    copied += take;
    pos += take;
    if (pos === piece.length) {
      i++;
      pos = 0;
    }
  }
  at.piece = i;
  at.pos = pos;
}

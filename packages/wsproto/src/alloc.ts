/**
 * Where the core's byte arrays come from: V8's heap for small ones, Node's
 * `Buffer` pool and allocator where there is one. Feature-detected, so the
 * core still runs in browsers and workers.
 *
 * @module
 */

/** Up to this size V8 keeps a typed array's bytes on its own heap: cheaper than any pool. */
export const ON_HEAP_MAX = 64;

const nodeBuffer = (globalThis as { Buffer?: { allocUnsafe?: (size: number) => Uint8Array } }).Buffer;
const allocUnsafe = typeof nodeBuffer?.allocUnsafe === 'function' ? nodeBuffer.allocUnsafe.bind(nodeBuffer) : null;

/**
 * A received payload the caller fills completely. Small ones are plain
 * Uint8Arrays (measured 2x cheaper than `Buffer.allocUnsafe` up to 64 bytes);
 * larger ones in Node come from `Buffer.allocUnsafe`, which skips the zero
 * fill and reuses freed memory (fresh large buffers cost page faults here);
 * elsewhere a plain Uint8Array.
 */
export function allocUninitialized(size: number): Uint8Array {
  return allocUnsafe === null || size <= ON_HEAP_MAX ? new Uint8Array(size) : allocUnsafe(size);
}

/**
 * Bytes to send (a frame, a handshake head), filled completely by the
 * caller: a Node Buffer whatever its size where there is one. A socket takes
 * a Buffer as it is, while a small plain Uint8Array lives on V8's heap and
 * must first be moved off it (measured: a third fewer 32-byte echoes per
 * second through a socket).
 */
export function allocFrame(size: number): Uint8Array {
  return allocUnsafe === null ? new Uint8Array(size) : allocUnsafe(size);
}

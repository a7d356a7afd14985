/**
 * The handshake's small pieces of cryptography: the accept token, the client
 * nonce, and the random source both come from.
 *
 * @module
 */
import { Buffer } from 'node:buffer';
import { hash } from 'node:crypto';

/** The GUID RFC 6455 (section 1.3) appends to `Sec-WebSocket-Key`. */
export const ACCEPT_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** Fills a buffer with random bytes: mask keys and nonces come from here. */
export type RandomSource = (buffer: Uint8Array) => void;

/**
 * The default random source, `crypto.getRandomValues`. Tests pass their own
 * `RandomSource` through the connection options.
 */
export const defaultRandom: RandomSource = (buffer) => {
  globalThis.crypto.getRandomValues(buffer);
};

/**
 * The `Sec-WebSocket-Accept` value for a `Sec-WebSocket-Key`:
 * base64(SHA-1(key + ACCEPT_GUID)), RFC 6455 section 4.2.2 step 5.4.
 * node:crypto's one-shot `hash`: no Hash object per handshake.
 */
export function generateAcceptToken(key: string): string {
  return hash('sha1', key + ACCEPT_GUID, 'base64');
}

/** A fresh `Sec-WebSocket-Key`: 16 random bytes, base64 (RFC 6455 4.1). */
export function generateNonce(random: RandomSource = defaultRandom): string {
  const bytes = Buffer.allocUnsafe(16);
  random(bytes);
  return bytes.toString('base64');
}

/**
 * Small helpers the handshake and frame layers share: the accept token, the
 * client nonce, the random source, and header-list parsing.
 *
 * @module
 */
import { sha1 } from './sha1';

/** The GUID RFC 6455 (section 1.3) appends to `Sec-WebSocket-Key`. */
export const ACCEPT_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** Fills a buffer with random bytes: mask keys and nonces come from here. */
export type RandomSource = (buffer: Uint8Array) => void;

/**
 * The default random source, `crypto.getRandomValues` (Web Crypto, also in
 * Node). Tests pass their own `RandomSource` through the connection options.
 */
export const defaultRandom: RandomSource = (buffer) => {
  globalThis.crypto.getRandomValues(buffer);
};

const textEncoder = new TextEncoder();

/** Base64 of raw bytes, without Node's Buffer (the core also runs in browsers). */
export function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
  return btoa(binary);
}

/**
 * The `Sec-WebSocket-Accept` value for a `Sec-WebSocket-Key`:
 * base64(SHA-1(key + ACCEPT_GUID)), RFC 6455 section 4.2.2 step 5.4.
 */
export function generateAcceptToken(key: string): string {
  return toBase64(sha1(textEncoder.encode(key + ACCEPT_GUID)));
}

/** A fresh `Sec-WebSocket-Key`: 16 random bytes, base64 (RFC 6455 4.1). */
export function generateNonce(random: RandomSource = defaultRandom): string {
  const bytes = new Uint8Array(16);
  random(bytes);
  return toBase64(bytes);
}

/**
 * Splits a comma-separated header value into trimmed, non-empty items.
 * Used for `Connection`, `Upgrade`, `Sec-WebSocket-Protocol` and the
 * extension offers.
 */
export function splitCommaHeader(value: string): string[] {
  const out: string[] = [];
  for (const part of value.split(',')) {
    const item = part.trim();
    if (item !== '') out.push(item);
  }
  return out;
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

/**
 * Small helpers the handshake and frame layers share: the accept token, the
 * client nonce, the random source, and header-list parsing.
 *
 * @module
 */
import { sha1Words } from './sha1';

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

/** A shared empty payload: nothing can be written into it, so one serves everyone. */
export const EMPTY_BYTES = new Uint8Array(0);

/** Base64 of raw bytes, without Node's Buffer (the core also runs in browsers). */
export function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
  return btoa(binary);
}

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
/** `key` + the GUID as bytes, when every character is ASCII (a real key is 24 of them). */
const tokenInput = new Uint8Array(128);
/** Character codes of the token being built, turned into one string at the end. */
const tokenChars: number[] = new Array<number>(28).fill(0);

/**
 * The `Sec-WebSocket-Accept` value for a `Sec-WebSocket-Key`:
 * base64(SHA-1(key + ACCEPT_GUID)), RFC 6455 section 4.2.2 step 5.4.
 * Allocates only the returned string for a key of up to 64 ASCII characters.
 */
export function generateAcceptToken(key: string): string {
  const words = writeAsciiInput(key)
    ? sha1Words(tokenInput, key.length + ACCEPT_GUID.length)
    : sha1Words(textEncoder.encode(key + ACCEPT_GUID));
  // base64 of the 20 digest bytes: six 3-byte groups, then 2 bytes and '='.
  let at = 0;
  for (let i = 0; i < 18; i += 3) {
    const n = (byte(words, i) << 16) | (byte(words, i + 1) << 8) | byte(words, i + 2);
    tokenChars[at++] = BASE64.charCodeAt(n >>> 18);
    tokenChars[at++] = BASE64.charCodeAt((n >>> 12) & 63);
    tokenChars[at++] = BASE64.charCodeAt((n >>> 6) & 63);
    tokenChars[at++] = BASE64.charCodeAt(n & 63);
  }
  const n = (byte(words, 18) << 8) | byte(words, 19);
  tokenChars[at++] = BASE64.charCodeAt(n >>> 10);
  tokenChars[at++] = BASE64.charCodeAt((n >>> 4) & 63);
  tokenChars[at++] = BASE64.charCodeAt((n << 2) & 63);
  tokenChars[at] = 0x3d; // '='
  return String.fromCharCode.apply(null, tokenChars);
}

/** Byte `i` of a digest held as big-endian words. */
function byte(words: Uint32Array, i: number): number {
  return (words[i >> 2] >>> (24 - 8 * (i & 3))) & 0xff;
}

/** Writes `key` + the GUID into {@link tokenInput}; false when it does not fit or is not all ASCII. */
function writeAsciiInput(key: string): boolean {
  if (key.length + ACCEPT_GUID.length > tokenInput.length) return false;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c >= 0x80) return false;
    tokenInput[i] = c;
  }
  for (let i = 0; i < ACCEPT_GUID.length; i++) tokenInput[key.length + i] = ACCEPT_GUID.charCodeAt(i);
  return true;
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

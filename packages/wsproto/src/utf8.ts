/**
 * Strict UTF-8 decoding (RFC 6455 8.1: text must be valid UTF-8), for text
 * that arrives whole and for text that arrives in pieces.
 *
 * Node 20's `TextDecoder` decodes one of two ways, and each is the slow one
 * for some text. A decoder that never streamed validates with simdutf and
 * lets V8 build the string: much faster than ICU for ASCII, but slower as
 * soon as some bytes are not ASCII (bench/results/design-notes.md has the
 * figures). The first `decode(…, { stream: true })` switches a decoder to
 * ICU for good. So a {@link Utf8Decoder} keeps one decoder of
 * each kind, and uses for each long message the one that suited the last:
 * a decoded string as long as its bytes was all ASCII. Nothing here decodes
 * with `stream`: pieces are cut after their last complete code point, the
 * cut-off bytes (at most three) are checked as far as they go and joined to
 * the start of the next piece. It fails at the same piece as a streaming
 * fatal decoder would.
 *
 * @module
 */
import { Buffer } from 'node:buffer';

// ignoreBOM: a text message that starts with U+FEFF keeps it.
const fast = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const icu = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
// An empty streamed decode: from now on this one takes Node's ICU path
// (elsewhere, an ordinary decoder). Its later calls do not stream, so it
// never holds bytes between them.
icu.decode(new Uint8Array(0), { stream: true });

/** Below this many bytes both of Node's paths cost about the same. */
const CHOOSE_MIN = 256;

/** Bytes of `text` once encoded as UTF-8 (a lone surrogate counts 3: it is sent as U+FFFD). */
export function utf8ByteLength(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/**
 * Decodes whole UTF-8 (for short text such as a close reason).
 *
 * @throws TypeError at any invalid or incomplete sequence
 */
export function decodeUtf8(bytes: Uint8Array): string {
  return fast.decode(bytes);
}

/**
 * The bytes of the sequence that `lead` starts: 1–4, or 1 for a byte that
 * cannot start one (a continuation byte, C0, C1, F5–FF), which the decoder
 * then rejects where it stands.
 */
function sequenceLength(lead: number): number {
  if (lead >= 0xc2 && lead <= 0xdf) return 2;
  if (lead >= 0xe0 && lead <= 0xef) return 3;
  if (lead >= 0xf0 && lead <= 0xf4) return 4;
  return 1;
}

/** Where the last sequence of `bytes` starts if it is incomplete, else `bytes.length`. */
function completeLength(bytes: Uint8Array): number {
  const n = bytes.length;
  // A sequence is at most 4 bytes, so its lead is among the last four.
  for (let i = n - 1; i >= 0 && i >= n - 4; i--) {
    const byte = bytes[i];
    if ((byte & 0xc0) !== 0x80) return i + sequenceLength(byte) > n ? i : n;
  }
  // Only continuation bytes at the end: complete or invalid, the decoder decides.
  return n;
}

/**
 * True when `tail`, an incomplete sequence (its lead and 0–2 continuation
 * bytes), can still be completed. Only the second byte has a narrower range
 * (RFC 3629 section 4): after E0 (no overlongs), ED (no surrogates), F0 (no
 * overlongs) and F4 (nothing past U+10FFFF).
 */
function isCompletable(tail: Uint8Array): boolean {
  if (tail.length < 2) return true;
  const lead = tail[0];
  const second = tail[1];
  const low = lead === 0xe0 ? 0xa0 : lead === 0xf0 ? 0x90 : 0x80;
  const high = lead === 0xed ? 0x9f : lead === 0xf4 ? 0x8f : 0xbf;
  return second >= low && second <= high;
}

/**
 * Decodes a connection's text messages, whole or in pieces, strictly: a
 * message fails at the first piece that makes it invalid. It holds at most
 * three bytes between pieces.
 */
export class Utf8Decoder {
  /** The start of a code point cut off at the end of the last piece. */
  private carry: Uint8Array | null = null;
  /** The last long text decoded was all ASCII (see the module's notes). */
  private expectAscii = true;

  /**
   * The text of `piece`. The bytes of a code point cut off at its end are
   * held back and decoded with the next piece; `last` ends the message.
   *
   * @throws TypeError at invalid UTF-8, or at a sequence left incomplete
   *   when `last`; the connection is then failed, so this is not used again
   */
  decode(piece: Uint8Array, last: boolean): string {
    let head = '';
    let bytes = piece;
    const carry = this.carry;
    if (carry !== null) {
      this.carry = null;
      const missing = sequenceLength(carry[0]) - carry.length;
      const joined = new Uint8Array(carry.length + Math.min(missing, piece.length));
      joined.set(carry);
      joined.set(piece.length > missing ? piece.subarray(0, missing) : piece, carry.length);
      if (piece.length < missing) {
        // Still not the whole code point: it waits again (or fails if last).
        bytes = joined;
      } else {
        head = fast.decode(joined);
        bytes = piece.subarray(missing);
      }
    }
    let cut = bytes.length;
    if (!last) {
      cut = completeLength(bytes);
      if (cut < bytes.length) {
        const tail = bytes.slice(cut);
        if (!isCompletable(tail)) throw new TypeError('invalid UTF-8: a sequence that cannot be completed');
        this.carry = tail;
      }
    }
    if (cut === 0) return head;
    const text = this.decodeWhole(cut === bytes.length ? bytes : bytes.subarray(0, cut));
    return head === '' ? text : head + text;
  }

  /** Complete UTF-8, with the decoder that suited the last long text. */
  private decodeWhole(bytes: Uint8Array): string {
    if (bytes.length < CHOOSE_MIN) return fast.decode(bytes);
    const text = (this.expectAscii ? fast : icu).decode(bytes);
    // Each non-ASCII code point takes more bytes than UTF-16 units.
    this.expectAscii = text.length === bytes.length;
    return text;
  }
}

/**
 * Joining the pieces of a fragmented message (RFC 6455 5.4) into the one
 * message the queue hands out.
 *
 * @module
 */
import { Buffer } from 'node:buffer';
import type { Message } from './message-queue';

/**
 * The pieces of the message being received. Made at a message's first
 * unfinished piece: most messages come whole and never need one.
 */
export class Fragments {
  private readonly parts: Message[] = [];
  /** UTF-16 units or bytes, as the queue counts them. */
  private size = 0;

  /** Adds a piece; returns the whole message once `finished`, else null. */
  add(data: Message, finished: boolean): Message | null {
    if (data.length > 0) {
      this.parts.push(data);
      this.size += data.length;
    }
    return finished ? this.join(typeof data === 'string') : null;
  }

  private join(text: boolean): Message {
    const parts = this.parts;
    if (text) return parts.length === 1 ? parts[0] : parts.join('');
    if (parts.length === 1) return parts[0];
    // One copy at the end, into memory of its own (no shared pool slab is kept alive).
    const out = Buffer.allocUnsafeSlow(this.size);
    let offset = 0;
    for (const part of parts as Uint8Array[]) {
      out.set(part, offset);
      offset += part.length;
    }
    return out;
  }
}

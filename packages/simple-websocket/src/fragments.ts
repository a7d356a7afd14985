/**
 * Joining the pieces of a fragmented message (RFC 6455 5.4) into the one
 * message the queue hands out.
 *
 * @module
 */
import { Buffer } from 'node:buffer';
import type { Message } from './message-queue';

/** Pieces smaller than this are gathered into runs; larger ones are kept as they are. */
const SMALL_PIECE = 1024;
/** Small pieces joined into one at a time: a fragment then costs its bytes, not an object and a slot of its own. */
const RUN_LENGTH = 256;

/**
 * The pieces of the message being received. Made at a message's first
 * unfinished piece: most messages come whole and never need one.
 *
 * Small pieces are joined as they arrive, a run at a time, so a message in
 * 65,536 fragments of 64 bytes holds a few hundred pieces, not 65,536
 * (the core charges each fragment at least 128 bytes against the message
 * size limit; what is kept here stays under that charge).
 */
export class Fragments {
  private readonly parts: Message[] = [];
  /** Small pieces not joined yet. */
  private run: Message[] = [];
  /** UTF-16 units or bytes, as the queue counts them. */
  private size = 0;

  /** Adds a piece; returns the whole message once `finished`, else null. */
  add(data: Message, finished: boolean): Message | null {
    if (data.length > 0) {
      this.size += data.length;
      if (data.length >= SMALL_PIECE) {
        this.endRun();
        this.parts.push(data);
      } else if (this.run.push(data) === RUN_LENGTH) {
        this.endRun();
      }
    }
    if (!finished) return null;
    this.endRun();
    return join(this.parts, typeof data === 'string', this.size);
  }

  /** Joins the small pieces gathered so far into one part. */
  private endRun(): void {
    const run = this.run;
    if (run.length === 0) return;
    this.run = [];
    let bytes = 0;
    for (const piece of run) bytes += piece.length;
    this.parts.push(join(run, typeof run[0] === 'string', bytes));
  }
}

/** `parts` as one message of `size` units: a string, or bytes in memory of their own. */
function join(parts: Message[], text: boolean, size: number): Message {
  if (parts.length === 1) return parts[0];
  if (text) return parts.join('');
  // One copy, into memory of its own (no shared pool slab is kept alive).
  const out = Buffer.allocUnsafeSlow(size);
  let offset = 0;
  for (const part of parts as Uint8Array[]) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/**
 * The incremental frame parser (RFC 6455 5.2): received chunks in, one
 * frame header at a time out, then the payload unmasked, whole or in pieces
 * as it arrives. Checks what the wire alone can tell; the message rules are
 * {@link FrameProtocol}'s.
 *
 * @module
 */
import { allocUninitialized, EMPTY_BYTES, gather, ON_HEAP_MAX, view, type PieceCursor } from './bytes';
import { ParseFailed } from './errors';
import { applyMask, copyOutSmall, gatherMasked } from './mask';
import { isControl, isReservedOpcode, MAX_CONTROL_PAYLOAD, Opcode } from './opcode';
import { trace, TRACE_BYTES_MAX, tracing } from './trace';

/**
 * Scratch shared by every decoder, for work that finishes within one
 * synchronous call: a header split across chunks, a mask key being used, a
 * read position. Per-decoder copies would cost every idle connection.
 */
const headerScratch = new Uint8Array(14);
const sharedKey = new Uint8Array(4);
const cursor: PieceCursor = { piece: 0, pos: 0 };

/**
 * Payloads up to this size are copied out of their chunk, not viewed: the
 * most V8 keeps on its heap, and copying (with unmasking) beat a view at
 * every size up to it (bench/results/design-notes.md).
 */
const TINY_PAYLOAD = ON_HEAP_MAX;

/**
 * The incremental frame parser: buffers received chunks, parses one frame
 * header at a time (checking what the wire alone can tell: opcodes, control
 * frame rules, length encoding, masking), and hands out the payload unmasked,
 * whole or in pieces as it arrives.
 *
 * After {@link readHeader} returns true the header fields (`fin`, `rsv`,
 * `opcode`, `masked`, `payloadLength`) describe the current frame until its
 * payload has been taken (`remaining` is 0).
 *
 * Ownership: chunks given to {@link receiveBytes} are unmasked in place and
 * payloads are handed out as views of them; the caller must not reuse a chunk
 * after giving it here.
 */
export class FrameDecoder {
  /** FIN bit of the current frame. */
  fin = false;
  /** RSV bits of the current frame (mask of RSV1/RSV2/RSV3). */
  rsv = 0;
  /** Opcode of the current frame, as on the wire. */
  opcode: Opcode = Opcode.CONTINUATION;
  /** Whether the current frame is masked. */
  masked = false;
  /** Payload length the current frame's header announced. */
  payloadLength = 0;
  /** Payload bytes of the current frame not handed out yet. */
  remaining = 0;

  /** True on the client side: frames must arrive unmasked. */
  readonly client: boolean;
  private inFrame = false;
  /** The current frame's mask key as one big-endian word: a number costs an idle connection nothing. */
  private maskWord = 0;
  private maskPhase = 0;
  // Received chunks live in chunks[head, count); every other slot holds EMPTY_BYTES.
  private readonly chunks: Uint8Array[] = [];
  private head = 0;
  private count = 0;
  private pos = 0;
  private available = 0;

  /** @param client - true on the client side: frames must arrive unmasked. */
  constructor(client: boolean) {
    this.client = client;
  }

  /** Bytes received and not yet consumed. */
  get buffered(): number {
    return this.available;
  }

  /** Queues received bytes. Takes ownership of `data` (see the class note). */
  receiveBytes(data: Uint8Array): void {
    if (data.length === 0) return;
    this.chunks[this.count++] = data;
    this.available += data.length;
  }

  /**
   * Parses the next frame header if it has fully arrived. Returns true when a
   * frame is current (just parsed, or still being read), false when more bytes
   * are needed.
   *
   * @throws ParseFailed(1002) on a header that breaks RFC 6455 5.2–5.5
   */
  readHeader(): boolean {
    if (this.inFrame) return true;
    const avail = this.available;
    if (avail < 2) return false;
    let buf = this.chunks[this.head];
    let off = this.pos;
    if (buf.length - off < 14 && buf.length - off < avail) {
      // The header may straddle chunks: gather up to 14 bytes.
      buf = this.peek(Math.min(14, avail));
      off = 0;
    }
    const b0 = buf[off];
    const b1 = buf[off + 1];
    const opcode = b0 & 0x0f;
    // RFC 6455 5.2: opcodes 0x3–0x7 and 0xB–0xF are reserved.
    if (isReservedOpcode(opcode)) throw new ParseFailed(`reserved opcode 0x${opcode.toString(16)}`, 1002);
    const fin = (b0 & 0x80) !== 0;
    const masked = (b1 & 0x80) !== 0;
    let length = b1 & 0x7f;
    if (isControl(opcode)) {
      // RFC 6455 5.5: control frames are never fragmented.
      if (!fin) throw new ParseFailed('fragmented control frame', 1002);
      // RFC 6455 5.5: control payloads are at most 125 bytes.
      if (length > MAX_CONTROL_PAYLOAD) throw new ParseFailed('control frame payload over 125 bytes', 1002);
    }
    // RFC 6455 5.1: a server gets masked frames only, a client unmasked only.
    if (masked === this.client) {
      throw new ParseFailed(this.client ? 'masked frame from the server' : 'unmasked frame from the client', 1002);
    }
    const extra = length === 126 ? 2 : length === 127 ? 8 : 0;
    const needed = 2 + extra + (masked ? 4 : 0);
    if (avail < needed) return false;
    let p = off + 2;
    if (length === 126) {
      length = (buf[p] << 8) | buf[p + 1];
      // RFC 6455 5.2: the minimal number of bytes must encode the length.
      if (length < 126) throw new ParseFailed('payload length not minimally encoded', 1002);
      p += 2;
    } else if (length === 127) {
      const high = ((buf[p] << 24) | (buf[p + 1] << 16) | (buf[p + 2] << 8) | buf[p + 3]) >>> 0;
      const low = ((buf[p + 4] << 24) | (buf[p + 5] << 16) | (buf[p + 6] << 8) | buf[p + 7]) >>> 0;
      // RFC 6455 5.2: the most significant bit of a 64-bit length must be 0.
      if (high >= 0x80000000) throw new ParseFailed('64-bit payload length with the high bit set', 1002);
      length = high * 0x100000000 + low;
      // RFC 6455 5.2: the minimal number of bytes must encode the length.
      if (length < 65536) throw new ParseFailed('payload length not minimally encoded', 1002);
      p += 8;
    }
    if (masked) {
      this.maskWord = ((buf[p] << 24) | (buf[p + 1] << 16) | (buf[p + 2] << 8) | buf[p + 3]) >>> 0;
    }
    if (tracing) {
      trace('wsproto', 'FrameDecoder.readHeader', `FIN=${fin ? 1 : 0} RSV=${(b0 >> 4) & 7} opcode=${opcode} MASK=${masked ? 1 : 0} length=${length}`, {
        bytes: this.wireBytes(needed + Math.min(length, avail - needed)),
        size: needed + length,
      });
    }
    this.consume(needed);
    this.fin = fin;
    this.rsv = b0 & 0x70;
    this.opcode = opcode;
    this.masked = masked;
    this.payloadLength = length;
    this.remaining = length;
    this.maskPhase = 0;
    this.inFrame = true;
    return true;
  }

  /**
   * Takes the rest of the current frame's payload, unmasked, if all of it has
   * arrived; otherwise returns null and takes nothing. Ends the frame.
   */
  takeAll(): Uint8Array | null {
    const n = this.remaining;
    if (this.available < n) return null;
    let out: Uint8Array;
    if (n === 0) {
      out = EMPTY_BYTES;
    } else {
      const first = this.chunks[this.head];
      if (n <= TINY_PAYLOAD && first.length - this.pos >= n) {
        // A few bytes: copied out (and unmasked) in one pass beats making a view.
        out = copyOutSmall(first, this.pos, n, this.masked ? this.keyBytes() : null, this.maskPhase);
        this.consume(n);
      } else if (first.length - this.pos >= n) {
        // One chunk holds it: a view, unmasked in place.
        out = view(first, this.pos, n);
        this.consume(n);
        if (this.masked) applyMask(out, this.keyBytes(), this.maskPhase);
      } else {
        // Spread over chunks: unmasked while copied.
        out = allocUninitialized(n);
        const at = this.cursor();
        if (this.masked) gatherMasked(this.chunks, at, n, out, this.keyBytes(), this.maskPhase);
        else gather(this.chunks, at, n, out, 0);
        this.consume(n);
      }
    }
    this.remaining = 0;
    this.inFrame = false;
    return out;
  }

  /**
   * Takes what has arrived of the current frame's payload, unmasked: the whole
   * rest when it is all here, else the part in the oldest chunk (a view, no
   * copy). Returns null when no payload byte is available (and the frame is
   * not empty).
   */
  takeSome(): Uint8Array | null {
    if (this.available >= this.remaining) return this.takeAll();
    if (this.available === 0) return null;
    const first = this.chunks[this.head];
    const n = first.length - this.pos; // < remaining, or available would cover it
    const out = view(first, this.pos, n);
    this.consume(n);
    if (this.masked) applyMask(out, this.keyBytes(), this.maskPhase);
    this.maskPhase = (this.maskPhase + n) & 3;
    this.remaining -= n;
    return out;
  }

  /** The mask key in the shared key buffer, for one synchronous applyMask call. */
  private keyBytes(): Uint8Array {
    const w = this.maskWord;
    sharedKey[0] = w >>> 24;
    sharedKey[1] = (w >>> 16) & 0xff;
    sharedKey[2] = (w >>> 8) & 0xff;
    sharedKey[3] = w & 0xff;
    return sharedKey;
  }

  /** For the trace: the next `n` buffered bytes (at most TRACE_BYTES_MAX) as they came, still masked, not consumed. */
  private wireBytes(n: number): Uint8Array {
    const out = new Uint8Array(Math.min(n, TRACE_BYTES_MAX));
    gather(this.chunks, this.cursor(), out.length, out, 0);
    return out;
  }

  /** Copies the next `n` buffered bytes into the shared header scratch without consuming them. */
  private peek(n: number): Uint8Array {
    gather(this.chunks, this.cursor(), n, headerScratch, 0);
    return headerScratch;
  }

  /** The shared read cursor, set to where this decoder's unread bytes start. */
  private cursor(): PieceCursor {
    cursor.piece = this.head;
    cursor.pos = this.pos;
    return cursor;
  }

  /** Drops the next `n` buffered bytes. */
  private consume(n: number): void {
    this.available -= n;
    const chunks = this.chunks;
    while (n > 0) {
      const left = chunks[this.head].length - this.pos;
      if (n < left) {
        this.pos += n;
        return;
      }
      n -= left;
      // A used-up chunk is let go at once. Kept in its slot, it would live
      // through young-generation GCs, be promoted, and wait for a full GC:
      // with 64 KiB reads that held tens of MB per busy connection.
      chunks[this.head++] = EMPTY_BYTES;
      this.pos = 0;
    }
    if (this.head === this.count) {
      // Drained: reuse the slots (cheaper than truncating); all hold EMPTY_BYTES.
      this.head = 0;
      this.count = 0;
    } else if (this.head > 64) {
      chunks.copyWithin(0, this.head, this.count);
      for (let i = this.count - this.head; i < this.count; i++) chunks[i] = EMPTY_BYTES;
      this.count -= this.head;
      this.head = 0;
    }
  }
}

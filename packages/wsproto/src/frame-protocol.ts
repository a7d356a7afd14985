/**
 * Frames (RFC 6455 section 5): opcodes, close codes, the incremental decoder
 * ({@link FrameDecoder}) and the message layer on top of it
 * ({@link FrameProtocol}): fragmentation, extensions, limits, UTF-8, close
 * payloads, and the encoder. Mirrors wsproto's `frame_protocol.py`.
 *
 * @module
 */
import { LocalProtocolError, ParseFailed } from './errors';
import type { Extension } from './extensions';
import { applyMask, copyMasked, copyOutSmall, gatherMasked } from './mask';
import { decodeUtf8, Utf8Decoder } from './utf8';
import { DEFAULT_OPTIONS } from './options';
import { trace, traceBytes, tracing } from './trace';
import { allocFrame, allocUninitialized, ON_HEAP_MAX } from './alloc';
import { concatBytes, defaultRandom, EMPTY_BYTES, type RandomSource } from './utilities';

/** Frame opcodes (RFC 6455 5.2). */
export enum Opcode {
  CONTINUATION = 0x0,
  TEXT = 0x1,
  BINARY = 0x2,
  CLOSE = 0x8,
  PING = 0x9,
  PONG = 0xa,
}

/** Close status codes (RFC 6455 7.4.1, IANA registry). */
export enum CloseReason {
  NORMAL_CLOSURE = 1000,
  GOING_AWAY = 1001,
  PROTOCOL_ERROR = 1002,
  UNSUPPORTED_DATA = 1003,
  /** Local only: a close frame arrived without a code. Never sent. */
  NO_STATUS_RCVD = 1005,
  /** Local only: the transport ended without a close frame. Never sent. */
  ABNORMAL_CLOSURE = 1006,
  INVALID_FRAME_PAYLOAD_DATA = 1007,
  POLICY_VIOLATION = 1008,
  MESSAGE_TOO_BIG = 1009,
  MANDATORY_EXT = 1010,
  INTERNAL_ERROR = 1011,
  SERVICE_RESTART = 1012,
  TRY_AGAIN_LATER = 1013,
  BAD_GATEWAY = 1014,
  /** Local only: the TLS handshake failed. Never sent. */
  TLS_HANDSHAKE_FAILED = 1015,
}

/** RSV bits as a bitmask, in the positions they hold in a frame's first byte. */
export const RSV1 = 0x40;
export const RSV2 = 0x20;
export const RSV3 = 0x10;

/** Largest payload of a control frame (RFC 6455 5.5). */
export const MAX_CONTROL_PAYLOAD = 125;
/** Largest close reason in bytes: the control payload minus the 2-byte code (RFC 6455 5.5.1). */
export const MAX_CLOSE_REASON = 123;

const NO_EXTENSIONS: Extension[] = [];
/**
 * Scratch memory shared by every connection, for work that finishes within
 * one synchronous call: a header split across chunks, a mask key being used.
 * Per-connection copies would cost every idle connection their bytes.
 */
const headerScratch = new Uint8Array(14);
const sharedKey = new Uint8Array(4);

/**
 * The 2-byte headers of final, unextended, unmasked frames with payloads
 * under 126 bytes: the same bytes every time, so made once and shared (an
 * allocation per small frame was a measurable share of sending one). Parts
 * that sendDataParts returns are read-only.
 */
const shortHeaders: Array<Array<Uint8Array | undefined>> = [[], [], []];
function shortHeader(opcode: Opcode, length: number): Uint8Array {
  const row = shortHeaders[opcode];
  let header = row[length];
  if (header === undefined) {
    header = new Uint8Array([0x80 | opcode, length]);
    row[length] = header;
  }
  return header;
}
/**
 * The last header made for any other unmasked frame, kept for the next one
 * of the same kind and length: senders that stream or broadcast fixed-size
 * messages then make no header at all (a fresh one per frame cost ~20% of
 * sending a large message without copying it). Shared, so read-only too.
 */
let lastHeader: Uint8Array = new Uint8Array(0);
let lastHeaderLength = -1;
function longHeader(opcode: Opcode, rsv: number, fin: boolean, length: number): Uint8Array {
  const b0 = (fin ? 0x80 : 0) | rsv | opcode;
  if (length === lastHeaderLength && lastHeader[0] === b0) return lastHeader;
  const header = new Uint8Array(length < 126 ? 2 : length < 65536 ? 4 : 10);
  writeHeader(header, opcode, rsv, fin, length);
  lastHeader = header;
  lastHeaderLength = length;
  return header;
}
/**
 * Random bytes fetched at once for mask keys, shared by every client
 * connection that uses the default source: one 64 KiB call (the most
 * `getRandomValues` gives) costs under 1 ns a key, 4 KiB calls 5 ns.
 */
const KEY_POOL_SIZE = 65536;
const keyPool = new Uint8Array(KEY_POOL_SIZE);
let keyPoolPos = KEY_POOL_SIZE;
/** Masked payloads shorter than this are copied and masked in one pass; longer ones are copied, then masked by words. */
const MASK_COPY_MAX = 64;

/**
 * Payloads up to this size are copied out of their chunk, not viewed: the
 * most V8 keeps on its heap. Measured with unmasking, copying won at every
 * size up to it: 32 bytes took 115–124 ns copied, 235–265 ns viewed.
 */
const TINY_PAYLOAD = ON_HEAP_MAX;

const textEncoder = new TextEncoder();
/** Where short text is encoded before it is copied into its frame: 41 UTF-16 units make at most 123 bytes. */
const textScratch = new Uint8Array(123);
/** The same for up to 21845 units (at most 65535 bytes, a 16-bit length); made on first use. */
let wideTextScratch: Uint8Array | null = null;

/**
 * True for a close code a peer may put on the wire (RFC 6455 7.4.1 and 7.4.2):
 * 1000–1003, 1007–1014 and 3000–4999. 1004 is reserved; 1005, 1006 and 1015
 * are local-only; the rest of 0–2999 is unassigned or reserved for the RFC.
 */
export function isValidCloseCode(code: number): boolean {
  return (
    (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999)
  );
}

/**
 * Decodes and validates a received close frame's payload. An empty payload
 * means "no status" (1005).
 *
 * @throws ParseFailed with 1002 (bad length or code) or 1007 (reason not UTF-8)
 */
export function decodeClosePayload(payload: Uint8Array): { code: number; reason: string } {
  if (payload.length === 0) return { code: CloseReason.NO_STATUS_RCVD, reason: '' };
  // RFC 6455 5.5.1: a body, if any, starts with a 2-byte code.
  if (payload.length === 1) throw new ParseFailed('close frame with a 1-byte payload', 1002);
  const code = (payload[0] << 8) | payload[1];
  // RFC 6455 7.4.1: codes a peer may not send.
  if (!isValidCloseCode(code)) throw new ParseFailed(`invalid close code ${code}`, 1002);
  let reason: string;
  try {
    // RFC 6455 5.5.1: the reason is UTF-8.
    reason = decodeUtf8(payload.subarray(2));
  } catch {
    throw new ParseFailed('close reason is not valid UTF-8', 1007);
  }
  return { code, reason };
}

/** Writes the first header bytes and the length; returns the header size without the mask key. */
function writeHeader(out: Uint8Array, opcode: Opcode, rsv: number, fin: boolean, length: number): number {
  out[0] = (fin ? 0x80 : 0) | rsv | opcode;
  if (length < 126) {
    out[1] = length;
    return 2;
  }
  if (length < 65536) {
    out[1] = 126;
    out[2] = length >>> 8;
    out[3] = length & 0xff;
    return 4;
  }
  out[1] = 127;
  const high = Math.floor(length / 0x100000000);
  out[2] = high >>> 24;
  out[3] = (high >>> 16) & 0xff;
  out[4] = (high >>> 8) & 0xff;
  out[5] = high & 0xff;
  out[6] = length >>> 24;
  out[7] = (length >>> 16) & 0xff;
  out[8] = (length >>> 8) & 0xff;
  out[9] = length & 0xff;
  return 10;
}

/** A plain view (not a Node Buffer: its subarray wrapper is slower) of `length` bytes at `offset`. */
function view(chunk: Uint8Array, offset: number, length: number): Uint8Array {
  return new Uint8Array(chunk.buffer, chunk.byteOffset + offset, length);
}

/** True for control opcodes (RFC 6455 5.5: the high bit of the opcode). */
function isControl(opcode: Opcode): boolean {
  return (opcode & 0x8) !== 0;
}

/** Byte length of a string once encoded as UTF-8, without encoding it. */
function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) {
      if (c < 0x800) n += 1;
      else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
        i++; // a surrogate pair: 4 bytes for 2 UTF-16 units
        n += 2;
      } else n += 2; // BMP, or a lone surrogate (encoded as U+FFFD, 3 bytes)
    }
  }
  return n;
}

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

  private readonly client: boolean;
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
      buf = this.gather(Math.min(14, avail));
      off = 0;
    }
    const b0 = buf[off];
    const b1 = buf[off + 1];
    const opcode = b0 & 0x0f;
    // RFC 6455 5.2: opcodes 0x3–0x7 and 0xB–0xF are reserved.
    if ((opcode > 2 && opcode < 8) || opcode > 10) throw new ParseFailed(`reserved opcode 0x${opcode.toString(16)}`, 1002);
    const fin = (b0 & 0x80) !== 0;
    const masked = (b1 & 0x80) !== 0;
    let length = b1 & 0x7f;
    if (opcode >= 8) {
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
    this.consume(needed);
    this.fin = fin;
    this.rsv = b0 & 0x70;
    this.opcode = opcode;
    this.masked = masked;
    this.payloadLength = length;
    this.remaining = length;
    this.maskPhase = 0;
    this.inFrame = true;
    if (tracing) {
      trace('wsproto', 'FrameDecoder.readHeader', `FIN=${fin ? 1 : 0} RSV=${(b0 >> 4) & 7} opcode=${opcode} MASK=${masked ? 1 : 0} length=${length}`);
    }
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
        if (this.masked) gatherMasked(this.chunks, this.head, this.pos, n, out, this.keyBytes(), this.maskPhase);
        else this.gather(n, out);
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

  /** Copies the next `n` buffered bytes into `into` (default: the shared header scratch) without consuming them. */
  private gather(n: number, into: Uint8Array = headerScratch): Uint8Array {
    let copied = 0;
    let pos = this.pos;
    for (let i = this.head; copied < n; i++) {
      const chunk = this.chunks[i];
      const take = Math.min(chunk.length - pos, n - copied);
      // A whole chunk is copied as is: a view would cost an allocation.
      const piece = pos === 0 && take === chunk.length ? chunk : view(chunk, pos, take);
      into.set(piece, copied);
      copied += take;
      pos = 0;
    }
    return into;
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

/**
 * A piece of a received frame, as {@link FrameProtocol.receiveFrames} yields it.
 */
export interface Frame {
  /** For a continuation of a text/binary message, the message's opcode (TEXT/BINARY), never CONTINUATION. */
  opcode: Opcode;
  /** TEXT: a string (validated UTF-8, possibly a piece of the message); others: bytes. */
  payload: Uint8Array | string;
  /** This piece ends its frame. */
  frameFinished: boolean;
  /** This piece ends the message (a FIN frame, and frameFinished). */
  messageFinished: boolean;
}

/** Settings of a {@link FrameProtocol}. */
export interface FrameProtocolInit {
  /** True on the client side: outgoing frames are masked, incoming must not be. */
  client: boolean;
  /** Negotiated extensions; only the enabled ones take part. */
  extensions?: readonly Extension[];
  /** Largest message in bytes (after extensions). Default {@link DEFAULT_OPTIONS}. */
  maxMessageSize?: number;
  /** Most frames per message. Default {@link DEFAULT_OPTIONS}. */
  maxFragments?: number;
  /** Source of mask keys. Default `crypto.getRandomValues`. */
  random?: RandomSource;
}

/**
 * Frames in, message pieces out; payloads in, frames out. Enforces the
 * message-level rules the decoder cannot see alone: fragmentation order, RSV
 * bits against the extensions, message size and fragment limits, UTF-8 of
 * text, and close payloads.
 */
export class FrameProtocol {
  private readonly client: boolean;
  private readonly extensions: Extension[];
  private readonly maxMessageSize: number;
  private readonly maxFragments: number;
  private readonly random: RandomSource;
  private readonly decoder: FrameDecoder;
  /** Decodes received text (see dataPiece); made at the first text message: many connections never see one. */
  private utf8: Utf8Decoder | null = null;
  /**
   * Mask keys drawn from the default source come from the shared pool: one
   * getRandomValues call per frame costs more than masking a small frame.
   * A caller's own `random` is still asked per key, so tests stay exact.
   */
  private readonly pooledKeys: boolean;
  private failure: ParseFailed | null = null;

  // Inbound: the current frame passed the message-level checks.
  private frameAccepted = false;
  // Inbound message in progress: its opcode (TEXT/BINARY), or CONTINUATION when none.
  private messageOpcode: Opcode = Opcode.CONTINUATION;
  private messageWireBytes = 0;
  private messageBytes = 0;
  private messageFrames = 0;

  // Outbound message in progress: its opcode, or CONTINUATION when none.
  private outboundOpcode: Opcode = Opcode.CONTINUATION;

  constructor(init: FrameProtocolInit) {
    this.client = init.client;
    // Most connections negotiate nothing: they share one empty list, and filter makes no array.
    const enabled = init.extensions?.length ? init.extensions.filter((e) => e.enabled()) : NO_EXTENSIONS;
    this.extensions = enabled.length > 0 ? enabled : NO_EXTENSIONS;
    this.maxMessageSize = init.maxMessageSize ?? DEFAULT_OPTIONS.maxMessageSize;
    this.maxFragments = init.maxFragments ?? DEFAULT_OPTIONS.maxFragments;
    this.random = init.random ?? defaultRandom;
    this.pooledKeys = this.random === defaultRandom;
    this.decoder = new FrameDecoder(init.client);
  }

  /**
   * Queues received bytes. Takes ownership of `data`: masked payloads are
   * unmasked in place and handed out as views of it, so do not reuse it.
   */
  receiveBytes(data: Uint8Array): void {
    this.decoder.receiveBytes(data);
  }

  /**
   * Yields the frames (or pieces of data frames) the buffered bytes complete.
   * Control and binary frames come out whole, once all their bytes are in;
   * a text frame still arriving comes out in pieces as chunks arrive, never
   * split inside a code point.
   *
   * @throws ParseFailed with the close code the peer's violation calls for;
   *   once thrown, every later call throws it again.
   */
  *receiveFrames(): Generator<Frame> {
    for (let frame = this.nextFrame(); frame !== null; frame = this.nextFrame()) yield frame;
  }

  /**
   * The next frame (or piece) the buffered bytes complete, or null when more
   * bytes are needed. {@link receiveFrames} without the generator, for hot
   * loops.
   *
   * @throws ParseFailed as {@link receiveFrames} does
   */
  nextFrame(): Frame | null {
    if (this.failure) throw this.failure;
    const d = this.decoder;
    try {
      for (;;) {
        if (!this.frameAccepted) {
          if (!d.readHeader()) return null;
          this.acceptHeader();
          this.frameAccepted = true;
        }
        if (isControl(d.opcode)) {
          const payload = d.takeAll();
          if (payload === null) return null;
          this.frameAccepted = false;
          if (d.opcode === Opcode.CLOSE) decodeClosePayload(payload); // validates, throws ParseFailed
          return { opcode: d.opcode, payload, frameFinished: true, messageFinished: true };
        }
        // Text comes out a piece per received chunk, so bad UTF-8 fails at the
        // first bad byte. Binary waits for the whole frame and is copied once
        // (a view when one chunk holds it): a message split into hundreds of
        // views made the caller join them into a fresh buffer, which measured
        // 4x slower for 1 MiB (page faults on every join; see bench/).
        const piece = this.messageOpcode === Opcode.TEXT ? d.takeSome() : d.takeAll();
        if (piece === null) return null;
        const frameFinished = d.remaining === 0;
        if (frameFinished) this.frameAccepted = false;
        const frame = this.dataPiece(piece, frameFinished, d.fin);
        if (frame !== null) return frame;
      }
    } catch (error) {
      if (error instanceof ParseFailed) this.failure = error;
      throw error;
    }
  }

  /** Message-level checks of a freshly parsed header. */
  private acceptHeader(): void {
    const d = this.decoder;
    const opcode = d.opcode;
    if (opcode === Opcode.CONTINUATION) {
      // RFC 6455 5.4: a continuation needs a message to continue.
      if (this.messageOpcode === Opcode.CONTINUATION) throw new ParseFailed('continuation frame without a message', 1002);
    } else if (!isControl(opcode)) {
      // RFC 6455 5.4: a message's fragments may not interleave with another message.
      if (this.messageOpcode !== Opcode.CONTINUATION) throw new ParseFailed('new message before the last one finished', 1002);
      this.messageOpcode = opcode;
      this.messageWireBytes = 0;
      this.messageBytes = 0;
      this.messageFrames = 0;
    }
    let claimed = 0;
    for (const ext of this.extensions) claimed |= ext.frameInboundHeader(opcode, d.rsv, d.payloadLength);
    // RFC 6455 5.2: RSV bits must be 0 unless a negotiated extension defines them.
    if ((d.rsv & ~claimed) !== 0) throw new ParseFailed('reserved bits set without an extension', 1002);
    if (isControl(opcode)) return;
    // Limits, decided from the header before any payload is buffered.
    if (++this.messageFrames > this.maxFragments) throw new ParseFailed('too many fragments in one message', 1009);
    this.messageWireBytes += d.payloadLength;
    if (this.messageWireBytes > this.maxMessageSize) throw new ParseFailed('message too big', 1009);
  }

  /** Runs a data piece through the extensions and UTF-8; null when there is nothing to yield yet. */
  private dataPiece(piece: Uint8Array, frameFinished: boolean, fin: boolean): Frame | null {
    let data = piece;
    if (this.extensions.length > 0) {
      data = this.inboundExtensions(piece, frameFinished, fin);
      this.messageBytes += data.length;
      // Extensions should enforce `limit` themselves; this catches one that did not.
      if (this.messageBytes > this.maxMessageSize) throw new ParseFailed('message too big', 1009);
    }
    const messageFinished = frameFinished && fin;
    const opcode = this.messageOpcode;
    if (messageFinished) this.messageOpcode = Opcode.CONTINUATION;
    if (opcode === Opcode.TEXT) {
      let text: string;
      try {
        // RFC 6455 8.1: text is UTF-8, checked as it arrives: a piece fails
        // at its first bad byte, and the last one at a sequence left dangling.
        text = (this.utf8 ??= new Utf8Decoder()).decode(data, messageFinished);
      } catch {
        throw new ParseFailed('text message is not valid UTF-8', 1007);
      }
      if (text === '' && !frameFinished) return null;
      return { opcode, payload: text, frameFinished, messageFinished };
    }
    if (data.length === 0 && !frameFinished) return null;
    return { opcode, payload: data, frameFinished, messageFinished };
  }

  /** Inbound extension chain, last negotiated first (the reverse of outbound). */
  private inboundExtensions(piece: Uint8Array, frameFinished: boolean, fin: boolean): Uint8Array {
    let data = piece;
    const exts = this.extensions;
    for (let i = exts.length - 1; i >= 0; i--) {
      const limit = this.maxMessageSize - this.messageBytes;
      data = exts[i].frameInboundPayloadData(data, limit);
      if (frameFinished) {
        const tail = exts[i].frameInboundComplete(fin, limit - data.length);
        if (tail !== null && tail.length > 0) {
          if (data.length === 0) data = tail;
          else {
            const joined = new Uint8Array(data.length + tail.length);
            joined.set(data);
            joined.set(tail, data.length);
            data = joined;
          }
        }
      }
    }
    return data;
  }

  /**
   * Encodes a data frame: text for a string, binary for bytes; a continuation
   * when an earlier call had `fin` false. Masked on the client side.
   *
   * @param fin - false to leave the message open for more sendData calls
   * @throws LocalProtocolError(WS_BAD_EVENT) when continuing a message with the other data type
   */
  sendData(payload: string | Uint8Array, fin = true): Uint8Array {
    const parts = this.sendDataParts(payload, fin);
    return concatBytes(parts);
  }

  /**
   * Like {@link sendData}, but may return the frame as `[header, payload]`
   * for a gathered write: an unmasked payload is never copied (as ws's
   * `Sender.frame` does). Writing the parts in order is the same as writing
   * `sendData`'s bytes. The payload part may be the caller's own array; the
   * header part may be shared between frames: treat every part as read-only.
   */
  sendDataParts(payload: string | Uint8Array, fin = true): Uint8Array[] {
    const parts = this.encodeData(payload, fin);
    if (tracing) trace('wsproto', 'FrameProtocol.sendDataParts', parts.map(traceBytes).join(' + '));
    return parts;
  }

  private encodeData(payload: string | Uint8Array, fin: boolean): Uint8Array[] {
    const isText = typeof payload === 'string';
    const type = isText ? Opcode.TEXT : Opcode.BINARY;
    let opcode = type;
    if (this.outboundOpcode !== Opcode.CONTINUATION) {
      if (this.outboundOpcode !== type) throw new LocalProtocolError('cannot mix text and bytes in one message', 'WS_BAD_EVENT');
      opcode = Opcode.CONTINUATION;
    }
    this.outboundOpcode = fin ? Opcode.CONTINUATION : type;
    let data: Uint8Array;
    let rsv = 0;
    if (this.extensions.length === 0) {
      if (isText) {
        const direct = this.encodeTextDirect(opcode, fin, payload);
        if (direct !== null) return [direct];
        data = textEncoder.encode(payload);
      } else {
        data = payload;
      }
    } else {
      data = isText ? textEncoder.encode(payload) : payload;
      for (const ext of this.extensions) [rsv, data] = ext.frameOutbound(opcode, rsv, data, fin);
    }
    if (!this.client && data.length > 0) {
      const length = data.length;
      if (length < 126 && fin && rsv === 0) return [shortHeader(opcode, length), data];
      return [longHeader(opcode, rsv, fin, length), data];
    }
    return [this.buildFrame(opcode, rsv, fin, data)];
  }

  /**
   * Encodes a ping.
   *
   * @throws LocalProtocolError(WS_BAD_EVENT) for a payload over 125 bytes
   */
  ping(payload: Uint8Array = EMPTY_BYTES): Uint8Array {
    return this.control(Opcode.PING, payload);
  }

  /**
   * Encodes a pong.
   *
   * @throws LocalProtocolError(WS_BAD_EVENT) for a payload over 125 bytes
   */
  pong(payload: Uint8Array = EMPTY_BYTES): Uint8Array {
    return this.control(Opcode.PONG, payload);
  }

  /**
   * Encodes a close frame. No code (or 1005) sends an empty payload.
   *
   * @throws LocalProtocolError(WS_BAD_EVENT) for a code that may not be sent,
   *   a reason over 123 bytes, or a reason without a code
   */
  close(code?: number, reason = ''): Uint8Array {
    if (code === undefined || code === 1005) {
      // 1005 (NO_STATUS_RCVD) means: no code on the wire.
      if (reason !== '') throw new LocalProtocolError('a close reason needs a close code', 'WS_BAD_EVENT');
      return this.buildFrame(Opcode.CLOSE, 0, true, EMPTY_BYTES);
    }
    // RFC 6455 7.4.1: only registered, sendable codes.
    if (!Number.isInteger(code) || !isValidCloseCode(code)) {
      throw new LocalProtocolError(`close code ${code} may not be sent`, 'WS_BAD_EVENT');
    }
    const reasonBytes = utf8Length(reason);
    // RFC 6455 5.5: the whole control payload is at most 125 bytes.
    if (reasonBytes > MAX_CLOSE_REASON) throw new LocalProtocolError('close reason over 123 bytes of UTF-8', 'WS_BAD_EVENT');
    const payload = new Uint8Array(2 + reasonBytes);
    payload[0] = code >> 8;
    payload[1] = code & 0xff;
    textEncoder.encodeInto(reason, payload.subarray(2));
    return this.buildFrame(Opcode.CLOSE, 0, true, payload);
  }

  private control(opcode: Opcode, payload: Uint8Array): Uint8Array {
    // RFC 6455 5.5: control payloads are at most 125 bytes.
    if (payload.length > MAX_CONTROL_PAYLOAD) throw new LocalProtocolError('control frame payload over 125 bytes', 'WS_BAD_EVENT');
    return this.buildFrame(opcode, 0, true, payload);
  }

  /** Header and payload in one allocation; the payload masked straight in the output. */
  private buildFrame(opcode: Opcode, rsv: number, fin: boolean, payload: Uint8Array): Uint8Array {
    const length = payload.length;
    const headerSize = (length < 126 ? 2 : length < 65536 ? 4 : 10) + (this.client ? 4 : 0);
    // Every byte is written below, so uninitialised (pooled, in Node) memory is safe.
    const out = allocFrame(headerSize + length);
    writeHeader(out, opcode, rsv, fin, length);
    if (!this.client) {
      out.set(payload, headerSize);
    } else if (length < MASK_COPY_MAX) {
      const key = this.nextKey(out, headerSize);
      const k0 = key[0];
      const k1 = key[1];
      const k2 = key[2];
      const k3 = key[3];
      let i = 0;
      for (const whole = length & ~3; i < whole; i += 4) {
        out[headerSize + i] = payload[i] ^ k0;
        out[headerSize + i + 1] = payload[i + 1] ^ k1;
        out[headerSize + i + 2] = payload[i + 2] ^ k2;
        out[headerSize + i + 3] = payload[i + 3] ^ k3;
      }
      if (i < length) out[headerSize + i] = payload[i++] ^ k0;
      if (i < length) out[headerSize + i] = payload[i++] ^ k1;
      if (i < length) out[headerSize + i] = payload[i] ^ k2;
    } else {
      copyMasked(payload, out, headerSize, this.nextKey(out, headerSize));
    }
    return out;
  }

  /**
   * Draws a fresh mask key, sets the MASK bit and writes the key just before
   * the payload (at `headerSize - 4`); returns the key.
   */
  private nextKey(out: Uint8Array, headerSize: number): Uint8Array {
    const key = sharedKey;
    if (!this.pooledKeys) {
      this.random(key);
    } else {
      if (keyPoolPos === KEY_POOL_SIZE) {
        defaultRandom(keyPool);
        keyPoolPos = 0;
      }
      const i = keyPoolPos;
      key[0] = keyPool[i];
      key[1] = keyPool[i + 1];
      key[2] = keyPool[i + 2];
      key[3] = keyPool[i + 3];
      keyPoolPos = i + 4;
    }
    out[1] |= 0x80;
    const at = headerSize - 4;
    out[at] = key[0];
    out[at + 1] = key[1];
    out[at + 2] = key[2];
    out[at + 3] = key[3];
    return key;
  }

  /**
   * A text frame of at most 123 bytes: encoded into shared scratch, then
   * copied (and masked) into a frame of its exact size. One allocation; the
   * copy is cheaper than the views an in-place encode needs.
   */
  private encodeShortText(opcode: Opcode, fin: boolean, text: string): Uint8Array {
    const length = text.length === 0 ? 0 : textEncoder.encodeInto(text, textScratch).written;
    const headerSize = this.client ? 6 : 2;
    const out = allocFrame(headerSize + length);
    out[0] = (fin ? 0x80 : 0) | opcode;
    out[1] = length;
    if (!this.client) {
      for (let i = 0; i < length; i++) out[2 + i] = textScratch[i];
      return out;
    }
    const key = this.nextKey(out, headerSize);
    for (let i = 0; i < length; i++) out[6 + i] = textScratch[i] ^ key[i & 3];
    return out;
  }

  /**
   * A text frame in one exact-size allocation, for up to 21845 UTF-16 units
   * (at most 65535 bytes, a 16-bit length). Otherwise null: the caller
   * encodes first.
   */
  private encodeTextDirect(opcode: Opcode, fin: boolean, text: string): Uint8Array | null {
    const units = text.length;
    if (units < 42) return this.encodeShortText(opcode, fin, text);
    if (units > 21845) return null;
    // Encoded into scratch, then copied into a frame of its exact size.
    // Encoding straight into a worst-case frame (3 bytes a unit) was half as
    // fast at 1 KiB: Node's 8 KiB Buffer pool ran out every second message,
    // and the two views it needed are slow calls in Node 20. TextEncoder's
    // encode(), which allocates, took 585-1,000 ns for 42-125 units, against
    // 214-338 ns this way.
    const scratch = (wideTextScratch ??= new Uint8Array(65535));
    const { written } = textEncoder.encodeInto(text, scratch);
    const headerSize = (written < 126 ? 2 : 4) + (this.client ? 4 : 0);
    const out = allocFrame(headerSize + written);
    writeHeader(out, opcode, 0, fin, written);
    const encoded = scratch.subarray(0, written);
    if (this.client) copyMasked(encoded, out, headerSize, this.nextKey(out, headerSize));
    else out.set(encoded, headerSize);
    return out;
  }
}

/**
 * The message layer of frames (wsproto's `frame_protocol.py`): received
 * frames become message pieces, checked against the rules the decoder cannot
 * see alone (fragmentation order, RSV bits against the extensions, size
 * limits, UTF-8 of text, close payloads); payloads to send become frames,
 * through the extensions. {@link FrameDecoder} parses, {@link FrameEncoder}
 * writes.
 *
 * @module
 */
import { EMPTY_BYTES } from './bytes';
import { closeProblem, decodeClosePayload, encodeClosePayload } from './close-reason';
import { LocalProtocolError, ParseFailed } from './errors';
import type { Extension } from './extensions';
import { FrameDecoder } from './frame-decoder';
import { frameEncoder, type FrameEncoder } from './frame-encoder';
import { isControl, MAX_CONTROL_PAYLOAD, Opcode } from './opcode';
import { DEFAULT_OPTIONS, FRAGMENT_ALLOWANCE, MIN_FRAGMENT_BYTES } from './options';
import { trace, traceBytes, traceParts, tracing } from './trace';
import { Utf8Decoder } from './utf8';
import type { RandomSource } from './utilities';

const NO_EXTENSIONS: Extension[] = [];
const textEncoder = new TextEncoder();

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
  /**
   * Largest message in bytes (after extensions); fragments are also charged
   * (see {@link MIN_FRAGMENT_BYTES}). Default {@link DEFAULT_OPTIONS}.
   */
  maxMessageSize?: number;
  /** Most frames per message (deprecated: see `ConnectionOptions.maxFragments`). Default: no limit. */
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
  private readonly extensions: Extension[];
  private readonly maxMessageSize: number;
  private readonly maxFragments: number;
  /** Made when the first bytes arrive: an idle connection keeps none of its state. */
  private decoder: FrameDecoder | null = null;
  private readonly encoder: FrameEncoder;
  /** Decodes received text (see dataPiece); made at the first text message: many connections never see one. */
  private utf8: Utf8Decoder | null = null;
  private failure: ParseFailed | null = null;

  // Inbound: the current frame passed the message-level checks.
  private frameAccepted = false;
  // Inbound message in progress: its opcode (TEXT/BINARY), or CONTINUATION when none.
  private messageOpcode: Opcode = Opcode.CONTINUATION;
  private messageWireBytes = 0;
  /** The message's fragments, each charged at least MIN_FRAGMENT_BYTES. */
  private messageCharge = 0;
  private messageBytes = 0;
  private messageFrames = 0;

  // Outbound message in progress: its opcode, or CONTINUATION when none.
  private outboundOpcode: Opcode = Opcode.CONTINUATION;
  /**
   * The header of the last frame {@link sendDataParts} split off its
   * payload: a connection that streams messages of one size makes no more
   * headers. Only this connection's parts ever share it.
   */
  private lastHeader: Uint8Array | null = null;

  constructor(init: FrameProtocolInit) {
    // Most connections negotiate nothing: they share one empty list, and filter makes no array.
    const enabled = init.extensions?.length ? init.extensions.filter((e) => e.enabled()) : NO_EXTENSIONS;
    this.extensions = enabled.length > 0 ? enabled : NO_EXTENSIONS;
    this.maxMessageSize = init.maxMessageSize ?? DEFAULT_OPTIONS.maxMessageSize;
    // No limit (Infinity) is kept as 2^30, a small integer: a field holding a
    // double costs every connection a 16-byte heap number. 2^30 fragments, each
    // charged at least 128 bytes of the message size, would make 128 GiB.
    this.maxFragments = Math.min(init.maxFragments ?? DEFAULT_OPTIONS.maxFragments, 2 ** 30);
    this.encoder = frameEncoder(init.client, init.random);
  }

  /** True on the client side. */
  get client(): boolean {
    return this.encoder.client;
  }

  /**
   * Queues received bytes. Takes ownership of `data`: masked payloads are
   * unmasked in place and handed out as views of it, so do not reuse it.
   */
  receiveBytes(data: Uint8Array): void {
    (this.decoder ??= new FrameDecoder(this.encoder.client)).receiveBytes(data);
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
    if (d === null) return null;
    try {
      for (;;) {
        if (!this.frameAccepted) {
          if (!d.readHeader()) return null;
          this.acceptHeader(d);
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
        // views made the caller join them into a fresh buffer, several times
        // slower for large messages (page faults on every join).
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
  private acceptHeader(d: FrameDecoder): void {
    const opcode = d.opcode;
    if (opcode === Opcode.CONTINUATION) {
      // RFC 6455 5.4: a continuation needs a message to continue.
      if (this.messageOpcode === Opcode.CONTINUATION) throw new ParseFailed('continuation frame without a message', 1002);
    } else if (!isControl(opcode)) {
      // RFC 6455 5.4: a message's fragments may not interleave with another message.
      if (this.messageOpcode !== Opcode.CONTINUATION) throw new ParseFailed('new message before the last one finished', 1002);
      this.messageOpcode = opcode;
      this.messageWireBytes = 0;
      this.messageCharge = 0;
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
    const length = d.payloadLength;
    this.messageWireBytes += length;
    if (this.messageWireBytes > this.maxMessageSize) throw new ParseFailed('message too big', 1009);
    if (!d.fin || opcode === Opcode.CONTINUATION) {
      // A fragment costs at least MIN_FRAGMENT_BYTES, so a flood of tiny or empty ones ends too.
      this.messageCharge += length < MIN_FRAGMENT_BYTES ? MIN_FRAGMENT_BYTES : length;
      if (this.messageCharge > this.maxMessageSize + FRAGMENT_ALLOWANCE) throw new ParseFailed('too many small fragments in one message', 1009);
    }
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
   * Encodes a data frame in one array: text for a string, binary for bytes;
   * a continuation when an earlier call had `fin` false. Masked on the
   * client side. The payload is copied into the frame.
   *
   * @param fin - false to leave the message open for more sendData calls
   * @throws LocalProtocolError(WS_BAD_EVENT) when continuing a message with the other data type
   */
  sendData(payload: string | Uint8Array, fin = true): Uint8Array {
    const bytes = this.encodeData(payload, fin, false)[0];
    if (tracing) trace('wsproto', 'FrameProtocol.sendData', traceBytes(bytes), { bytes });
    return bytes;
  }

  /**
   * Like {@link sendData}, as parts for a gathered write: on the server side
   * a binary payload (or text, once encoded) comes back beside its header,
   * not copied (see {@link FrameEncoder.parts}). Writing the parts in order
   * is the same as writing `sendData`'s bytes. Parts are read-only: the
   * payload is the caller's, and the header may be handed out again for the
   * connection's next frame of the same kind and length.
   */
  sendDataParts(payload: string | Uint8Array, fin = true): Uint8Array[] {
    const parts = this.encodeData(payload, fin, true);
    if (tracing) trace('wsproto', 'FrameProtocol.sendDataParts', parts.map(traceBytes).join(' + '), traceParts(parts));
    return parts;
  }

  /** One data frame: in one part, or as {@link FrameEncoder.parts} when `gathered`. */
  private encodeData(payload: string | Uint8Array, fin: boolean, gathered: boolean): Uint8Array[] {
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
        // Short text is encoded straight into its frame: one copy either way.
        const direct = this.encoder.text(opcode, fin, payload);
        if (direct !== null) return [direct];
        data = textEncoder.encode(payload);
      } else {
        data = payload;
      }
    } else {
      data = isText ? textEncoder.encode(payload) : payload;
      for (const ext of this.extensions) [rsv, data] = ext.frameOutbound(opcode, rsv, data, fin);
    }
    if (!gathered) return [this.encoder.frame(opcode, rsv, fin, data)];
    const parts = this.encoder.parts(opcode, rsv, fin, data, this.lastHeader);
    if (parts.length === 2) this.lastHeader = parts[0];
    return parts;
  }

  /**
   * Encodes a ping.
   *
   * @throws LocalProtocolError(WS_BAD_EVENT) for a payload over 125 bytes
   */
  ping(payload: Uint8Array = EMPTY_BYTES): Uint8Array {
    const bytes = this.control(Opcode.PING, payload);
    if (tracing) trace('wsproto', 'FrameProtocol.ping', traceBytes(bytes), { bytes });
    return bytes;
  }

  /**
   * Encodes a pong.
   *
   * @throws LocalProtocolError(WS_BAD_EVENT) for a payload over 125 bytes
   */
  pong(payload: Uint8Array = EMPTY_BYTES): Uint8Array {
    const bytes = this.control(Opcode.PONG, payload);
    if (tracing) trace('wsproto', 'FrameProtocol.pong', traceBytes(bytes), { bytes });
    return bytes;
  }

  /**
   * Encodes a close frame. No code (or 1005) sends an empty payload.
   *
   * @throws LocalProtocolError(WS_BAD_EVENT) for a code that may not be sent,
   *   a reason over 123 bytes, or a reason without a code
   */
  close(code?: number, reason = ''): Uint8Array {
    const problem = closeProblem(code, reason);
    if (problem !== null) throw new LocalProtocolError(problem, 'WS_BAD_EVENT');
    // 1005 (NO_STATUS_RCVD) means: no code on the wire.
    const payload = code === undefined || code === 1005 ? EMPTY_BYTES : encodeClosePayload(code, reason);
    const bytes = this.encoder.frame(Opcode.CLOSE, 0, true, payload);
    if (tracing) trace('wsproto', 'FrameProtocol.close', traceBytes(bytes), { bytes });
    return bytes;
  }

  private control(opcode: Opcode, payload: Uint8Array): Uint8Array {
    // RFC 6455 5.5: control payloads are at most 125 bytes.
    if (payload.length > MAX_CONTROL_PAYLOAD) throw new LocalProtocolError('control frame payload over 125 bytes', 'WS_BAD_EVENT');
    return this.encoder.frame(opcode, 0, true, payload);
  }
}

/**
 * permessage-deflate (RFC 7692): its four parameters negotiated both ways,
 * outgoing messages compressed, incoming ones inflated within the message
 * size limit.
 *
 * @module
 */
import { Compressor, Decompressor, InflateLimitExceeded, SYNC_TAIL } from './compressor';
import { EMPTY_BYTES } from './bytes';
import { LocalProtocolError, ParseFailed } from './errors';
import type { Extension } from './extensions';
import { Opcode, RSV1 } from './opcode';

/** Parameters of {@link PerMessageDeflate} (RFC 7692 section 7.1). */
export interface PerMessageDeflateInit {
  /** Ask (server) or promise (client) that the client resets its window per message. Default false. */
  clientNoContextTakeover?: boolean;
  /**
   * The client's compression window, 9–15. Server: the most it lets the
   * client use (answered only when the client offered the parameter). Client:
   * offered as the window it will use; unset, the client offers the
   * parameter without a value (as browsers do), so a server may choose.
   */
  clientMaxWindowBits?: number;
  /** Ask (client) or promise (server) that the server resets its window per message. Default false. */
  serverNoContextTakeover?: boolean;
  /** The server's compression window, 9–15. Client: asked of the server. Server: the most it will use. */
  serverMaxWindowBits?: number;
  /** Messages shorter than this many bytes are sent uncompressed (RFC 7692 lets each message choose). Default 1024, as `ws`. */
  threshold?: number;
  /** DEFLATE level, 0–9. Default 6 (zlib's default). */
  level?: number;
}

/** How a connection compresses what it sends (see {@link PerMessageDeflate.outboundEncoding}). */
export interface OutboundEncoding {
  /** The window we compress with, 9–15. */
  readonly windowBits: number;
  /** DEFLATE level, 0–9. */
  readonly level: number;
  /** Messages shorter than this many bytes go out uncompressed. */
  readonly threshold: number;
}

type Params = Map<string, string | true>;

const PARAM_NAMES = new Set([
  'client_no_context_takeover',
  'client_max_window_bits',
  'server_no_context_takeover',
  'server_max_window_bits',
]);

/**
 * Parses `a; b=1; c="2"` into a map. Returns null on an unknown or repeated
 * parameter or a malformed value (RFC 7692 7.1: such an offer is declined,
 * such a response fails the connection).
 */
function parseParams(text: string): Params | null {
  const params: Params = new Map();
  for (const raw of text.split(';')) {
    const part = raw.trim();
    if (part === '') continue;
    const eq = part.indexOf('=');
    const name = (eq < 0 ? part : part.slice(0, eq)).trim().toLowerCase();
    let value: string | true = true;
    if (eq >= 0) {
      value = part.slice(eq + 1).trim();
      if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    }
    if (!PARAM_NAMES.has(name) || params.has(name)) return null;
    params.set(name, value);
  }
  // The no_context_takeover flags take no value; window bits take 8–15, and
  // only client_max_window_bits may be bare (in an offer).
  for (const [name, value] of params) {
    if (name.endsWith('no_context_takeover')) {
      if (value !== true) return null;
    } else if (value === true ? name === 'server_max_window_bits' : windowBits(value) === null) {
      return null;
    }
  }
  return params;
}

function windowBits(value: string): number | null {
  if (!/^[0-9]{1,2}$/.test(value)) return null;
  const bits = Number(value);
  return bits >= 8 && bits <= 15 ? bits : null;
}

function checkBits(name: string, bits: number | undefined): void {
  // 8 is legal on the wire, but zlib's raw deflate cannot compress within a 256-byte window.
  if (bits !== undefined && !(Number.isInteger(bits) && bits >= 9 && bits <= 15)) {
    throw new LocalProtocolError(`${name} must be an integer from 9 to 15, got ${bits}`, 'WS_BAD_OPTION');
  }
}

/**
 * The permessage-deflate extension (RFC 7692): negotiates its four
 * parameters, compresses outgoing messages (RSV1 on a message's first frame)
 * and inflates incoming ones, with the message-size limit applied to the
 * inflated size. Pass a fresh instance per connection.
 */
export class PerMessageDeflate implements Extension {
  readonly name = 'permessage-deflate';
  private readonly init: PerMessageDeflateInit & { threshold: number; level: number };
  private on = false;
  /** We reset our compression window after each message. */
  private localNoContextTakeover = false;
  /** The peer resets its window after each message, so our inflater may too. */
  private remoteNoContextTakeover = false;
  /** The window we compress with. */
  private localWindowBits = 15;
  private compressor: Compressor | null = null;
  private decompressor: Decompressor | null = null;
  /** The message being received is compressed (RSV1 on its first frame). */
  private inboundCompressed = false;
  /**
   * Compressed bytes of the message being received, gathered into one
   * buffer (a fragment costs its bytes, not an entry of its own); inflated
   * at the message's end, then let go.
   */
  private inbound: Uint8Array = EMPTY_BYTES;
  private inboundLength = 0;
  /** The message being sent is compressed; null between messages. */
  private outboundCompressed: boolean | null = null;

  constructor(init: PerMessageDeflateInit = {}) {
    checkBits('clientMaxWindowBits', init.clientMaxWindowBits);
    checkBits('serverMaxWindowBits', init.serverMaxWindowBits);
    const level = init.level ?? 6;
    if (!(Number.isInteger(level) && level >= 0 && level <= 9)) {
      throw new LocalProtocolError(`level must be an integer from 0 to 9, got ${level}`, 'WS_BAD_OPTION');
    }
    this.init = { ...init, threshold: init.threshold ?? 1024, level };
  }

  /** True once negotiated. */
  enabled(): boolean {
    return this.on;
  }

  /** Client: the parameters to offer. */
  offer(): string | true {
    const parts: string[] = [];
    if (this.init.clientNoContextTakeover) parts.push('client_no_context_takeover');
    if (this.init.serverNoContextTakeover) parts.push('server_no_context_takeover');
    if (this.init.serverMaxWindowBits !== undefined) parts.push(`server_max_window_bits=${this.init.serverMaxWindowBits}`);
    // RFC 7692 7.1.2.2: offered bare, the server may pick our window; with a value, it may only lower it.
    const clientBits = this.init.clientMaxWindowBits;
    parts.push(clientBits === undefined ? 'client_max_window_bits' : `client_max_window_bits=${clientBits}`);
    return parts.join('; ');
  }

  /** Server: accept one offer's parameters, or decline it with null. */
  accept(offer: string): string | true | null {
    const params = parseParams(offer);
    if (params === null) return null;
    const parts: string[] = [];

    // RFC 7692 7.1.2.1: we must compress within the window the client asks for.
    const asked = params.get('server_max_window_bits');
    let serverBits = this.init.serverMaxWindowBits;
    if (typeof asked === 'string') {
      const bits = Number(asked);
      if (bits < 9) return null; // zlib cannot compress within 256 bytes: decline this offer
      serverBits = Math.min(serverBits ?? 15, bits);
    }
    const local = params.has('server_no_context_takeover') || this.init.serverNoContextTakeover === true;
    const remote = params.has('client_no_context_takeover') || this.init.clientNoContextTakeover === true;
    if (local) parts.push('server_no_context_takeover');
    if (remote) parts.push('client_no_context_takeover');
    if (serverBits !== undefined) parts.push(`server_max_window_bits=${serverBits}`);
    // RFC 7692 7.1.2.2: client_max_window_bits may be answered only if offered.
    const clientBits = params.get('client_max_window_bits');
    if (clientBits !== undefined && this.init.clientMaxWindowBits !== undefined) {
      const offered = clientBits === true ? 15 : Number(clientBits);
      parts.push(`client_max_window_bits=${Math.min(offered, this.init.clientMaxWindowBits)}`);
    }
    this.enable(local, remote, serverBits ?? 15);
    return parts.length > 0 ? parts.join('; ') : true;
  }

  /** Client: check the server's response against our offer, then enable. */
  finalize(response: string): void {
    const params = parseParams(response);
    if (params === null) throw new LocalProtocolError(`invalid permessage-deflate response: ${response}`, 'WS_BAD_OPTION');
    const clientBits = params.get('client_max_window_bits');
    let localBits = this.init.clientMaxWindowBits ?? 15;
    if (clientBits !== undefined) {
      // RFC 7692 7.1.2.2: we always offer it; the answer must carry a value.
      if (clientBits === true) throw new LocalProtocolError('server sent client_max_window_bits without a value', 'WS_BAD_OPTION');
      localBits = Math.min(localBits, Number(clientBits));
      if (localBits < 9) throw new LocalProtocolError('client_max_window_bits=8 cannot be honoured by zlib', 'WS_BAD_OPTION');
    }
    // RFC 7692 7.1.1.1 / 7.1.2.1: what we asked of the server must be in its answer.
    if (this.init.serverNoContextTakeover && !params.has('server_no_context_takeover')) {
      throw new LocalProtocolError('server ignored server_no_context_takeover', 'WS_BAD_OPTION');
    }
    const serverBits = params.get('server_max_window_bits');
    if (this.init.serverMaxWindowBits !== undefined) {
      if (typeof serverBits !== 'string' || Number(serverBits) > this.init.serverMaxWindowBits) {
        throw new LocalProtocolError('server ignored server_max_window_bits', 'WS_BAD_OPTION');
      }
    }
    const local = this.init.clientNoContextTakeover === true || params.has('client_no_context_takeover');
    this.enable(local, params.has('server_no_context_takeover'), localBits);
  }

  private enable(localNoContextTakeover: boolean, remoteNoContextTakeover: boolean, localWindowBits: number): void {
    this.localNoContextTakeover = localNoContextTakeover;
    this.remoteNoContextTakeover = remoteNoContextTakeover;
    this.localWindowBits = localWindowBits;
    this.compressor = new Compressor(this.localWindowBits, this.init.level);
    this.decompressor = new Decompressor();
    this.on = true;
  }

  /**
   * How this side compresses outgoing messages, once negotiated (else null):
   * what a message framed once for many connections must match
   * (see `PreparedMessage`).
   */
  outboundEncoding(): OutboundEncoding | null {
    if (!this.on) return null;
    return { windowBits: this.localWindowBits, level: this.init.level, threshold: this.init.threshold };
  }

  /**
   * A whole message compressed elsewhere (with an empty window) went out on
   * this connection: the peer's inflater now holds its plaintext, so with
   * context takeover our window must too, or our next message would refer
   * to bytes the peer does not have where we think it does.
   *
   * @throws LocalProtocolError WS_BAD_STATE in the middle of an outgoing message
   */
  notePrecompressed(plaintext: Uint8Array): void {
    if (this.outboundCompressed !== null) throw new LocalProtocolError('a message is being sent: cannot interleave another', 'WS_BAD_STATE');
    if (!this.localNoContextTakeover) this.compressor!.remember(plaintext);
  }

  /** Claims RSV1 on the first frame of a compressed message; never on continuations or control frames (RFC 7692 6). */
  frameInboundHeader(opcode: Opcode, rsv: number, _payloadLength: number): number {
    if (opcode === Opcode.TEXT || opcode === Opcode.BINARY) {
      this.inboundCompressed = (rsv & RSV1) !== 0;
      return this.inboundCompressed ? RSV1 : 0;
    }
    return 0;
  }

  /**
   * Holds a compressed message's bytes until its end (their size is already
   * bounded by the frame layer's wire-size check); passes others through.
   */
  frameInboundPayloadData(data: Uint8Array, _limit: number): Uint8Array {
    if (!this.inboundCompressed) return data;
    // A copy: the frame layer may reuse or unmask its buffers in place.
    if (data.length > 0) this.append(data);
    return EMPTY_BYTES;
  }

  /** At the message end, appends the sync tail (RFC 7692 7.2.2) and inflates, bounded by `limit`. */
  frameInboundComplete(fin: boolean, limit: number): Uint8Array | null {
    if (!this.inboundCompressed || !fin) return null;
    this.append(SYNC_TAIL);
    const compressed = this.inbound.subarray(0, this.inboundLength);
    this.inbound = EMPTY_BYTES;
    this.inboundLength = 0;
    this.inboundCompressed = false;
    let out: Uint8Array;
    try {
      out = this.decompressor!.decompress(compressed, limit);
    } catch (err) {
      if (err instanceof InflateLimitExceeded) throw new ParseFailed(err.message, 1009);
      // RFC 7692 8 fails the connection on data that will not inflate; 1007 as ws does.
      throw new ParseFailed(`invalid compressed data: ${(err as Error).message}`, 1007);
    }
    if (this.remoteNoContextTakeover) this.decompressor!.reset();
    return out.length > 0 ? out : null;
  }

  /**
   * Adds received bytes to {@link inbound}. It grows by doubling, sized from
   * bytes that arrived (never from a header's announced length), with room
   * for the sync tail: a message in one piece costs one buffer and one copy.
   */
  private append(data: Uint8Array): void {
    const needed = this.inboundLength + data.length;
    if (needed > this.inbound.length) {
      const grown = new Uint8Array(Math.max(needed + SYNC_TAIL.length, this.inbound.length * 2));
      grown.set(this.inbound.subarray(0, this.inboundLength));
      this.inbound = grown;
    }
    this.inbound.set(data, this.inboundLength);
    this.inboundLength += data.length;
  }

  /** Compresses data frames; the first frame of a compressed message carries RSV1. */
  frameOutbound(opcode: Opcode, rsv: number, data: Uint8Array, fin: boolean): [rsv: number, data: Uint8Array] {
    if (opcode !== Opcode.TEXT && opcode !== Opcode.BINARY && opcode !== Opcode.CONTINUATION) return [rsv, data];
    const first = opcode !== Opcode.CONTINUATION;
    if (first) this.outboundCompressed = !(fin && data.length < this.init.threshold);
    if (!this.outboundCompressed) {
      if (fin) this.outboundCompressed = null;
      return [rsv, data];
    }
    let out: Uint8Array;
    if (first && fin && data.length === 0) {
      // RFC 7692 7.2.3.6: an empty message is a single 0x00 byte.
      out = new Uint8Array(1);
    } else {
      out = this.compressor!.compressFlush(data);
      // RFC 7692 7.2.1: drop the sync tail at the message end only.
      if (fin) out = out.subarray(0, out.length - SYNC_TAIL.length);
    }
    if (fin) {
      this.outboundCompressed = null;
      if (this.localNoContextTakeover) this.compressor!.reset();
    }
    return [first ? rsv | RSV1 : rsv, out];
  }
}


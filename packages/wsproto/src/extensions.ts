/**
 * WebSocket extensions (RFC 6455 section 9) and permessage-deflate (RFC 7692).
 *
 * @module
 */
import type { Opcode } from './frame-protocol';

/**
 * An extension, as the handshake negotiates it and the frame layer drives it.
 * Mirrors wsproto's `Extension`. Inbound hooks throw `ParseFailed` (from
 * `errors.ts`) with a close code when the peer breaks the extension's rules.
 */
export interface Extension {
  /** The token in `Sec-WebSocket-Extensions`, e.g. `permessage-deflate`. */
  readonly name: string;
  /** True once negotiation succeeded; only enabled extensions see frames. */
  enabled(): boolean;
  /** Client: the parameters to offer, e.g. `client_max_window_bits`; `true` for none. */
  offer(): string | true;
  /**
   * Server: given one offer's parameter string (everything after the name and
   * its `;`, may be empty), return the parameters to answer with (`true` for
   * none), or `null` to decline this offer. Accepting enables the extension.
   */
  accept(offer: string): string | true | null;
  /** Client: configure from the server's response parameters; enables the extension. Throws on parameters the offer did not allow. */
  finalize(response: string): void;
  /**
   * A data or control frame's header arrived. Return the RSV bits (mask of
   * RSV1/RSV2/RSV3) this extension claims for the frame; unclaimed set bits
   * fail the frame with 1002.
   */
  frameInboundHeader(opcode: Opcode, rsv: number, payloadLength: number): number;
  /**
   * Unmasked payload bytes of the current data frame. Return the bytes to hand
   * on (possibly transformed). `limit` is how many more output bytes the
   * message may grow by; going past it must throw `ParseFailed(…, 1009)`
   * before producing them (a zip bomb stops here).
   */
  frameInboundPayloadData(data: Uint8Array, limit: number): Uint8Array;
  /**
   * The current data frame ended (`fin` says whether the message did too).
   * Return trailing bytes to hand on, or `null`. Same `limit` rule as above.
   */
  frameInboundComplete(fin: boolean, limit: number): Uint8Array | null;
  /**
   * An outbound data frame. Return the RSV bits to set and the payload to send
   * in place of `data`.
   */
  frameOutbound(opcode: Opcode, rsv: number, data: Uint8Array, fin: boolean): [rsv: number, data: Uint8Array];
}

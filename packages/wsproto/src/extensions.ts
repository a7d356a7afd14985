/**
 * WebSocket extensions (RFC 6455 section 9): the interface an extension
 * implements, and the negotiation of `Sec-WebSocket-Extensions` both ways.
 * permessage-deflate (RFC 7692) is the one extension built in
 * (permessage-deflate.ts).
 *
 * @module
 */
import type { Headers } from './headers';
import type { Opcode } from './opcode';
import { headerValues } from './headers';

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

/** What {@link negotiateExtensions} settled on. */
export interface Negotiated {
  /** The extensions that accepted an offer, in response order (which is their processing order). */
  readonly accepted: readonly Extension[];
  /** The `Sec-WebSocket-Extensions` response value; '' for none. */
  readonly header: string;
}

/** No offer, or nothing to offer it to: shared, as most handshakes end here. */
const NOTHING_NEGOTIATED: Negotiated = Object.freeze({ accepted: Object.freeze([]), header: '' });

/**
 * Server side of RFC 6455 9.1: walk the client's offers in its order; for each
 * supported extension, the first offer it accepts wins.
 */
export function negotiateExtensions(offers: readonly string[], supported: readonly Extension[]): Negotiated {
  if (offers.length === 0 || supported.length === 0) return NOTHING_NEGOTIATED;
  const accepted: Extension[] = [];
  const answers: string[] = [];
  for (const offer of offers) {
    const [name, params] = splitOffer(offer);
    const ext = supported.find((e) => e.name === name);
    if (ext === undefined || accepted.includes(ext)) continue;
    const answer = ext.accept(params);
    if (answer === null) continue;
    accepted.push(ext);
    answers.push(answer === true || answer === '' ? ext.name : `${ext.name}; ${answer}`);
  }
  return { accepted, header: answers.join(', ') };
}

/** Client side: the `Sec-WebSocket-Extensions` value that offers `extensions`, in order. */
export function offerExtensions(extensions: readonly Extension[]): string {
  return extensions
    .map((ext) => {
      const params = ext.offer();
      return params === true || params === '' ? ext.name : `${ext.name}; ${params}`;
    })
    .join(', ');
}

/**
 * Client side of RFC 6455 9.1: the extensions the server's response accepted,
 * each finalized with its parameters, in response order.
 *
 * @throws Error saying what is wrong with the response: an extension not
 *   offered, one accepted twice, or parameters the extension refuses (the
 *   extension's error is the `cause`)
 */
export function acceptedExtensions(headers: Headers, offered: readonly Extension[]): Extension[] {
  const accepted: Extension[] = [];
  for (const item of headerValues(headers, 'sec-websocket-extensions').flatMap(splitExtensionList)) {
    const [name, params] = splitOffer(item);
    const ext = offered.find((e) => e.name === name);
    if (ext === undefined) throw new Error(`the server accepted extension ${JSON.stringify(name)}, which was not offered`);
    if (accepted.includes(ext)) throw new Error(`the server accepted extension ${JSON.stringify(name)} twice`);
    try {
      ext.finalize(params);
    } catch (error) {
      throw new Error(`the server's ${name} parameters are not acceptable: ${(error as Error).message}`, { cause: error });
    }
    accepted.push(ext);
  }
  return accepted;
}

/** `name; a=1; b` → [`name`, `a=1; b`]. */
function splitOffer(offer: string): [name: string, params: string] {
  const semi = offer.indexOf(';');
  return semi < 0 ? [offer.trim(), ''] : [offer.slice(0, semi).trim(), offer.slice(semi + 1).trim()];
}

/** Splits an extension list on commas outside quoted strings (RFC 6455 9.1 allows quoted parameter values). */
export function splitExtensionList(value: string): string[] {
  const out: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (quoted && c === '\\') i++;
    else if (c === '"') quoted = !quoted;
    else if (c === ',' && !quoted) {
      out.push(value.slice(start, i));
      start = i + 1;
    }
  }
  out.push(value.slice(start));
  return out.map((s) => s.trim()).filter((s) => s !== '');
}

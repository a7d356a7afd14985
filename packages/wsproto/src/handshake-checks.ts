/**
 * The rules of the opening handshake (RFC 6455 section 4), apart from the
 * state machine that applies them: what a server checks in a request
 * (4.2.1), what a client sends (4.1) and checks in the 101 (4.1, 4.2.2).
 * Each check returns what it found or throws why not.
 *
 * @module
 */
import { LocalProtocolError, RemoteProtocolError, type RemoteProtocolErrorCode } from './errors';
import { Request, RejectConnection, type Headers } from './events';
import { acceptedExtensions, offerExtensions, splitExtensionList, type Extension } from './extensions';
import { hasToken, headersHaveToken, headerValues, splitCommaHeader } from './headers';
import { TARGET, TOKEN } from './http-head';

/** The only WebSocket version (RFC 6455 4.1). */
export const WEBSOCKET_VERSION = '13';

/** base64 of exactly 16 bytes: 22 characters and `==`. */
const NONCE = /^[A-Za-z0-9+/]{22}==$/;

/** Shared by requests that offer no subprotocol or extension. */
const NO_STRINGS: readonly string[] = Object.freeze([]);

/** A refusal with `status` (and `headers`), as an error's eventHint. */
export function refuse(
  message: string,
  statusCode: number,
  headers: Headers = [],
  code: RemoteProtocolErrorCode = 'WS_BAD_HANDSHAKE',
): RemoteProtocolError {
  return new RemoteProtocolError(message, { code, eventHint: new RejectConnection({ statusCode, headers }) });
}

/** A request that passed {@link checkRequest}: the event to hand out and the key the 101 must answer. */
export interface CheckedRequest {
  readonly request: Request;
  readonly key: string;
}

/**
 * RFC 6455 4.2.1, in its order, in one pass over the headers (no arrays made
 * for the ones that must appear once).
 *
 * @param headers - normalized (names lower-case, values trimmed)
 * @throws RemoteProtocolError whose eventHint is the refusal to send (405,
 *   400, or 426 with `Sec-WebSocket-Version: 13`)
 */
export function checkRequest(method: string, major: number, minor: number, target: string, headers: Headers): CheckedRequest {
  if (method !== 'GET') throw refuse(`the handshake must be a GET, not ${method}`, 405, [['Allow', 'GET']]);
  if (major < 1 || (major === 1 && minor < 1)) throw refuse(`the handshake needs HTTP/1.1, not ${major}.${minor}`, 400);
  let host = '';
  let hosts = 0;
  let upgrade = false;
  let connection = false;
  let body = false;
  let key = '';
  let keys = 0;
  let version = '';
  let versions = 0;
  let subprotocols: string[] | null = null;
  let extensionOffers: string[] | null = null;
  for (let i = 0; i < headers.length; i++) {
    const value = headers[i][1];
    switch (headers[i][0]) {
      case 'host':
        host = value;
        hosts++;
        break;
      case 'upgrade':
        upgrade ||= hasToken(value, 'websocket');
        break;
      case 'connection':
        connection ||= hasToken(value, 'upgrade');
        break;
      case 'transfer-encoding':
        body = true;
        break;
      case 'content-length':
        body ||= value !== '0';
        break;
      case 'sec-websocket-key':
        key = value;
        keys++;
        break;
      case 'sec-websocket-version':
        version = value;
        versions++;
        break;
      case 'sec-websocket-protocol':
        subprotocols = subprotocols === null ? splitCommaHeader(value) : subprotocols.concat(splitCommaHeader(value));
        break;
      case 'sec-websocket-extensions':
        extensionOffers = extensionOffers === null ? splitExtensionList(value) : extensionOffers.concat(splitExtensionList(value));
        break;
    }
  }
  if (hosts !== 1) throw refuse(hosts === 0 ? 'the Host header is missing' : 'more than one Host header', 400);
  if (!upgrade) throw refuse('the Upgrade header lacks "websocket"', 400);
  if (!connection) throw refuse('the Connection header lacks "upgrade"', 400);
  // A body would be read as frames by one side and as HTTP by the other.
  if (body) throw refuse('the handshake request must not have a body', 400);
  if (keys !== 1) throw refuse(keys === 0 ? 'Sec-WebSocket-Key is missing' : 'more than one Sec-WebSocket-Key', 400);
  if (!NONCE.test(key)) throw refuse('Sec-WebSocket-Key is not the base64 of 16 bytes', 400);
  if (versions !== 1 || version !== WEBSOCKET_VERSION) {
    throw refuse('Sec-WebSocket-Version must be 13', 426, [['Sec-WebSocket-Version', WEBSOCKET_VERSION]]);
  }
  const request = new Request({
    host,
    target,
    subprotocols: subprotocols ?? NO_STRINGS,
    extensions: extensionOffers ?? NO_STRINGS,
    extraHeaders: headers,
  });
  return { request, key };
}

/**
 * Checks what a client put in its {@link Request} event and returns the
 * extensions it offers.
 *
 * @throws LocalProtocolError(WS_BAD_EVENT) for extensions given as strings,
 *   a subprotocol that is not a token, or a target with spaces or controls
 */
export function checkRequestEvent(event: Request): Extension[] {
  const extensions: Extension[] = [];
  for (const ext of event.extensions) {
    if (typeof ext === 'string') {
      throw new LocalProtocolError('a client offers extensions as Extension objects, not strings', 'WS_BAD_EVENT');
    }
    extensions.push(ext);
  }
  for (const protocol of event.subprotocols) {
    if (typeof protocol !== 'string' || !TOKEN.test(protocol)) {
      throw new LocalProtocolError(`subprotocol ${JSON.stringify(protocol)} is not an HTTP token`, 'WS_BAD_EVENT');
    }
  }
  if (typeof event.target !== 'string' || !TARGET.test(event.target)) {
    throw new LocalProtocolError(`request target ${JSON.stringify(event.target)} is not valid`, 'WS_BAD_EVENT');
  }
  return extensions;
}

/**
 * The headers of a client's request (RFC 6455 4.1): the handshake's own,
 * then the offers, then the caller's extra headers.
 */
export function requestHeaders(event: Request, key: string, extensions: readonly Extension[]): Headers {
  const headers: Headers = [
    ['Host', event.host],
    ['Upgrade', 'websocket'],
    ['Connection', 'Upgrade'],
    ['Sec-WebSocket-Key', key],
    ['Sec-WebSocket-Version', WEBSOCKET_VERSION],
  ];
  if (event.subprotocols.length > 0) headers.push(['Sec-WebSocket-Protocol', event.subprotocols.join(', ')]);
  if (extensions.length > 0) headers.push(['Sec-WebSocket-Extensions', offerExtensions(extensions)]);
  headers.push(...event.extraHeaders);
  return headers;
}

/** What a client's request offered, to check the 101 against. */
export interface SentRequest {
  readonly acceptToken: string;
  readonly subprotocols: readonly string[];
  readonly extensions: readonly Extension[];
}

/** What the server's acceptance settled: the subprotocol and the extensions, finalized. */
export interface CheckedResponse {
  readonly subprotocol: string | null;
  readonly extensions: Extension[];
}

/**
 * RFC 6455 4.1's checks of a 101 response against the request sent.
 *
 * @param headers - the response's headers, normalized
 * @throws RemoteProtocolError(WS_BAD_HANDSHAKE) saying what is wrong
 */
export function checkResponse(headers: Headers, sent: SentRequest): CheckedResponse {
  const upgrade = headerValues(headers, 'upgrade').flatMap(splitCommaHeader);
  if (upgrade.length !== 1 || upgrade[0].toLowerCase() !== 'websocket') throw badResponse('the 101 response lacks "Upgrade: websocket"');
  if (!headersHaveToken(headers, 'connection', 'upgrade')) throw badResponse('the 101 response lacks "Connection: Upgrade"');
  const accept = headerValues(headers, 'sec-websocket-accept');
  if (accept.length !== 1 || accept[0] !== sent.acceptToken) throw badResponse('the Sec-WebSocket-Accept token is wrong');
  return checkAgreement(headers, sent.subprotocols, sent.extensions);
}

/**
 * What a server's acceptance settled, checked against what was offered: at
 * most one subprotocol, one of ours; extensions we offered, each finalized.
 * Shared by the 101 of RFC 6455 and the 2xx of RFC 8441.
 *
 * @param headers - the response's headers, normalized
 * @throws RemoteProtocolError(WS_BAD_HANDSHAKE) saying what is wrong
 */
export function checkAgreement(
  headers: Headers,
  subprotocols: readonly string[],
  offered: readonly Extension[],
): CheckedResponse {
  const protocols = headerValues(headers, 'sec-websocket-protocol').flatMap(splitCommaHeader);
  if (protocols.length > 1) throw badResponse('the server chose more than one subprotocol');
  const subprotocol = protocols.length === 1 ? protocols[0] : null;
  if (subprotocol !== null && !subprotocols.includes(subprotocol)) {
    throw badResponse(`the server chose subprotocol ${JSON.stringify(subprotocol)}, which was not offered`);
  }
  let extensions: Extension[];
  try {
    extensions = acceptedExtensions(headers, offered);
  } catch (error) {
    throw badResponse((error as Error).message, (error as Error).cause);
  }
  return { subprotocol, extensions };
}

/** A bad response: a RemoteProtocolError(WS_BAD_HANDSHAKE), with the extension's error as `cause` when there is one. */
function badResponse(message: string, cause?: unknown): RemoteProtocolError {
  const error = new RemoteProtocolError(message, { code: 'WS_BAD_HANDSHAKE' });
  return cause === undefined ? error : Object.assign(error, { cause });
}

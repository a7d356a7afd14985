/**
 * The rules of the WebSocket handshake over HTTP/2 (RFC 8441, extended
 * CONNECT; HTTP/3 reuses them, RFC 9220), apart from the state machine that
 * applies them: what a server checks in a request, what a client sends, and
 * the header lists of the answers. The HTTP/2 layer (node:http2 and its
 * nghttp2) frames and compresses the fields; here they are `[name, value]`
 * lists, pseudo-header fields (`:method`, `:path`...) included.
 *
 * What RFC 8441 keeps of RFC 6455's handshake: `sec-websocket-version`,
 * `-protocol` and `-extensions`. What it drops: `Upgrade`, `Connection`,
 * `Host` (`:authority` says it), `Sec-WebSocket-Key` and `-Accept` (the
 * `:protocol` field proves the client meant a WebSocket).
 *
 * @module
 */
import { LocalProtocolError, RemoteProtocolError } from './errors';
import { Request } from './events';
import { offerExtensions, splitExtensionList, type Extension } from './extensions';
import { checkRequestEvent, refuse, WEBSOCKET_VERSION } from './handshake-checks';
import { splitCommaHeader, type Headers } from './headers';
import { checkHeaders, checkHeaderValue } from './http-head';

/** The `:protocol` of a WebSocket (the Upgrade token of RFC 6455). */
export const CONNECT_PROTOCOL = 'websocket';

/** A path in origin form: a slash, then visible characters. */
const ORIGIN_FORM = /^\/[\x21-\x7e\x80-\xff]*$/;

/** Shared by requests that offer no subprotocol or extension. */
const NO_STRINGS: readonly string[] = Object.freeze([]);

/** Limits on a request's header list (the core's `maxHeaderBytes`, `maxHeaderCount`). */
export interface HeaderLimits {
  readonly maxHeaderBytes: number;
  readonly maxHeaderCount: number;
}

/**
 * A server's checks of an extended CONNECT (RFC 8441 sections 4 and 5, RFC
 * 9113 8.3.1 and 8.2.2), in one pass over the fields, and the Request event
 * they make. The event's `host` is `:authority`, its `target` is `:path`,
 * and its `extraHeaders` are every field as received, pseudo-headers too.
 *
 * @param headers - normalized (names lower-case, values trimmed), in arrival order
 * @throws RemoteProtocolError whose eventHint is the refusal to send: 431
 *   for a list over the limits; 405 (`allow: CONNECT`) for another method;
 *   400 for a malformed request, a CONNECT without `:protocol: websocket`
 *   or a version other than 13 (with `sec-websocket-version: 13`; not RFC
 *   6455's 426, which needs an `Upgrade` field that HTTP/2 forbids)
 */
export function checkConnectRequest(headers: Headers, limits: HeaderLimits): Request {
  checkLimits(headers, limits);
  let method: string | null = null;
  let protocol: string | null = null;
  let scheme: string | null = null;
  let path: string | null = null;
  let authority: string | null = null;
  let host: string | null = null;
  let hosts = 0;
  let regular = false;
  let body = false;
  let version = '';
  let versions = 0;
  let subprotocols: string[] | null = null;
  let extensionOffers: string[] | null = null;
  for (let i = 0; i < headers.length; i++) {
    const name = headers[i][0];
    const value = headers[i][1];
    if (name.charCodeAt(0) === 0x3a /* ':' */) {
      // RFC 9113 8.3: pseudo-headers come first, once each, and only these.
      if (regular) throw refuse(`pseudo-header ${name} follows a regular field`, 400);
      const first = (seen: string | null): string => {
        if (seen !== null) throw refuse(`more than one ${name}`, 400);
        return value;
      };
      switch (name) {
        case ':method':
          method = first(method);
          break;
        case ':protocol':
          protocol = first(protocol);
          break;
        case ':scheme':
          scheme = first(scheme);
          break;
        case ':path':
          path = first(path);
          break;
        case ':authority':
          authority = first(authority);
          break;
        default:
          throw refuse(`${name} is not a request pseudo-header`, 400);
      }
      continue;
    }
    regular = true;
    switch (name) {
      case 'host':
        host = value;
        hosts++;
        break;
      case 'connection':
      case 'upgrade':
      case 'keep-alive':
      case 'proxy-connection':
      case 'transfer-encoding':
        throw refuse(`${name} is an HTTP/1.1 connection field, which HTTP/2 forbids (RFC 9113 8.2.2)`, 400);
      case 'te':
        if (value.toLowerCase() !== 'trailers') throw refuse('te may only be "trailers" in HTTP/2 (RFC 9113 8.2.2)', 400);
        break;
      case 'content-length':
        body ||= value !== '0';
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
  if (method === null) throw refuse('the :method pseudo-header is missing', 400);
  if (method !== 'CONNECT') throw refuse(`a WebSocket over HTTP/2 opens with CONNECT, not ${method}`, 405, [['allow', 'CONNECT']]);
  if (protocol === null) throw refuse('the CONNECT has no :protocol: it asks for a tunnel, not a WebSocket', 400);
  if (protocol.toLowerCase() !== CONNECT_PROTOCOL) throw refuse(`:protocol is ${JSON.stringify(protocol)}, not "websocket"`, 400);
  if (scheme === null || path === null) throw refuse('an extended CONNECT needs :scheme and :path (RFC 8441 section 4)', 400);
  if (scheme !== 'https' && scheme !== 'http') throw refuse(`:scheme ${JSON.stringify(scheme)} is neither https nor http`, 400);
  if (!ORIGIN_FORM.test(path)) throw refuse(`:path ${JSON.stringify(path)} is not an absolute path`, 400);
  if (hosts > 1) throw refuse('more than one Host field', 400);
  // RFC 9113 8.3.1: the authority is :authority; a Host that names another is malformed.
  if (authority !== null && host !== null && host !== authority) throw refuse('the Host field differs from :authority', 400);
  const target = authority ?? host;
  if (target === null || target === '') throw refuse('the request names no authority (:authority or Host)', 400);
  // RFC 9110 9.3.6: a CONNECT request has no content; its DATA are the tunnel's.
  if (body) throw refuse('a CONNECT request has no content', 400);
  if (versions !== 1 || version !== WEBSOCKET_VERSION) {
    throw refuse('sec-websocket-version must be 13', 400, [['sec-websocket-version', WEBSOCKET_VERSION]]);
  }
  return new Request({
    host: target,
    target: path,
    subprotocols: subprotocols ?? NO_STRINGS,
    extensions: extensionOffers ?? NO_STRINGS,
    extraHeaders: headers,
  });
}

/** 431 when a request's fields pass the limits, counted as HPACK counts them (RFC 7541 4.1: 32 bytes a field). */
function checkLimits(headers: Headers, limits: HeaderLimits): void {
  if (headers.length > limits.maxHeaderCount) {
    throw refuse(`more than ${limits.maxHeaderCount} header fields`, 431, [], 'WS_HEADERS_TOO_LARGE');
  }
  let bytes = 0;
  for (let i = 0; i < headers.length; i++) bytes += headers[i][0].length + headers[i][1].length + 32;
  if (bytes > limits.maxHeaderBytes) {
    throw refuse(`the header fields take more than ${limits.maxHeaderBytes} bytes`, 431, [], 'WS_HEADERS_TOO_LARGE');
  }
}

/**
 * The fields of a client's extended CONNECT: the pseudo-headers, the
 * version, the offers, then the caller's extra fields (names lower-cased).
 *
 * @throws LocalProtocolError(WS_BAD_EVENT) for what {@link checkRequestEvent}
 *   refuses, a target that is not an absolute path, an empty host, or an
 *   extra field HTTP/2 forbids
 */
export function connectRequestHeaders(event: Request, scheme: 'http' | 'https'): { headers: Headers; extensions: Extension[] } {
  const extensions = checkRequestEvent(event);
  if (!event.target.startsWith('/')) {
    throw new LocalProtocolError(`request target ${JSON.stringify(event.target)} is not an absolute path`, 'WS_BAD_EVENT');
  }
  if (typeof event.host !== 'string' || event.host === '') {
    throw new LocalProtocolError('the request needs a host for :authority', 'WS_BAD_EVENT');
  }
  const headers: Headers = [
    [':method', 'CONNECT'],
    [':protocol', CONNECT_PROTOCOL],
    [':scheme', scheme],
    [':path', event.target],
    [':authority', event.host],
    ['sec-websocket-version', WEBSOCKET_VERSION],
  ];
  if (event.subprotocols.length > 0) headers.push(['sec-websocket-protocol', event.subprotocols.join(', ')]);
  if (extensions.length > 0) headers.push(['sec-websocket-extensions', offerExtensions(extensions)]);
  checkValues(headers);
  for (const field of http2Fields(event.extraHeaders)) headers.push(field);
  return { headers, extensions };
}

/**
 * The fields of a server's acceptance: `:status` 200 (RFC 8441 section 5;
 * any 2xx opens a CONNECT tunnel, RFC 9113 8.5), the chosen subprotocol and
 * extensions, then the caller's fields (already through {@link http2Fields}).
 */
export function acceptHeaders(subprotocol: string | null, extensions: string, fields: Headers): Headers {
  const headers: Headers = [[':status', '200']];
  if (subprotocol !== null) headers.push(['sec-websocket-protocol', subprotocol]);
  if (extensions !== '') headers.push(['sec-websocket-extensions', extensions]);
  checkValues(headers);
  for (let i = 0; i < fields.length; i++) headers.push(fields[i]);
  return headers;
}

/**
 * The fields of a server's refusal. A 2xx would open the WebSocket, and a
 * 1xx is not final, so a refusal's status is 300-599.
 *
 * @throws LocalProtocolError(WS_BAD_EVENT) for another status or a field HTTP/2 forbids
 */
export function rejectHeaders(statusCode: number, fields: Headers): Headers {
  if (!Number.isInteger(statusCode) || statusCode < 300 || statusCode > 599) {
    throw new LocalProtocolError(`a refusal over HTTP/2 needs a status of 300-599 (a 2xx accepts), not ${statusCode}`, 'WS_BAD_EVENT');
  }
  return [[':status', String(statusCode)], ...http2Fields(fields)];
}

/**
 * A response's `:status`: exactly one, three digits.
 *
 * @param headers - normalized
 * @throws RemoteProtocolError(WS_BAD_HANDSHAKE) for a missing, repeated or
 *   malformed status, or a pseudo-header a response may not carry
 */
export function responseStatus(headers: Headers): number {
  let status: string | null = null;
  for (let i = 0; i < headers.length; i++) {
    const name = headers[i][0];
    if (name.charCodeAt(0) !== 0x3a) continue;
    if (name !== ':status') throw new RemoteProtocolError(`${name} is not a response pseudo-header`, { code: 'WS_BAD_HANDSHAKE' });
    if (status !== null) throw new RemoteProtocolError('more than one :status', { code: 'WS_BAD_HANDSHAKE' });
    status = headers[i][1];
  }
  if (status === null || !/^[1-5]\d\d$/.test(status)) {
    throw new RemoteProtocolError(`the response's :status is ${status === null ? 'missing' : JSON.stringify(status)}`, { code: 'WS_BAD_HANDSHAKE' });
  }
  return Number(status);
}

/** Our own fields' values are single lines (their names are ours). */
function checkValues(headers: Headers): void {
  for (let i = 0; i < headers.length; i++) checkHeaderValue(headers[i][0], headers[i][1]);
}

/**
 * A caller's fields as HTTP/2 sends them: names lower-case (RFC 9113 8.2.1),
 * no pseudo-headers, no HTTP/1.1 connection fields.
 *
 * @throws LocalProtocolError(WS_BAD_EVENT) naming the first field that cannot go
 */
export function http2Fields(fields: Headers): Headers {
  checkHeaders(fields);
  const out: Headers = [];
  for (let i = 0; i < fields.length; i++) {
    const name = fields[i][0].toLowerCase();
    if (FORBIDDEN_FIELDS.has(name)) {
      throw new LocalProtocolError(
        `header ${fields[i][0]} cannot be sent over HTTP/2: it belongs to HTTP/1.1 (RFC 9113 8.2.2; :authority names the host)`,
        'WS_BAD_EVENT',
      );
    }
    out.push([name, fields[i][1]]);
  }
  return out;
}

/** What a caller may not add over HTTP/2: HTTP/1.1's connection fields and Host (`checkHeaders` refuses `:` names, which are not tokens). */
const FORBIDDEN_FIELDS = new Set(['connection', 'upgrade', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'host']);

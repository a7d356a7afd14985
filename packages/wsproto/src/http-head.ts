/**
 * Writing an HTTP/1.1 head (start line, header lines, blank line) for the
 * handshake, with every name and value checked so that nothing a caller
 * passes can smuggle in another line.
 *
 * @module
 */
import { allocFrame } from './bytes';
import { LocalProtocolError } from './errors';
import type { Headers } from './headers';

/** An HTTP token (RFC 9110 5.6.2): header names and subprotocols. */
export const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** A header value: no CR, LF, NUL or other controls but tab; one byte per char. */
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
/** A request target: visible characters, no spaces. */
export const TARGET = /^[\x21-\x7e\x80-\xff]+$/;

const CRLF = '\r\n';
const NO_STRINGS: readonly string[] = Object.freeze([]);

/**
 * The head's bytes: start line, header lines (`leading`, a flat name/value
 * list, then `headers`), blank line.
 *
 * @throws LocalProtocolError(WS_BAD_EVENT) for a name that is not a token or
 *   a line with forbidden characters (CR, LF, NUL, characters past U+00FF)
 */
export function encodeHead(startLine: string, headers: Headers, leading: readonly string[] = NO_STRINGS): Uint8Array {
  if (!FIELD_VALUE.test(startLine)) throw new LocalProtocolError('the start line has forbidden characters', 'WS_BAD_EVENT');
  let length = startLine.length + 4;
  for (let i = 0; i + 1 < leading.length; i += 2) length += checkHeader(leading[i], leading[i + 1]);
  for (let i = 0; i < headers.length; i++) length += checkHeader(headers[i][0], headers[i][1]);
  // Written straight into the bytes: each character is one byte (checked above).
  const bytes = allocFrame(length);
  let at = writeLatin1(bytes, 0, startLine, CRLF);
  for (let i = 0; i + 1 < leading.length; i += 2) {
    at = writeLatin1(bytes, at, leading[i], ': ');
    at = writeLatin1(bytes, at, leading[i + 1], CRLF);
  }
  for (let i = 0; i < headers.length; i++) {
    at = writeLatin1(bytes, at, headers[i][0], ': ');
    at = writeLatin1(bytes, at, headers[i][1], CRLF);
  }
  writeLatin1(bytes, at, CRLF, '');
  return bytes;
}

/**
 * Header names must be tokens and values single lines of bytes.
 *
 * @throws LocalProtocolError(WS_BAD_EVENT) naming the first bad header
 */
export function checkHeaders(headers: Headers): void {
  for (let i = 0; i < headers.length; i++) checkHeader(headers[i][0], headers[i][1]);
}

/** Checks one header; returns the bytes of its line (`name: value` CRLF). */
function checkHeader(name: string, value: string): number {
  if (typeof name !== 'string' || !TOKEN.test(name)) {
    throw new LocalProtocolError(`header name ${JSON.stringify(name)} is not a token`, 'WS_BAD_EVENT');
  }
  checkHeaderValue(name, value);
  return name.length + value.length + 4;
}

/**
 * A field value must be one line of bytes (any name: HTTP/2's pseudo-headers too).
 *
 * @throws LocalProtocolError(WS_BAD_EVENT) naming the field
 */
export function checkHeaderValue(name: string, value: string): void {
  if (typeof value !== 'string' || !FIELD_VALUE.test(value)) {
    throw new LocalProtocolError(`header ${name} has a value with forbidden characters`, 'WS_BAD_EVENT');
  }
}

/** Writes `text` then `end` as one byte per character; returns the offset after them. */
function writeLatin1(bytes: Uint8Array, at: number, text: string, end: string): number {
  for (let i = 0; i < text.length; i++) bytes[at++] = text.charCodeAt(i);
  for (let i = 0; i < end.length; i++) bytes[at++] = end.charCodeAt(i);
  return at;
}

/** The status line of a response with `statusCode`, with the usual reason phrase. */
export function statusLine(statusCode: number): string {
  return `HTTP/1.1 ${statusCode} ${REASONS[statusCode] ?? ''}`;
}

/** Reason phrases for the statuses a handshake refusal commonly uses. */
const REASONS: Record<number, string> = {
  101: 'Switching Protocols',
  200: 'OK',
  301: 'Moved Permanently',
  302: 'Found',
  307: 'Temporary Redirect',
  308: 'Permanent Redirect',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  410: 'Gone',
  426: 'Upgrade Required',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
};

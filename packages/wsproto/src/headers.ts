/**
 * Reading header lists (`[name, value]` pairs): values and comma-separated
 * tokens, as RFC 9110 5.6.1 lists them, and the normal form the core keeps
 * received headers in (names lower-case, values trimmed).
 *
 * @module
 */

/** Header list as it travels: `[name, value]` pairs. Received names are lower-case. */
export type Headers = Array<[name: string, value: string]>;

/**
 * Pairs Node's flat `req.rawHeaders` (`[name, value, name, value, …]`) into
 * the {@link Headers} that `initiateUpgradeConnection` takes.
 */
export function pairHeaders(rawHeaders: readonly string[]): Headers {
  const out: Headers = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) out.push([rawHeaders[i], rawHeaders[i + 1]]);
  return out;
}

/** `headers` as the core keeps them: `headers` itself when already so, else a normalized copy. */
export function normalizeHeaders(headers: Headers): Headers {
  return headers.every(isNormalized) ? headers : headers.map(([name, value]) => [name.toLowerCase(), value.trim()] as [string, string]);
}

/** A header pair as the core keeps them: name lower-case, value trimmed. */
function isNormalized(header: readonly [string, string]): boolean {
  const name = header[0];
  const value = header[1];
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if ((c >= 0x41 && c <= 0x5a) || c >= 0x80) return false;
  }
  return value.length === 0 || (!isWhitespace(value.charCodeAt(0)) && !isWhitespace(value.charCodeAt(value.length - 1)));
}

/** All values of header `name` (lower-case), in order. */
export function headerValues(headers: Headers, name: string): string[] {
  const out: string[] = [];
  for (const [n, v] of headers) if (n === name) out.push(v);
  return out;
}

/**
 * Splits a comma-separated header value into trimmed, non-empty items.
 * Used for `Connection`, `Upgrade` and `Sec-WebSocket-Protocol`.
 */
export function splitCommaHeader(value: string): string[] {
  const out: string[] = [];
  for (const part of value.split(',')) {
    const item = part.trim();
    if (item !== '') out.push(item);
  }
  return out;
}

/**
 * Whether the comma-separated list `value` holds `token` (lower-case), in
 * any ASCII case, with whitespace around items ignored. Scans in place.
 */
export function hasToken(value: string, token: string): boolean {
  let start = 0;
  while (start <= value.length) {
    let end = value.indexOf(',', start);
    if (end < 0) end = value.length;
    let a = start;
    let b = end;
    while (a < b && isWhitespace(value.charCodeAt(a))) a++;
    while (b > a && isWhitespace(value.charCodeAt(b - 1))) b--;
    if (b - a === token.length) {
      let i = 0;
      while (i < token.length && (value.charCodeAt(a + i) | 0x20) === token.charCodeAt(i)) i++;
      if (i === token.length) return true;
    }
    start = end + 1;
  }
  return false;
}

/** Whether any `name` header holds `token` (see {@link hasToken}). */
export function headersHaveToken(headers: Headers, name: string, token: string): boolean {
  for (const [n, v] of headers) if (n === name && hasToken(v, token)) return true;
  return false;
}

/** What `String.prototype.trim` strips (ECMAScript WhiteSpace and LineTerminator). */
function isWhitespace(c: number): boolean {
  if (c <= 0x20) return c === 0x20 || (c >= 0x09 && c <= 0x0d);
  if (c < 0xa0) return false;
  return (
    c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 ||
    c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff
  );
}

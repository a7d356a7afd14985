/**
 * An HTTP/2 stream as a WebSocket's transport (RFC 8441): telling one from
 * a socket, moving header fields between node:http2's objects and the
 * core's lists, answering on it, and ending it as RFC 8441 section 5 asks:
 * an orderly close is END_STREAM (`end()`, as for a socket), an abnormal one
 * is RST_STREAM with CANCEL.
 *
 * What else differs from a socket, checked against Node 20: a stream has no
 * `setNoDelay` (the session's socket has Nagle off already, and one socket
 * serves every stream); `cork()` gathers a tick's writes into DATA frames as
 * it gathers them into one write; `pause()` stops reading, so the stream's
 * flow-control window fills and the peer stops sending on this stream only.
 *
 * @module
 */
import * as http2 from 'node:http2';
import type { Duplex } from 'node:stream';
import { pairHeaders, type Headers } from '@wsstack/wsproto';
import { traceFor, tracing } from '@wsstack/wsproto/internal';

const { NGHTTP2_CANCEL, NGHTTP2_FLAG_END_STREAM } = http2.constants;

/** Whether `value` is a server-side HTTP/2 stream (node:http2's `'stream'` event). */
export function isServerHttp2Stream(value: unknown): value is http2.ServerHttp2Stream {
  const stream = value as Partial<http2.ServerHttp2Stream> | null;
  return typeof stream === 'object' && stream !== null && typeof stream.respond === 'function' && typeof stream.session === 'object';
}

/** Whether a transport is an HTTP/2 stream, either side. */
function isHttp2Stream(value: Duplex): value is http2.Http2Stream {
  return 'rstCode' in value && 'session' in value;
}

/** Whether a HEADERS frame's flags carry END_STREAM (the peer sends no DATA). */
export function endsStream(flags: number): boolean {
  return (flags & NGHTTP2_FLAG_END_STREAM) !== 0;
}

/**
 * node:http2's received fields as the core's list: `rawHeaders` (a flat
 * name, value list, in arrival order) as they are, a header object with
 * one pair per value (symbols such as `sensitiveHeaders` left out).
 */
export function fieldsOf(headers: http2.IncomingHttpHeaders | http2.IncomingHttpStatusHeader | readonly string[]): Headers {
  if (Array.isArray(headers)) return pairHeaders(headers as readonly string[]);
  const out: Headers = [];
  const object = headers as Record<string, string | string[] | number | undefined>;
  for (const name of Object.keys(object)) {
    const value = object[name];
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const item of value) out.push([name, item]);
    else out.push([name, String(value)]);
  }
  return out;
}

/** The core's field list as node:http2 takes it: an object, repeated names as arrays. */
export function toHttp2Headers(fields: Headers): http2.OutgoingHttpHeaders {
  const out: http2.OutgoingHttpHeaders = Object.create(null) as http2.OutgoingHttpHeaders;
  for (const [name, value] of fields) {
    const seen = out[name];
    if (seen === undefined) out[name] = value;
    else if (Array.isArray(seen)) seen.push(value);
    else out[name] = [String(seen), value];
  }
  return out;
}

/**
 * Answers an extended CONNECT. A refusal (`endStream`) ends our side with
 * its fields, then resets the stream with NO_ERROR once they are out: RFC
 * 9113 8.1's way of telling a client that already has its answer to stop
 * sending, without calling it an error.
 */
export function respond(stream: http2.ServerHttp2Stream, fields: Headers, endStream: boolean): void {
  if (stream.destroyed || stream.headersSent) return;
  if (tracing) traceFor(stream, 'server', 'simple-websocket', 'respond', `stream.respond ${fields.map(([name, value]) => `${name}: ${value}`).join(', ')}`);
  stream.respond(toHttp2Headers(fields), { endStream });
  if (endStream) stream.close();
}

/**
 * Drops a transport without a closing handshake: a socket is destroyed; an
 * HTTP/2 stream is reset with CANCEL (RFC 8441 section 5), which leaves the
 * session and its other streams alone.
 */
export function abortTransport(transport: Duplex): void {
  if (isHttp2Stream(transport)) transport.close(NGHTTP2_CANCEL);
  else transport.destroy();
}

/**
 * What `Client.connect` does before any I/O: read the URL, check every
 * option and build the opening request's bytes. Anything wrong is a
 * {@link ConnectionError} here, while no socket is open and no timer armed,
 * so a failed `connect` leaves nothing behind.
 *
 * @module
 */
import * as net from 'node:net';
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import { ConnectionType, ExtendedConnect, PerMessageDeflate, Request, WSConnection, type Headers } from '@wsstack/wsproto';
import { ConnectionError } from './errors';
import { headerList, resolveOptions, type ClientOptions, type ResolvedOptions } from './options';

/** A connection ready to open: where to, with what, and the request to write first. */
export type ClientPlan = PlanBase &
  (
    | {
        readonly http2: false;
        /** The core, its handshake already past the request. */
        readonly conn: WSConnection;
        /** The request's bytes. */
        readonly request: Uint8Array;
      }
    | {
        /** RFC 8441: a stream on the origin's HTTP/2 session. */
        readonly http2: true;
        /** The core, its handshake already past the request. */
        readonly conn: ExtendedConnect;
        /** The extended CONNECT's fields. */
        readonly fields: Headers;
      }
  );

interface PlanBase {
  readonly target: URL;
  readonly secure: boolean;
  /** Host for the socket: IPv6 literals without brackets. */
  readonly host: string;
  readonly port: number;
  /** For `wss://`: the caller's `tls` options with host, port and SNI filled in. */
  readonly tls: TlsConnectionOptions | null;
  readonly resolved: ResolvedOptions;
}

/**
 * Checks `url` and `options` and builds the request, touching no socket.
 *
 * @throws ConnectionError `WS_INVALID_URL` or `WS_INVALID_OPTIONS`, the
 *   underlying error as its `cause`
 */
export function planConnection(url: string | URL, options: ClientOptions | undefined): ClientPlan {
  const target = parseUrl(url);
  const secure = target.protocol === 'wss:' || target.protocol === 'https:';
  // URL keeps IPv6 literals bracketed; sockets want them bare.
  const host = target.hostname.startsWith('[') ? target.hostname.slice(1, -1) : target.hostname;
  const port = target.port === '' ? (secure ? 443 : 80) : Number(target.port);
  if (port === 0) throw new ConnectionError(`invalid WebSocket URL ${target.href}: port 0`, 'WS_INVALID_URL');
  try {
    const resolved = resolveOptions(options);
    // The core checks what goes on the wire: subprotocols are tokens, header
    // names tokens and values single lines (no CR/LF smuggled in).
    const event = buildRequest(target, resolved, options);
    let tls: TlsConnectionOptions | null = null;
    if (secure) {
      tls = { ...options?.tls, host, port };
      // SNI takes a host name, never an IP address.
      if (tls.servername === undefined && net.isIP(host) === 0) tls.servername = host;
    }
    const base = { target, secure, host, port, tls, resolved };
    if (options?.http2 === true) {
      const conn = new ExtendedConnect(ConnectionType.CLIENT, { maxMessageSize: resolved.maxMessageSize, scheme: secure ? 'https' : 'http' });
      return { ...base, http2: true, conn, fields: conn.sendHeaders(event) };
    }
    const conn = new WSConnection(ConnectionType.CLIENT, { maxMessageSize: resolved.maxMessageSize });
    return { ...base, http2: false, conn, request: conn.send(event) };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new ConnectionError(`invalid Client.connect options: ${message}`, 'WS_INVALID_OPTIONS', { cause: error });
  }
}

function parseUrl(url: string | URL): URL {
  let target: URL;
  try {
    target = new URL(url);
  } catch (error) {
    throw new ConnectionError(`invalid WebSocket URL ${String(url)}`, 'WS_INVALID_URL', { cause: error });
  }
  const scheme = target.protocol;
  if (scheme !== 'ws:' && scheme !== 'wss:' && scheme !== 'http:' && scheme !== 'https:') {
    throw new ConnectionError(`unsupported URL scheme ${scheme} (use ws: or wss:)`, 'WS_INVALID_URL');
  }
  if (target.hash !== '') throw new ConnectionError('a WebSocket URL has no fragment', 'WS_INVALID_URL');
  if (target.hostname === '') throw new ConnectionError(`invalid WebSocket URL ${target.href}: no host`, 'WS_INVALID_URL');
  return target;
}

/** The handshake request for `target`: the same event over HTTP/1.1 and HTTP/2. */
function buildRequest(target: URL, resolved: ResolvedOptions, options: ClientOptions | undefined): Request {
  const extraHeaders: Headers = [...headerList(options?.headers)];
  if (options?.origin !== undefined) extraHeaders.push(['Origin', options.origin]);
  const pmd = resolved.perMessageDeflate;
  return new Request({
    host: target.host,
    target: (target.pathname === '' ? '/' : target.pathname) + target.search,
    subprotocols: [...resolved.subprotocols],
    extensions: pmd === false ? [] : [new PerMessageDeflate(pmd)],
    extraHeaders,
  });
}

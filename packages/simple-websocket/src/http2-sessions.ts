/**
 * The client's HTTP/2 sessions: one per origin (and TLS options), shared by
 * every WebSocket `Client.connect(url, { http2: true })` opens there, as a
 * browser shares one connection among a page's sockets. A session is opened
 * on first use; it is usable once the server's first SETTINGS arrived, and
 * only if they enable extended CONNECT (RFC 8441 section 3). It is dropped
 * from the pool when it closes or the server sends GOAWAY; while no
 * WebSocket uses it, it does not keep the process alive.
 *
 * @module
 */
import * as http2 from 'node:http2';
import * as net from 'node:net';
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import { trace, tracing } from '@wsstack/wsproto/internal';
import { ConnectionError } from './errors';

/** One pooled session. */
interface Entry {
  readonly origin: string;
  readonly tls: TlsConnectionOptions | undefined;
  readonly session: http2.ClientHttp2Session;
  /** Settles once the server's first SETTINGS arrived (or the session failed first). */
  readonly ready: Promise<void>;
  /** Connects waiting for the session, plus WebSockets open on it: while above 0 the session keeps the process alive. */
  users: number;
}

/** Origin → its sessions, one per distinct set of TLS options. */
const pool = new Map<string, Entry[]>();

/** The pool entry of a session, or of the session a stream is on, so shared listeners need no closure. */
const kEntry = Symbol('wsstack.http2-session');
type Pooled = { [kEntry]?: Entry };

/**
 * A session to `origin` whose SETTINGS allow WebSockets, opened or reused.
 * The caller owns one use of it: hand it to {@link track} with the stream
 * it opens, or give it back with {@link release}.
 *
 * @throws ConnectionError WS_CONNECT_FAILED when the session cannot be made,
 *   WS_HTTP2_UNSUPPORTED when the server does not take WebSockets over HTTP/2
 */
export async function acquireSession(origin: URL, tls: TlsConnectionOptions | undefined): Promise<http2.ClientHttp2Session> {
  const found = find(origin.origin, tls);
  if (tracing) trace('simple-websocket', 'acquireSession', `${found === undefined ? 'a new' : 'the open'} HTTP/2 session to ${origin.origin}`);
  const entry = found ?? open(origin, tls);
  use(entry);
  try {
    await entry.ready;
    if (!entry.session.remoteSettings.enableConnectProtocol) {
      throw new ConnectionError(
        `${entry.origin} speaks HTTP/2 but its SETTINGS do not enable extended CONNECT (RFC 8441): it takes no WebSockets over HTTP/2; connect without the http2 option`,
        'WS_HTTP2_UNSUPPORTED',
      );
    }
  } catch (error) {
    release(entry.session);
    throw error;
  }
  return entry.session;
}

/**
 * {@link acquireSession} within `ms`, else WS_HANDSHAKE_TIMEOUT; a session
 * that comes after that is given back, not kept in use.
 */
export async function acquireSessionWithin(origin: URL, tls: TlsConnectionOptions | undefined, ms: number): Promise<http2.ClientHttp2Session> {
  const acquiring = acquireSession(origin, tls);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new ConnectionError(`no HTTP/2 session within handshakeTimeout (${ms} ms)`, 'WS_HANDSHAKE_TIMEOUT')), ms);
  });
  try {
    return await Promise.race([acquiring, late]);
  } catch (error) {
    acquiring.then(release, () => {});
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/** The stream carries a WebSocket: the session's use is the stream's until it closes. */
export function track(stream: http2.ClientHttp2Stream, session: http2.ClientHttp2Session): void {
  (stream as Pooled)[kEntry] = (session as Pooled)[kEntry];
  stream.once('close', onStreamClose);
}

/** A use of the session ended (a connect that failed before it opened a stream). */
export function release(session: http2.ClientHttp2Session): void {
  const entry = (session as Pooled)[kEntry];
  if (entry !== undefined) unuse(entry);
}

function unuse(entry: Entry): void {
  if (--entry.users > 0) return;
  // Idle: keep it for the next connect, but not the process.
  if (!entry.session.destroyed) entry.session.unref();
}

function use(entry: Entry): void {
  if (entry.users++ === 0 && !entry.session.destroyed) entry.session.ref();
}

function find(origin: string, tls: TlsConnectionOptions | undefined): Entry | undefined {
  return pool.get(origin)?.find((entry) => !entry.session.closed && !entry.session.destroyed && sameOptions(entry.tls, tls));
}

function open(url: URL, tls: TlsConnectionOptions | undefined): Entry {
  const options: http2.SecureClientSessionOptions = { ...tls, settings: { enablePush: false } };
  // SNI takes a host name, never an IP address.
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  if (url.protocol === 'https:' && options.servername === undefined && net.isIP(host) === 0) options.servername = host;
  const session = http2.connect(url.origin, options);
  const ready = new Promise<void>((resolve, reject) => {
    session.once('remoteSettings', () => resolve());
    session.once('error', (error: Error & { code?: string }) => reject(connectFailure(url.origin, error)));
    session.once('close', () => reject(new ConnectionError(`the HTTP/2 session to ${url.origin} closed before its SETTINGS`, 'WS_CONNECT_FAILED')));
  });
  ready.catch(() => {}); // a failure is reported to the connects waiting on it, not as unhandled
  const entry: Entry = { origin: url.origin, tls, session, ready, users: 0 };
  (session as Pooled)[kEntry] = entry;
  // Errors end the session ('close' follows); the streams on it see their own.
  session.on('error', ignore);
  session.once('close', forget);
  // After GOAWAY no new stream may start here; the ones open finish their lives.
  session.once('goaway', forget);
  const entries = pool.get(entry.origin);
  if (entries === undefined) pool.set(entry.origin, [entry]);
  else entries.push(entry);
  return entry;
}

function connectFailure(origin: string, error: Error & { code?: string }): ConnectionError {
  // ALPN found no common protocol: the server does not speak HTTP/2 over TLS.
  if (error.code === 'ERR_SSL_TLSV1_ALERT_NO_APPLICATION_PROTOCOL') {
    return new ConnectionError(`${origin} does not speak HTTP/2; connect without the http2 option`, 'WS_HTTP2_UNSUPPORTED', { cause: error });
  }
  return new ConnectionError(`the HTTP/2 connection to ${origin} failed: ${error.message}`, 'WS_CONNECT_FAILED', { cause: error });
}

/** Same TLS options: the same object, or the same keys with the same values (a fresh `{ ca }` per call still shares). */
function sameOptions(a: TlsConnectionOptions | undefined, b: TlsConnectionOptions | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined) return false;
  const keys = Object.keys(a) as Array<keyof TlsConnectionOptions>;
  return keys.length === Object.keys(b).length && keys.every((key) => a[key] === b[key]);
}

// Shared listeners: the entry hangs off the session.
function onStreamClose(this: http2.ClientHttp2Stream): void {
  const entry = (this as Pooled)[kEntry];
  if (entry !== undefined) unuse(entry);
}
function forget(this: http2.ClientHttp2Session): void {
  const entry = (this as Pooled)[kEntry];
  if (entry === undefined) return;
  const entries = pool.get(entry.origin);
  const at = entries?.indexOf(entry) ?? -1;
  if (at < 0) return;
  entries!.splice(at, 1);
  if (entries!.length === 0) pool.delete(entry.origin);
}
function ignore(): void {}

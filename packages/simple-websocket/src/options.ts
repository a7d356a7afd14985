/**
 * Options of {@link Server} and {@link Client}, their defaults, and the one
 * place they are resolved.
 *
 * @module
 */
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import type { Headers, PerMessageDeflateInit } from '@wsstack/wsproto';

/** permessage-deflate parameters (RFC 7692 section 7.1): the core's `PerMessageDeflateInit`, whose TSDoc says what each does. */
export type PerMessageDeflateOptions = PerMessageDeflateInit;

/** Options every connection takes. */
export interface BaseOptions {
  /**
   * Subprotocols. Client: offered in this order. Server: the ones it speaks,
   * in its order of preference. Default `[]`.
   */
  subprotocols?: string[];
  /** Largest message in bytes (after inflation); a bigger one closes with 1009. Default 100 MiB (as `ws`). */
  maxMessageSize?: number;
  /**
   * Milliseconds between pings; a peer that sends nothing (no pong, no data)
   * for a whole interval is dropped (`ConnectionClosed(1006)`). Default 0 (off).
   */
  pingInterval?: number;
  /** Milliseconds to wait for the peer's close frame, then for the TCP close, before destroying the socket. Default 5000. */
  closeTimeout?: number;
  /**
   * Milliseconds the opening handshake may take (client: connect + TLS +
   * response; raw-socket server: the whole request). Default 10000.
   */
  handshakeTimeout?: number;
  /** Negotiate permessage-deflate: `false` (default), `true`, or parameters. */
  perMessageDeflate?: boolean | PerMessageDeflateOptions;
  /**
   * High-water mark of the input queue, in messages: when this many received
   * messages wait for `receive()`, the socket is paused (TCP backpressure
   * reaches the sender) until the queue drains to half. Default 64.
   */
  maxQueuedMessages?: number;
  /**
   * High-water mark of the input queue, in bytes (string length for text):
   * same rule as `maxQueuedMessages`, whichever is reached first. One message
   * is always let through. Default 16 MiB.
   */
  maxQueuedBytes?: number;
}

/** Options of {@link Server.accept}. */
export interface ServerOptions extends BaseOptions {
  /**
   * Picks the subprotocol from the client's offer. Return one of `offered`,
   * or `null` for none (a name not offered counts as `null`). Default: the
   * first of `subprotocols` the client offered.
   */
  selectSubprotocol?: (offered: readonly string[]) => string | null;
  /** Extra headers for the 101 response (e.g. `Set-Cookie`). Default none. */
  headers?: Headers | Record<string, string>;
}

/** Options of {@link Client.connect}. */
export interface ClientOptions extends BaseOptions {
  /** Extra request headers (e.g. `Authorization`, `Cookie`). Default none. */
  headers?: Headers | Record<string, string>;
  /** The `Origin` header to send. Default none. */
  origin?: string;
  /**
   * `node:tls` connect options for `wss://`: `ca`, `cert`, `key`,
   * `rejectUnauthorized`, `servername`, ... Default: Node's defaults
   * (system CAs, certificate checked, SNI from the URL's host name).
   */
  tls?: TlsConnectionOptions;
  /**
   * Connect over HTTP/2 (RFC 8441's extended CONNECT): the WebSocket is one
   * stream of a session to the URL's origin, opened on first use and shared
   * by every later `connect` there with the same `tls` options (`wss://`
   * negotiates h2 by ALPN; `ws://` speaks HTTP/2 without TLS). The server
   * must enable extended CONNECT in its SETTINGS, else `connect` rejects
   * with `WS_HTTP2_UNSUPPORTED`. Default `false` (HTTP/1.1 upgrade).
   */
  http2?: boolean;
}

/** Every base option filled in. */
export interface ResolvedOptions {
  readonly subprotocols: readonly string[];
  readonly maxMessageSize: number;
  readonly pingInterval: number;
  readonly closeTimeout: number;
  readonly handshakeTimeout: number;
  readonly perMessageDeflate: false | PerMessageDeflateOptions;
  readonly maxQueuedMessages: number;
  readonly maxQueuedBytes: number;
}

/** The defaults of {@link BaseOptions}. */
export const DEFAULTS: ResolvedOptions = Object.freeze({
  subprotocols: Object.freeze([]),
  maxMessageSize: 100 * 1024 * 1024,
  pingInterval: 0,
  closeTimeout: 5000,
  handshakeTimeout: 10000,
  perMessageDeflate: false,
  maxQueuedMessages: 64,
  maxQueuedBytes: 16 * 1024 * 1024,
});

function positive(name: string, value: number | undefined, fallback: number, allowZero: boolean): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0 || (!allowZero && value === 0)) {
    throw new TypeError(`option ${name} must be a ${allowZero ? 'non-negative' : 'positive'} number, got ${String(value)}`);
  }
  return value;
}

/**
 * Fills in defaults and checks ranges. Connections made without options
 * share the frozen {@link DEFAULTS}, and connections given the same options
 * object share one resolved copy, so options cost no per-connection memory.
 * (An options object is read once: later mutations are not seen.)
 */
export function resolveOptions(options: BaseOptions | undefined): ResolvedOptions {
  if (options === undefined) return DEFAULTS;
  // A server usually passes the same options object to every accept(): resolve it once.
  let resolved = resolvedCache.get(options);
  if (resolved === undefined) {
    resolved = resolve(options);
    resolvedCache.set(options, resolved);
  }
  return resolved;
}

const resolvedCache = new WeakMap<BaseOptions, ResolvedOptions>();

function resolve(options: BaseOptions): ResolvedOptions {
  const pmd = options.perMessageDeflate;
  return {
    subprotocols: options.subprotocols ?? DEFAULTS.subprotocols,
    maxMessageSize: positive('maxMessageSize', options.maxMessageSize, DEFAULTS.maxMessageSize, false),
    pingInterval: positive('pingInterval', options.pingInterval, DEFAULTS.pingInterval, true),
    closeTimeout: positive('closeTimeout', options.closeTimeout, DEFAULTS.closeTimeout, false),
    handshakeTimeout: positive('handshakeTimeout', options.handshakeTimeout, DEFAULTS.handshakeTimeout, false),
    perMessageDeflate: pmd === true ? {} : pmd === undefined || pmd === false ? false : pmd,
    maxQueuedMessages: positive('maxQueuedMessages', options.maxQueuedMessages, DEFAULTS.maxQueuedMessages, false),
    maxQueuedBytes: positive('maxQueuedBytes', options.maxQueuedBytes, DEFAULTS.maxQueuedBytes, false),
  };
}

/** Header options as a `[name, value]` list. */
export function headerList(headers: Headers | Record<string, string> | undefined): Headers {
  if (headers === undefined) return [];
  if (Array.isArray(headers)) return headers;
  return Object.entries(headers);
}

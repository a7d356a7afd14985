/**
 * Options of {@link Server} and {@link Client}, their defaults, and the one
 * place they are resolved.
 *
 * @module
 */
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import { PerMessageDeflate, type Headers, type PerMessageDeflateInit } from '@wsstack/wsproto';
import { checkHeaders } from '@wsstack/wsproto/internal';
import { describeValue } from './errors';

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

/**
 * Options of {@link Server.accept} but `topics` (which server.ts adds, so
 * this module needs nothing of the topics').
 */
export interface ServerOptionsBase extends BaseOptions {
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

/** The longest delay a Node timer takes: past it, `setTimeout` fires after 1 ms instead. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

function positive(name: string, value: number | undefined, fallback: number, allowZero: boolean, max = Infinity): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0 || (!allowZero && value === 0)) {
    throw new TypeError(`option ${name} must be a ${allowZero ? 'non-negative' : 'positive'} number, got ${describeValue(value)}`);
  }
  if (value > max) throw new RangeError(`option ${name} must be at most ${max}, got ${value}`);
  return value;
}

/**
 * Fills in defaults and checks every option, before any I/O: a bad one
 * throws `TypeError` or `RangeError` saying which (`connect`/`accept` turn
 * it into `ConnectionError` `WS_INVALID_OPTIONS`). Connections made without
 * options share the frozen {@link DEFAULTS}, and connections given the same
 * options object share one resolved copy, so options cost no per-connection
 * memory. (An options object is read once: later mutations are not seen.)
 */
export function resolveOptions(options: ServerOptionsBase | ClientOptions | undefined): ResolvedOptions {
  if (options === undefined) return DEFAULTS;
  if (typeof options !== 'object' || options === null) throw new TypeError(`options must be an object, got ${describeValue(options)}`);
  // A server usually passes the same options object to every accept(): resolve it once.
  let resolved = resolvedCache.get(options);
  if (resolved === undefined) {
    resolved = resolve(options);
    resolvedCache.set(options, resolved);
  }
  return resolved;
}

const resolvedCache = new WeakMap<BaseOptions, ResolvedOptions>();

function resolve(options: ServerOptionsBase & ClientOptions): ResolvedOptions {
  checkOthers(options);
  return {
    subprotocols: subprotocolList(options.subprotocols),
    maxMessageSize: positive('maxMessageSize', options.maxMessageSize, DEFAULTS.maxMessageSize, false),
    pingInterval: positive('pingInterval', options.pingInterval, DEFAULTS.pingInterval, true, MAX_TIMER_MS),
    closeTimeout: positive('closeTimeout', options.closeTimeout, DEFAULTS.closeTimeout, false, MAX_TIMER_MS),
    handshakeTimeout: positive('handshakeTimeout', options.handshakeTimeout, DEFAULTS.handshakeTimeout, false, MAX_TIMER_MS),
    perMessageDeflate: deflateOptions(options.perMessageDeflate),
    maxQueuedMessages: positive('maxQueuedMessages', options.maxQueuedMessages, DEFAULTS.maxQueuedMessages, false),
    maxQueuedBytes: positive('maxQueuedBytes', options.maxQueuedBytes, DEFAULTS.maxQueuedBytes, false),
  };
}

function subprotocolList(value: unknown): readonly string[] {
  if (value === undefined) return DEFAULTS.subprotocols;
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
    throw new TypeError(`option subprotocols must be an array of strings, got ${describeValue(value)}`);
  }
  return value;
}

function deflateOptions(value: BaseOptions['perMessageDeflate']): false | PerMessageDeflateOptions {
  if (value === undefined || value === false) return false;
  if (value === true) return {};
  if (typeof value !== 'object' || value === null) {
    throw new TypeError(`option perMessageDeflate must be a boolean or an object, got ${describeValue(value)}`);
  }
  try {
    // The extension checks its own parameters (window bits 9-15, level 0-9).
    new PerMessageDeflate(value);
  } catch (error) {
    throw new RangeError(`option perMessageDeflate: ${(error as Error).message}`, { cause: error });
  }
  return value;
}

/** The options the resolved copy does not keep: checked here all the same. */
function checkOthers(options: ServerOptionsBase & ClientOptions): void {
  if (options.headers !== undefined) {
    const headers = options.headers;
    const list: unknown[] = Array.isArray(headers) ? headers : typeof headers === 'object' && headers !== null ? Object.entries(headers) : [headers];
    for (const pair of list) {
      if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'string' || typeof pair[1] !== 'string') {
        throw new TypeError(`option headers must be [name, value] string pairs or a record of strings, got ${describeValue(pair)} in it`);
      }
    }
    try {
      // Names must be tokens, values single lines: nothing may smuggle in another header.
      checkHeaders(list as Headers);
    } catch (error) {
      throw new TypeError(`option headers: ${(error as Error).message}`, { cause: error });
    }
  }
  if (options.origin !== undefined && typeof options.origin !== 'string') {
    throw new TypeError(`option origin must be a string, got ${describeValue(options.origin)}`);
  }
  if (options.selectSubprotocol !== undefined && typeof options.selectSubprotocol !== 'function') {
    throw new TypeError(`option selectSubprotocol must be a function, got ${describeValue(options.selectSubprotocol)}`);
  }
  if (options.tls !== undefined && (typeof options.tls !== 'object' || options.tls === null)) {
    throw new TypeError(`option tls must be an object of node:tls connect options, got ${describeValue(options.tls)}`);
  }
}

/** Header options as a `[name, value]` list. */
export function headerList(headers: Headers | Record<string, string> | undefined): Headers {
  if (headers === undefined) return [];
  if (Array.isArray(headers)) return headers;
  return Object.entries(headers);
}

/**
 * The timeout `receive(options)` waits for, checked: `TypeError` for what is
 * not `{ timeout?: number }`, `RangeError` for a negative timeout or one
 * past what a Node timer takes (it would fire after 1 ms instead).
 */
export function receiveTimeout(options: { timeout?: unknown } | undefined): number | undefined {
  if (options === undefined) return undefined;
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`receive() takes { timeout } or nothing, not ${describeValue(options)}`);
  }
  const timeout = options.timeout;
  if (timeout === undefined) return undefined;
  if (typeof timeout !== 'number' || Number.isNaN(timeout)) {
    throw new TypeError(`receive(): timeout must be a number of milliseconds, not ${describeValue(timeout)}`);
  }
  if (timeout < 0 || (timeout > MAX_TIMER_MS && timeout !== Infinity)) {
    throw new RangeError(`receive(): timeout must be 0 to ${MAX_TIMER_MS} ms or Infinity, not ${timeout}`);
  }
  return timeout;
}

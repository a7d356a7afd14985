/**
 * `Server`: the server end of a WebSocket connection (simple-websocket's
 * `Server`), accepted from a raw socket or from Node's HTTP `'upgrade'` event.
 *
 * @module
 */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import {
  AcceptConnection,
  ConnectionType,
  pairHeaders,
  PerMessageDeflate,
  RemoteProtocolError,
  Request,
  WSConnection,
  type Event,
  type Headers,
} from '@wsstack/wsproto';
import { trace, tracing } from '@wsstack/wsproto/internal';
import { Base } from './base';
import { ConnectionError } from './errors';
import { headerList, resolveOptions, type ResolvedOptions, type ServerOptions } from './options';

/** The opening handshake request a {@link Server} accepted. */
export interface HandshakeRequest {
  /** The request target: path and query, e.g. `/chat?room=1`. */
  readonly path: string;
  /** The `Host` header. */
  readonly host: string;
  /** Every request header, names lower-case, in arrival order. */
  readonly headers: Headers;
  /** Subprotocols the client offered, in its order. */
  readonly subprotocols: readonly string[];
  /** The client's raw extension offers (`Sec-WebSocket-Extensions`), one per offer. */
  readonly extensions: readonly string[];
}

const NONE: readonly string[] = Object.freeze([]);
const NO_EXTENSIONS: readonly PerMessageDeflate[] = Object.freeze([]);

/**
 * The accepted request, kept small for the connection's whole life: its
 * header names and values in one string (a string and an array per header
 * were most of what an idle connection kept), paired and lower-cased only
 * when someone reads `headers`. HTTP forbids line feeds in names and values,
 * so one separates them unambiguously.
 */
class KeptRequest implements HandshakeRequest {
  private paired: Headers | null = null;
  readonly subprotocols: readonly string[];
  readonly extensions: readonly string[];

  constructor(
    readonly path: string,
    /** Names and values alternating, joined by '\n'; '' for none. */
    private readonly packed: string,
    subprotocols: readonly string[],
    extensions: readonly string[],
  ) {
    this.subprotocols = subprotocols.length > 0 ? subprotocols : NONE;
    this.extensions = extensions.length > 0 ? extensions : NONE;
  }

  get host(): string {
    // Read from the packed headers each time (the core accepted exactly one
    // Host): keeping it would cost every connection a field and a string.
    const flat = this.packed.split('\n');
    for (let i = 0; i + 1 < flat.length; i += 2) if (flat[i].toLowerCase() === 'host') return flat[i + 1].trim();
    return '';
  }

  get headers(): Headers {
    // As the core normalizes them: names lower-cased, values trimmed.
    this.paired ??= pairHeaders(this.packed === '' ? NONE : this.packed.split('\n')).map(([name, value]) => [name.toLowerCase(), value.trim()]);
    return this.paired;
  }
}

/** Header pairs as {@link KeptRequest} keeps them. */
function packHeaders(headers: Headers): string {
  const flat: string[] = [];
  for (const [name, value] of headers) flat.push(name, value);
  return flat.join('\n');
}

/**
 * Node's flat `rawHeaders` as the core's pairs, already as the core keeps
 * them (names lower-case, values trimmed), so it need not copy them again.
 */
function normalizedPairs(raw: readonly string[]): Headers {
  const out: Headers = new Array<[string, string]>(raw.length >>> 1);
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i];
    out[i >>> 1] = [LOWER_CASE.get(name) ?? name.toLowerCase(), raw[i + 1].trim()];
  }
  return out;
}

/** The usual spellings of the usual handshake headers, lower-cased once rather than per request. */
const LOWER_CASE = new Map(
  [
    'Host',
    'Upgrade',
    'Connection',
    'Origin',
    'User-Agent',
    'Sec-WebSocket-Key',
    'Sec-WebSocket-Version',
    'Sec-WebSocket-Extensions',
    'Sec-WebSocket-Protocol',
    'Cookie',
    'Authorization',
    'Accept-Encoding',
    'Accept-Language',
    'Cache-Control',
    'Pragma',
  ].map((name) => [name, name.toLowerCase()]),
);

function isIncomingMessage(value: unknown): value is IncomingMessage {
  return typeof value === 'object' && value !== null && Array.isArray((value as IncomingMessage).rawHeaders);
}

/**
 * The server end of a WebSocket connection. Get one with {@link Server.accept}.
 *
 * @example
 * ```ts
 * net.createServer(async (socket) => {
 *   const ws = await Server.accept(socket);
 *   for await (const msg of ws) await ws.send(msg);
 * });
 * ```
 */
export class Server extends Base {
  private handshakeRequest: HandshakeRequest | null = null;
  /** The upgrade form's `req.rawHeaders`, kept instead of the core's header pairs. */
  private rawHeaders: readonly string[] | null = null;
  private readonly serverOptions: ServerOptions | undefined;

  private constructor(socket: Duplex, options: ServerOptions | undefined, resolved: ResolvedOptions) {
    super(socket, new WSConnection(ConnectionType.SERVER, { maxMessageSize: resolved.maxMessageSize }), resolved);
    this.serverOptions = options;
  }

  /** The handshake request: path with query, host, headers, offers. */
  get request(): HandshakeRequest {
    // Set before accept() resolves, so users never see null.
    return this.handshakeRequest!;
  }

  /**
   * Accepts a WebSocket connection on a raw `net`/`tls` socket: reads the
   * HTTP request, answers 101, and resolves once open. A bad request is
   * answered with the core's status (400, 426, ...) and the promise rejects
   * with {@link ConnectionError} carrying it; a request not complete within
   * `handshakeTimeout` is dropped. Either way the socket is closed.
   */
  static accept(socket: Socket | TLSSocket, options?: ServerOptions): Promise<Server>;
  /**
   * Accepts a WebSocket connection from Node's HTTP `'upgrade'` event: the
   * request is already parsed (`req.rawHeaders`, `req.url`), `head` holds any
   * frames that came with it.
   */
  static accept(req: IncomingMessage, socket: Duplex, head: Buffer | Uint8Array, options?: ServerOptions): Promise<Server>;
  static accept(
    first: Socket | TLSSocket | IncomingMessage,
    second?: ServerOptions | Duplex,
    head?: Buffer | Uint8Array,
    options?: ServerOptions,
  ): Promise<Server> {
    if (tracing) trace('simple-websocket', 'Server.accept', isIncomingMessage(first) ? `upgrade ${first.url ?? '/'}` : 'raw socket');
    const upgrade = isIncomingMessage(first);
    const socket = upgrade ? (second as Duplex) : first;
    const opts = upgrade ? options : (second as ServerOptions | undefined);
    let resolved: ResolvedOptions;
    try {
      resolved = resolveOptions(opts);
    } catch (error) {
      // Checked before anything is read or written; the socket was handed to us, so it is closed.
      socket.destroy();
      const message = error instanceof Error ? error.message : String(error);
      return Promise.reject(new ConnectionError(`invalid Server.accept options: ${message}`, 'WS_INVALID_OPTIONS', { cause: error }));
    }
    try {
      const ws = new Server(socket, opts, resolved);
      return upgrade ? ws.upgrade(first, head) : ws.handshake();
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  /**
   * Picks the subprotocol: `selectSubprotocol` when given, else the first of
   * `subprotocols` the client offered. Subclasses may override it.
   */
  protected chooseSubprotocol(offered: readonly string[]): string | null {
    const select = this.serverOptions?.selectSubprotocol;
    if (select !== undefined) {
      const choice = select(offered);
      return choice !== null && offered.includes(choice) ? choice : null;
    }
    for (const protocol of this.options.subprotocols) if (offered.includes(protocol)) return protocol;
    return null;
  }

  /** Raw socket: the reader feeds the request to the core; the `Request` event answers it. */
  private handshake(): Promise<this> {
    return this.whenOpen(this.options.handshakeTimeout);
  }

  /** Node already parsed the request: hand it to the core, then the frames in `head`. */
  private upgrade(req: IncomingMessage, head: Buffer | Uint8Array | undefined): Promise<this> {
    // The whole handshake runs now, so the promise is made settled: no waiter, no timer.
    this.rawHeaders = req.rawHeaders;
    try {
      this.conn.initiateUpgradeConnection(normalizedPairs(req.rawHeaders), req.url ?? '/');
      this.handleEvents();
    } catch (error) {
      this.handleHandshakeError(error);
      return this.whenOpen(null);
    }
    // The 101 is written; bytes that came with the request are frames.
    if (head !== undefined && head.byteLength > 0 && this.connected) {
      this.conn.receiveData(head);
      this.handleEvents();
    }
    return this.whenOpen(null);
  }

  protected override handleHandshakeEvent(event: Event): void {
    if (!(event instanceof Request)) return;
    const raw = this.rawHeaders;
    this.handshakeRequest = new KeptRequest(
      event.target,
      raw === null ? packHeaders(event.extraHeaders) : raw.join('\n'),
      event.subprotocols,
      event.extensions as readonly string[],
    );
    this.rawHeaders = null;
    const pmd = this.options.perMessageDeflate;
    const accept = new AcceptConnection({
      subprotocol: this.chooseSubprotocol(event.subprotocols),
      extensions: pmd === false ? NO_EXTENSIONS : [new PerMessageDeflate(pmd)],
      extraHeaders: headerList(this.serverOptions?.headers),
    });
    this.writer.writeNow(this.conn.send(accept));
    this.opened(accept.subprotocol);
  }

  protected override handleHandshakeError(error: unknown): void {
    const hint = error instanceof RemoteProtocolError ? error.eventHint : undefined;
    let statusCode: number | undefined;
    if (hint !== undefined) {
      try {
        this.writer.writeNow(this.conn.send(hint));
        statusCode = hint.statusCode;
      } catch {
        // The core cannot answer in its state: just close.
      }
    }
    const message = error instanceof Error ? error.message : String(error);
    this.failHandshake(
      new ConnectionError(`bad WebSocket handshake request: ${message}`, 'WS_HANDSHAKE_INVALID', {
        statusCode,
        cause: error,
      }),
    );
  }
}

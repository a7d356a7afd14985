/**
 * `Server`: the server end of a WebSocket connection (simple-websocket's
 * `Server`), accepted from a raw socket or from Node's HTTP `'upgrade'` event.
 *
 * @module
 */
import type { IncomingMessage } from 'node:http';
import type { IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import {
  AcceptConnection,
  ConnectionType,
  ExtendedConnect,
  pairHeaders,
  PerMessageDeflate,
  RemoteProtocolError,
  Request,
  WSConnection,
  type Event,
  type Headers,
  type PreparedMessage,
  type RejectConnection,
} from '@wsstack/wsproto';
import { traceFor, tracing } from '@wsstack/wsproto/internal';
import { Base } from './base';
import { ConnectionError, describeValue } from './errors';
import type { HandshakeRequest } from './handshake-request';
import { abortTransport, fieldsOf, isServerHttp2Stream, respond } from './http2-stream';
import { headerList, resolveOptions, type ResolvedOptions, type ServerOptionsBase } from './options';
import { SocketWriter } from './socket-writer';
import { Subscriptions } from './subscriptions';
import { checkTopic, Topics, type TopicMember } from './topics';

export type { HandshakeRequest };

/** Options of {@link Server.accept}. */
export interface ServerOptions extends ServerOptionsBase {
  /**
   * The registry `ws.subscribe(topic)` joins and `ws.publish` sends
   * through. Default {@link Topics.default}, the process's shared one.
   */
  topics?: Topics;
}


const NONE: readonly string[] = Object.freeze([]);
const NO_EXTENSIONS: readonly PerMessageDeflate[] = Object.freeze([]);
const NO_TOPICS: ReadonlySet<string> = new Set();

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
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const name = flat[i].toLowerCase();
      if (name === 'host' || name === ':authority') return flat[i + 1].trim();
    }
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

/** How `Server.accept` was called, for the trace. */
function acceptForm(first: unknown): string {
  if (isServerHttp2Stream(first)) return 'HTTP/2 stream';
  return isIncomingMessage(first) ? `upgrade ${first.url ?? '/'}` : 'raw socket';
}

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
export class Server extends Base implements TopicMember {
  private handshakeRequest: HandshakeRequest | null = null;
  /** The permessage-deflate extension offered in our answer (enabled only if negotiated), for published frames. */
  private deflate: PerMessageDeflate | null = null;
  /** The topics this connection is in; made at the first subscribe. */
  private subscriptions: Subscriptions | null = null;
  /** The upgrade form's `req.rawHeaders`, kept instead of the core's header pairs. */
  private rawHeaders: readonly string[] | null = null;
  private readonly serverOptions: ServerOptions | undefined;

  private constructor(socket: Duplex, options: ServerOptions | undefined, resolved: ResolvedOptions, http2 = false) {
    const core = { maxMessageSize: resolved.maxMessageSize };
    super(socket, http2 ? new ExtendedConnect(ConnectionType.SERVER, core) : new WSConnection(ConnectionType.SERVER, core), resolved);
    this.serverOptions = options;
  }

  /** The handshake request: path with query, host, headers, offers. */
  get request(): HandshakeRequest {
    // Set before accept() resolves, so users never see null.
    return this.handshakeRequest!;
  }

  // ---------------------------------------------------------------- topics

  /** The registry this connection's topics live in: the `topics` option, else {@link Topics.default}. */
  get topicRegistry(): Topics {
    return this.subscriptions?.registry ?? this.serverOptions?.topics ?? Topics.default;
  }

  /** The topics this connection is subscribed to (a read-only live view); empty once closed. */
  get topics(): ReadonlySet<string> {
    return this.subscriptions?.view ?? NO_TOPICS;
  }

  /**
   * Joins `topic`: every later publish to it reaches this connection, until
   * {@link unsubscribe} or the close (membership ends with the connection).
   * Returns false when already subscribed, or when the connection is not
   * open (then nothing changes).
   *
   * @throws TypeError for a topic that is not a non-empty string
   */
  subscribe(topic: string): boolean {
    if (!this.connected) {
      checkTopic(topic);
      return false;
    }
    return (this.subscriptions ??= new Subscriptions(this.topicRegistry, this)).subscribe(topic);
  }

  /**
   * Leaves `topic`. Returns false when it was not subscribed.
   *
   * @throws TypeError for a topic that is not a non-empty string
   */
  unsubscribe(topic: string): boolean {
    if (this.subscriptions === null) {
      checkTopic(topic);
      return false;
    }
    return this.subscriptions.unsubscribe(topic);
  }

  /** True while subscribed to `topic`. */
  isSubscribed(topic: string): boolean {
    return this.subscriptions?.view.has(topic) ?? false;
  }

  /**
   * Publishes `data` to `topic` in this connection's registry, to every
   * member but this one (as `ws.publish` in uWebSockets and Bun); see
   * {@link Topics.publish}. Returns at once with the number of local
   * members it was written to.
   */
  publish(topic: string, data: string | Uint8Array): number {
    return this.topicRegistry.publish(topic, data, { except: this });
  }

  /** @internal A published message's frame, in this connection's encoding, into the socket. */
  writePrepared(message: PreparedMessage): void {
    const frame = message.frameFor(this.deflate);
    if (tracing) this.traceStep('Server.writePrepared', `published frame ${frame.length} B, shared`, { bytes: frame });
    this.writer.write(frame);
  }

  /** @internal Too slow for its topics: 1013 Try Again Later, behind what it has not read yet. */
  closeSlow(): void {
    void this.closeWithStatus(1013, 'slow consumer');
  }

  /** @internal Out of every topic (the registry dropped it, or it closed). */
  topicsCleared(): void {
    this.subscriptions?.clear();
  }

  /** @internal The socket closed: membership ends with the connection. */
  override onClose(): void {
    super.onClose();
    this.subscriptions?.clear();
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
  /**
   * Accepts a WebSocket on an HTTP/2 stream (RFC 8441's extended CONNECT),
   * from node:http2's `'stream'` event (or `req.stream`, `req.headers` in a
   * compatibility API `'connect'` listener). The server must be made with
   * `settings: { enableConnectProtocol: true }`. Answers `:status` 200, or
   * refuses a bad request with the core's status and resets the stream.
   *
   * @param headers - the request's fields: the event's header object, or its `rawHeaders`
   */
  static accept(stream: ServerHttp2Stream, headers: IncomingHttpHeaders | readonly string[], options?: ServerOptions): Promise<Server>;
  static accept(
    first: Socket | TLSSocket | IncomingMessage | ServerHttp2Stream,
    second?: ServerOptions | Duplex | IncomingHttpHeaders | readonly string[],
    head?: Buffer | Uint8Array | ServerOptions,
    options?: ServerOptions,
  ): Promise<Server> {
    const stream = isServerHttp2Stream(first) ? first : undefined;
    const upgrade = stream === undefined && isIncomingMessage(first);
    const socket: Duplex = stream ?? (upgrade ? (second as Duplex) : (first as Duplex));
    if (tracing) traceFor(socket, 'server', 'simple-websocket', 'Server.accept', acceptForm(first));
    const opts = (stream ? head : upgrade ? options : second) as ServerOptions | undefined;
    let resolved: ResolvedOptions;
    try {
      resolved = resolveOptions(opts);
      if (opts?.topics !== undefined && !(opts.topics instanceof Topics)) {
        throw new TypeError(`option topics must be a Topics registry, got ${describeValue(opts.topics)}`);
      }
    } catch (error) {
      // Checked before anything is read or written; the socket was handed to us, so it is closed.
      socket.destroy();
      const message = error instanceof Error ? error.message : String(error);
      return Promise.reject(new ConnectionError(`invalid Server.accept options: ${message}`, 'WS_INVALID_OPTIONS', { cause: error }));
    }
    try {
      if (stream) return new Server(stream, opts, resolved, true).acceptStream(second as IncomingHttpHeaders | readonly string[]);
      if (upgrade) return new Server(socket, opts, resolved).upgrade(first, head as Buffer | Uint8Array | undefined);
      return new Server(socket, opts, resolved).handshake();
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
      (this.conn as WSConnection).initiateUpgradeConnection(normalizedPairs(req.rawHeaders), req.url ?? '/');
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

  /** HTTP/2: the stream's request fields go to the core; the answer goes out as the response's fields. */
  private acceptStream(headers: IncomingHttpHeaders | readonly string[]): Promise<this> {
    // As in the upgrade form, the whole handshake runs now: no waiter, no timer.
    try {
      (this.conn as ExtendedConnect).receiveHeaders(fieldsOf(headers));
      this.handleEvents();
    } catch (error) {
      this.handleHandshakeError(error);
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
    if (pmd !== false) this.deflate = new PerMessageDeflate(pmd);
    const accept = new AcceptConnection({
      subprotocol: this.chooseSubprotocol(event.subprotocols),
      extensions: this.deflate === null ? NO_EXTENSIONS : [this.deflate],
      extraHeaders: headerList(this.serverOptions?.headers),
    });
    this.answer(accept);
    this.opened(accept.subprotocol);
  }

  /** Sends the handshake's answer: a 101 or a refusal's head on a socket, the response's fields on an HTTP/2 stream. */
  private answer(event: AcceptConnection | RejectConnection): void {
    const conn = this.conn;
    if (conn instanceof ExtendedConnect) respond(this.socket as ServerHttp2Stream, conn.sendHeaders(event), event.type === 'RejectConnection');
    else SocketWriter.writeNow(this.socket, conn.send(event));
  }

  protected override handleHandshakeError(error: unknown): void {
    const hint = error instanceof RemoteProtocolError ? error.eventHint : undefined;
    let statusCode: number | undefined;
    if (hint !== undefined) {
      try {
        this.answer(hint);
        statusCode = hint.statusCode;
      } catch {
        // The core cannot answer in its state: just close.
      }
    }
    // An HTTP/2 stream ended without an answer would wait for one: reset it.
    if (statusCode === undefined && this.conn instanceof ExtendedConnect) abortTransport(this.socket);
    const message = error instanceof Error ? error.message : String(error);
    this.failHandshake(
      new ConnectionError(`bad WebSocket handshake request: ${message}`, 'WS_HANDSHAKE_INVALID', {
        statusCode,
        cause: error,
      }),
    );
  }
}

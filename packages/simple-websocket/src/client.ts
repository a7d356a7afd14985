/**
 * `Client`: the client end of a WebSocket connection (simple-websocket's
 * `Client`), over `ws://` (TCP) or `wss://` (TLS).
 *
 * @module
 */
import type { ClientHttp2Stream, IncomingHttpHeaders, IncomingHttpStatusHeader } from 'node:http2';
import * as net from 'node:net';
import type { Duplex } from 'node:stream';
import * as tls from 'node:tls';
import {
  ConnectionType,
  ExtendedConnect,
  PerMessageDeflate,
  Request,
  WSConnection,
  type Event,
  type Headers,
} from '@wsstack/wsproto';
import { traceEvent, tracing } from '@wsstack/wsproto/internal';
import { Base } from './base';
import { ConnectionError } from './errors';
import { acquireSessionWithin, release, track } from './http2-sessions';
import { abortTransport, endsStream, fieldsOf, toHttp2Headers } from './http2-stream';
import { headerList, resolveOptions, type ClientOptions, type ResolvedOptions } from './options';

/** How much of a refusal's body goes into the error message. */
const MAX_REJECT_BODY = 1024;

/** What each handshake event means for `connect()`, for the trace. */
const HANDSHAKE_OUTCOME: Record<string, string> = {
  AcceptConnection: ': connect() resolves',
  RejectConnection: ': refused, connect() will reject with ConnectionError',
};

/**
 * The client end of a WebSocket connection. Get one with {@link Client.connect}.
 *
 * @example
 * ```ts
 * const ws = await Client.connect('wss://example.com/chat', { subprotocols: ['chat'] });
 * await ws.send('hello');
 * console.log(await ws.receive());
 * await ws.close();
 * ```
 */
export class Client extends Base {
  /** A refusal in progress: its status and the start of its body. */
  private rejection: { statusCode: number; body: Uint8Array[]; bytes: number } | null = null;

  private constructor(socket: Duplex, resolved: ResolvedOptions, conn?: ExtendedConnect) {
    super(socket, conn ?? new WSConnection(ConnectionType.CLIENT, { maxMessageSize: resolved.maxMessageSize }), resolved);
  }

  /**
   * Opens a WebSocket connection to `url` (`ws://`, `wss://`; `http://` and
   * `https://` are taken as their WebSocket twins) and resolves once the
   * server accepted. Rejects with {@link ConnectionError}: `statusCode` set
   * when the server refused with an HTTP status, `code` saying what failed.
   */
  static connect(url: string | URL, options?: ClientOptions): Promise<Client> {
    let target: URL;
    try {
      target = new URL(url);
    } catch (error) {
      return Promise.reject(new ConnectionError(`invalid WebSocket URL ${String(url)}`, 'WS_INVALID_URL', { cause: error }));
    }
    let resolved: ResolvedOptions;
    try {
      resolved = resolveOptions(options);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new TypeError(String(error)));
    }
    const secure = target.protocol === 'wss:' || target.protocol === 'https:';
    if (!secure && target.protocol !== 'ws:' && target.protocol !== 'http:') {
      return Promise.reject(
        new ConnectionError(`unsupported URL scheme ${target.protocol} (use ws: or wss:)`, 'WS_INVALID_URL'),
      );
    }
    if (target.hash !== '') {
      return Promise.reject(new ConnectionError('a WebSocket URL has no fragment', 'WS_INVALID_URL'));
    }
    if (options?.http2 === true) return Client.connectHttp2(target, secure, resolved, options);
    // URL keeps IPv6 literals bracketed; sockets want them bare.
    const host = target.hostname.startsWith('[') ? target.hostname.slice(1, -1) : target.hostname;
    const port = target.port === '' ? (secure ? 443 : 80) : Number(target.port);
    let socket: Duplex;
    if (secure) {
      const tlsOptions: tls.ConnectionOptions = { ...options?.tls, host, port };
      // SNI takes a host name, never an IP address.
      if (tlsOptions.servername === undefined && net.isIP(host) === 0) tlsOptions.servername = host;
      socket = tls.connect(tlsOptions);
    } else {
      socket = net.connect({ host, port });
    }
    const ws = new Client(socket, resolved);
    if (tracing) ws.traceStep('Client.connect', `${secure ? 'tls' : 'net'}.connect ${host}:${port} for ${String(url)}`);
    const opened = ws.whenOpen(resolved.handshakeTimeout);
    ws.sendRequest(target, options);
    return opened;
  }

  /**
   * RFC 8441: the WebSocket is a stream on the origin's HTTP/2 session,
   * opened once the server's SETTINGS allow extended CONNECT. The deadline
   * covers the session, its SETTINGS and the response.
   */
  private static async connectHttp2(target: URL, secure: boolean, resolved: ResolvedOptions, options: ClientOptions): Promise<Client> {
    const started = Date.now();
    const conn = new ExtendedConnect(ConnectionType.CLIENT, { maxMessageSize: resolved.maxMessageSize, scheme: secure ? 'https' : 'http' });
    // The request's fields first: a bad option fails before any connection is made.
    const fields = conn.sendHeaders(buildRequest(target, resolved, options));
    const origin = new URL(`${secure ? 'https' : 'http'}://${target.host}`);
    const session = await acquireSessionWithin(origin, options.tls, resolved.handshakeTimeout);
    let stream: ClientHttp2Stream;
    try {
      stream = session.request(toHttp2Headers(fields), { endStream: false });
    } catch (error) {
      release(session);
      throw new ConnectionError(`the HTTP/2 session could not open a stream: ${(error as Error).message}`, 'WS_CONNECT_FAILED', { cause: error });
    }
    track(stream, session);
    const ws = new Client(stream, resolved, conn);
    if (tracing) ws.traceStep('Client.connectHttp2', `CONNECT ${target.pathname} as a stream of the session`);
    (stream as ResponseStream)[kClient] = ws;
    stream.once('response', onResponse);
    return ws.whenOpen(Math.max(1, resolved.handshakeTimeout - (Date.now() - started)));
  }

  private sendRequest(target: URL, options: ClientOptions | undefined): void {
    // Written before the socket connects: Node queues it until then.
    this.writer.writeNow(this.conn.send(buildRequest(target, this.options, options)));
  }

  /** @internal HTTP/2: the response's fields arrived on the stream. */
  onResponseFields(headers: IncomingHttpHeaders & IncomingHttpStatusHeader, flags: number): void {
    try {
      (this.conn as ExtendedConnect).receiveHeaders(fieldsOf(headers), endsStream(flags));
      this.handleEvents();
    } catch (error) {
      this.handleHandshakeError(error);
    }
  }

  protected override handleHandshakeEvent(event: Event): void {
    if (tracing) this.traceStep('Client.handleHandshakeEvent', `${traceEvent(event)}${HANDSHAKE_OUTCOME[event.type] ?? ''}`);
    switch (event.type) {
      case 'AcceptConnection':
        this.opened(event.subprotocol);
        break;
      case 'RejectConnection':
        this.rejection = { statusCode: event.statusCode, body: [], bytes: 0 };
        if (!event.hasBody) this.refused();
        break;
      case 'RejectData': {
        const rejection = this.rejection;
        if (rejection === null) break;
        if (rejection.bytes < MAX_REJECT_BODY) {
          const piece = event.data.subarray(0, MAX_REJECT_BODY - rejection.bytes);
          rejection.body.push(piece);
          rejection.bytes += piece.byteLength;
        }
        if (event.bodyFinished) this.refused();
        break;
      }
      default:
        break;
    }
  }

  protected override handleHandshakeError(error: unknown): void {
    // A refusal comes as RejectConnection events, never as an error: this is a bad response.
    const message = error instanceof Error ? error.message : String(error);
    this.failHandshake(new ConnectionError(`bad WebSocket handshake response: ${message}`, 'WS_HANDSHAKE_INVALID', { cause: error }));
    abortTransport(this.socket);
  }

  private refused(): void {
    const rejection = this.rejection!;
    this.rejection = null;
    const body = Buffer.concat(rejection.body).toString('utf8').trim();
    this.failHandshake(
      new ConnectionError(
        `the server refused the WebSocket handshake with HTTP ${rejection.statusCode}${body === '' ? '' : `: ${body}`}`,
        'WS_HANDSHAKE_REJECTED',
        { statusCode: rejection.statusCode },
      ),
    );
    abortTransport(this.socket);
  }
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

/** The client a stream's response goes to, so the shared listener needs no closure. */
const kClient = Symbol('wsstack.client');
type ResponseStream = ClientHttp2Stream & { [kClient]?: Client };

function onResponse(this: ResponseStream, headers: IncomingHttpHeaders & IncomingHttpStatusHeader, flags: number): void {
  const client = this[kClient];
  this[kClient] = undefined;
  client?.onResponseFields(headers, flags);
}

/**
 * `Client`: the client end of a WebSocket connection (simple-websocket's
 * `Client`), over `ws://` (TCP) or `wss://` (TLS).
 *
 * @module
 */
import { Buffer } from 'node:buffer';
import type { ClientHttp2Stream, IncomingHttpHeaders, IncomingHttpStatusHeader } from 'node:http2';
import * as net from 'node:net';
import type { Duplex } from 'node:stream';
import * as tls from 'node:tls';
import type { Event, ExtendedConnect, Headers, WSConnection } from '@wsstack/wsproto';
import { traceEvent, tracing } from '@wsstack/wsproto/internal';
import { Base } from './base';
import { planConnection, type ClientPlan } from './client-request';
import { ConnectionError } from './errors';
import { acquireSessionWithin, release, track } from './http2-sessions';
import { abortTransport, endsStream, fieldsOf, toHttp2Headers } from './http2-stream';
import type { ClientOptions, ResolvedOptions } from './options';
import { SocketWriter } from './socket-writer';

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
  /** A refusal in progress: its status, headers and the start of its body. */
  private rejection: { statusCode: number; headers: Headers; body: Uint8Array[]; bytes: number } | null = null;

  private constructor(socket: Duplex, conn: WSConnection | ExtendedConnect, resolved: ResolvedOptions) {
    super(socket, conn, resolved);
  }

  /**
   * Opens a WebSocket connection to `url` (`ws://`, `wss://`; `http://` and
   * `https://` are taken as their WebSocket twins) and resolves once the
   * server accepted. Every failure is a rejection with
   * {@link ConnectionError}, never a throw: `code` says what failed,
   * `statusCode` and `headers` are set when the server refused with an HTTP
   * status. The URL and every option are checked before any socket is opened
   * (`WS_INVALID_URL`, `WS_INVALID_OPTIONS`).
   */
  static connect(url: string | URL, options?: ClientOptions): Promise<Client> {
    let plan: ClientPlan;
    try {
      plan = planConnection(url, options);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    if (plan.http2) return Client.connectHttp2(plan, options?.tls);
    let socket: Duplex;
    try {
      socket = plan.tls !== null ? tls.connect(plan.tls) : net.connect({ host: plan.host, port: plan.port });
    } catch (error) {
      // node:net and node:tls throw only on arguments they refuse (a bad certificate, ...); nothing was opened.
      const message = error instanceof Error ? error.message : String(error);
      return Promise.reject(new ConnectionError(`invalid Client.connect options: ${message}`, 'WS_INVALID_OPTIONS', { cause: error }));
    }
    const ws = new Client(socket, plan.conn, plan.resolved);
    if (tracing) ws.traceStep('Client.connect', `${plan.secure ? 'tls' : 'net'}.connect ${plan.host}:${plan.port} for ${String(url)}`);
    const opened = ws.whenOpen(plan.resolved.handshakeTimeout);
    // Written before the socket connects: Node queues it until then.
    SocketWriter.writeNow(socket, plan.request);
    return opened;
  }

  /**
   * RFC 8441: the WebSocket is a stream on the origin's HTTP/2 session,
   * opened once the server's SETTINGS allow extended CONNECT. The deadline
   * covers the session, its SETTINGS and the response.
   */
  private static async connectHttp2(plan: ClientPlan & { http2: true }, tlsOptions: ClientOptions['tls']): Promise<Client> {
    const started = Date.now();
    const { target, secure, resolved, conn, fields } = plan;
    const origin = new URL(`${secure ? 'https' : 'http'}://${target.host}`);
    const session = await acquireSessionWithin(origin, tlsOptions, resolved.handshakeTimeout);
    let stream: ClientHttp2Stream;
    try {
      stream = session.request(toHttp2Headers(fields), { endStream: false });
    } catch (error) {
      release(session);
      throw new ConnectionError(`the HTTP/2 session could not open a stream: ${(error as Error).message}`, 'WS_CONNECT_FAILED', { cause: error });
    }
    track(stream, session);
    const ws = new Client(stream, conn, resolved);
    if (tracing) ws.traceStep('Client.connectHttp2', `CONNECT ${target.pathname} as a stream of the session`);
    (stream as ResponseStream)[kClient] = ws;
    stream.once('response', onResponse);
    return ws.whenOpen(Math.max(1, resolved.handshakeTimeout - (Date.now() - started)));
  }

  /** @internal HTTP/2: the response's fields arrived on the stream. */
  onResponseFields(headers: IncomingHttpHeaders & IncomingHttpStatusHeader, flags: number): void {
    try {
      (this.conn as ExtendedConnect).receiveHeaders(fieldsOf(headers), endsStream(flags));
      // HTTP/2 hands over the fields before the body's first DATA frame, which
      // is usually already read: give a refusal one turn for it, no more.
      super.handleEvents();
      if (this.rejection !== null) setImmediate(() => this.rejection !== null && this.refused());
    } catch (error) {
      this.handleHandshakeError(error);
    }
  }

  /**
   * Runs the core's events; a refusal whose body is still arriving is
   * settled once the read that brought its head is handled: the status and
   * headers do not wait for a body that may never end.
   */
  protected override handleEvents(): void {
    super.handleEvents();
    if (this.rejection !== null) this.refused();
  }

  protected override handleHandshakeEvent(event: Event): void {
    if (tracing) this.traceStep('Client.handleHandshakeEvent', `${traceEvent(event)}${HANDSHAKE_OUTCOME[event.type] ?? ''}`);
    switch (event.type) {
      case 'AcceptConnection':
        this.opened(event.subprotocol);
        break;
      case 'RejectConnection':
        this.rejection = { statusCode: event.statusCode, headers: event.headers, body: [], bytes: 0 };
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
        { statusCode: rejection.statusCode, headers: rejection.headers },
      ),
    );
    abortTransport(this.socket);
  }
}

/** The client a stream's response goes to, so the shared listener needs no closure. */
const kClient = Symbol('wsstack.client');
type ResponseStream = ClientHttp2Stream & { [kClient]?: Client };

function onResponse(this: ResponseStream, headers: IncomingHttpHeaders & IncomingHttpStatusHeader, flags: number): void {
  const client = this[kClient];
  this[kClient] = undefined;
  client?.onResponseFields(headers, flags);
}

/**
 * The WebSocket opening handshake (RFC 6455 section 4), both ends: wsproto's
 * `H11Handshake`, on llhttp in place of h11. Bytes in, events out, events in,
 * bytes out; once it completes it hands over to a {@link Connection}.
 *
 * @module
 */
import { concatBytes, EMPTY_BYTES } from './bytes';
import { Connection, ConnectionState, ConnectionType } from './connection';
import { LocalProtocolError, RemoteProtocolError } from './errors';
import { AcceptConnection, RejectConnection, RejectData, type Event, type Headers, type Request } from './events';
import { negotiateExtensions, type Extension } from './extensions';
import { checkRequest, checkRequestEvent, checkResponse, refuse, requestHeaders, type CheckedRequest, type SentRequest } from './handshake-checks';
import { normalizeHeaders } from './headers';
import { checkHeaders, encodeHead, statusLine } from './http-head';
import { HttpParseError, HttpParser } from './http-parser';
import { DEFAULT_OPTIONS, type ConnectionOptions } from './options';
import { trace, tracing } from './trace';
import { generateAcceptToken, generateNonce } from './utilities';

/**
 * Where the handshake is. Each phase maps to one public {@link ConnectionState}
 * (see {@link PHASE_STATE}); every transition goes through `Handshake.to()`.
 */
enum Phase {
  /** Server: waiting for the request. Client: the request is not sent yet. */
  IDLE = 'IDLE',
  /** Client: request sent, waiting for the response head. */
  AWAITING_RESPONSE = 'AWAITING_RESPONSE',
  /** Server: the Request event is out; waiting for AcceptConnection or RejectConnection. */
  REQUEST_RECEIVED = 'REQUEST_RECEIVED',
  /** Accepted: the Connection takes over. */
  OPEN = 'OPEN',
  /** Server: sending a refusal's body. Client: receiving one. */
  REJECT_BODY = 'REJECT_BODY',
  /** Server: the peer's request was bad; the refusal (the error's eventHint) is owed. */
  FAILED = 'FAILED',
  /** Over: nothing more is parsed or sent. */
  CLOSED = 'CLOSED',
}

const PHASE_STATE: Record<Phase, ConnectionState> = {
  [Phase.IDLE]: ConnectionState.CONNECTING,
  [Phase.AWAITING_RESPONSE]: ConnectionState.CONNECTING,
  [Phase.REQUEST_RECEIVED]: ConnectionState.CONNECTING,
  [Phase.OPEN]: ConnectionState.OPEN,
  [Phase.REJECT_BODY]: ConnectionState.REJECTING,
  [Phase.FAILED]: ConnectionState.REJECTING,
  [Phase.CLOSED]: ConnectionState.CLOSED,
};

/** The transitions the handshake allows, from each phase. */
const TRANSITIONS: Record<Phase, readonly Phase[]> = {
  [Phase.IDLE]: [Phase.AWAITING_RESPONSE, Phase.REQUEST_RECEIVED, Phase.REJECT_BODY, Phase.FAILED, Phase.CLOSED],
  [Phase.AWAITING_RESPONSE]: [Phase.OPEN, Phase.REJECT_BODY, Phase.CLOSED],
  [Phase.REQUEST_RECEIVED]: [Phase.OPEN, Phase.REJECT_BODY, Phase.CLOSED],
  [Phase.OPEN]: [],
  [Phase.REJECT_BODY]: [Phase.CLOSED],
  [Phase.FAILED]: [Phase.REJECT_BODY, Phase.CLOSED],
  [Phase.CLOSED]: [],
};

/**
 * The opening handshake of one connection (wsproto's `H11Handshake`).
 *
 * Server: feed the request's bytes (or hand in a request parsed elsewhere
 * with {@link initiateUpgradeConnection}); a {@link Request} event comes
 * out; answer it with {@link AcceptConnection} (state OPEN, {@link connection}
 * set) or {@link RejectConnection} (+ {@link RejectData}).
 *
 * Client: send a {@link Request}, feed the response's bytes; an
 * {@link AcceptConnection} (state OPEN) or a {@link RejectConnection} and its
 * {@link RejectData} come out.
 *
 * Bytes that follow the handshake in the same chunk are frames: they are kept
 * ({@link trailingData}) and handed to the {@link Connection}.
 */
export class Handshake {
  /** Which end this is. */
  readonly type: ConnectionType;
  private readonly options: ConnectionOptions;
  private phase = Phase.IDLE;
  /** Server: made when the first request bytes arrive (an upgrade handed in parsed needs none). */
  private parser: HttpParser | null = null;
  /** Events not yet taken; made on the first one (a server only ever queues its Request). */
  private queue: Event[] | null = null;
  private trailing: Uint8Array[] = [];
  private eof = false;
  /** Server: bytes of a request have arrived (so it cannot be handed in parsed). */
  private sawBytes = false;
  private received: CheckedRequest | null = null;
  private sent: SentRequest | null = null;
  private _connection: Connection | null = null;

  constructor(type: ConnectionType, options: ConnectionOptions = {}) {
    this.type = type;
    this.options = options;
  }

  /** CONNECTING → OPEN, or → REJECTING → CLOSED. */
  get state(): ConnectionState {
    return PHASE_STATE[this.phase];
  }

  /** The connection the handshake opened; null until the state is OPEN. */
  get connection(): Connection | null {
    return this._connection;
  }

  /**
   * Bytes that followed the handshake's HTTP message: the first frames. Once
   * the state is OPEN they have been handed to {@link connection}.
   */
  get trailingData(): Uint8Array {
    return this.trailing.length === 0 ? EMPTY_BYTES : concatBytes(this.trailing);
  }

  /**
   * Feeds bytes from the peer, or `null` at EOF. Once OPEN, bytes go to the
   * {@link connection}; after a refusal they are ignored. Takes ownership of
   * `data`: bytes after the handshake are kept as views of it, not copies.
   *
   * @throws RemoteProtocolError when the peer's handshake is invalid. A
   *   server's state is then REJECTING and `eventHint` is the refusal to
   *   send; a client's state is CLOSED (close the transport).
   */
  receiveData(data: Uint8Array | null): void {
    switch (this.phase) {
      case Phase.OPEN:
        this._connection?.receiveData(data);
        return;
      case Phase.REQUEST_RECEIVED:
        // The request is parsed; what follows waits for the Connection.
        if (data === null) this.eof = true;
        else if (data.length > 0) this.trailing.push(data);
        return;
      case Phase.IDLE:
      case Phase.AWAITING_RESPONSE:
        if (this.type === ConnectionType.SERVER) this.receiveRequest(data);
        else this.receiveResponse(data);
        return;
      case Phase.REJECT_BODY:
        if (this.type === ConnectionType.CLIENT) this.receiveResponse(data);
        return;
      case Phase.FAILED:
      case Phase.CLOSED:
        return;
    }
  }

  /** Yields the events received so far: Request (server); AcceptConnection, RejectConnection, RejectData (client). */
  *events(): Generator<Event> {
    for (let event = this.nextEvent(); event !== null; event = this.nextEvent()) yield event;
  }

  /** The next queued event, or null: {@link events} without the generator. */
  nextEvent(): Event | null {
    const queue = this.queue;
    return queue !== null && queue.length > 0 ? (queue.shift() as Event) : null;
  }

  /**
   * The bytes that send `event`. Server: AcceptConnection, RejectConnection,
   * then RejectData when the refusal has a body. Client: Request.
   *
   * @throws LocalProtocolError WS_BAD_STATE when this end or state may not
   *   send the event; WS_BAD_EVENT when its fields are invalid (e.g. a
   *   subprotocol the client did not offer). The state is then unchanged.
   */
  send(event: Event): Uint8Array {
    const client = this.type === ConnectionType.CLIENT;
    switch (event.type) {
      case 'Request':
        if (!client || this.phase !== Phase.IDLE) break;
        return this.sendRequest(event);
      case 'AcceptConnection':
        if (client || this.phase !== Phase.REQUEST_RECEIVED) break;
        return this.sendAccept(event);
      case 'RejectConnection':
        if (client) break;
        if (this.phase !== Phase.IDLE && this.phase !== Phase.REQUEST_RECEIVED && this.phase !== Phase.FAILED) break;
        return this.sendReject(event);
      case 'RejectData':
        if (client || this.phase !== Phase.REJECT_BODY) break;
        if (event.bodyFinished) this.to(Phase.CLOSED);
        return event.data;
      default:
        break;
    }
    throw new LocalProtocolError(
      `a ${client ? 'client' : 'server'} cannot send ${event.type} in handshake state ${this.phase}`,
      'WS_BAD_STATE',
    );
  }

  /**
   * Server: takes a request whose HTTP an outer layer already parsed (Node's
   * `http` server, Express), as if its bytes had arrived: the same checks,
   * the same {@link Request} event. Pass bytes that followed it (Node's
   * `head`) to {@link receiveData} afterwards.
   *
   * @param headers the request's headers as `[name, value]` pairs in order
   *   (see {@link pairHeaders} for Node's `rawHeaders`); any case. The
   *   Request event carries them lower-cased and trimmed: a copy when they
   *   are not so already, else this very array (do not change it after).
   * @param path the request target, path and query
   * @throws LocalProtocolError WS_BAD_STATE on a client, or once bytes or a
   *   request have been received
   * @throws RemoteProtocolError as {@link receiveData} does
   */
  initiateUpgradeConnection(headers: Headers, path: string): void {
    if (this.type !== ConnectionType.SERVER || this.phase !== Phase.IDLE || this.sawBytes) {
      throw new LocalProtocolError(`cannot initiate an upgrade in handshake state ${this.phase}`, 'WS_BAD_STATE');
    }
    this.dropParser();
    // Copy only when needed: a caller that normalized already (ours does) costs nothing more.
    this.acceptRequest('GET', 1, 1, path, normalizeHeaders(headers));
  }

  // Server side.

  private receiveRequest(data: Uint8Array | null): void {
    if (data === null && this.parser === null) {
      this.to(Phase.CLOSED); // a probe or a closed connection, not an error
      return;
    }
    const parser = (this.parser ??= this.newParser());
    let rest: Uint8Array;
    try {
      if (data === null) {
        // finish() throws on a partial request; false means no byte ever came.
        parser.finish();
        this.dropParser();
        this.to(Phase.CLOSED); // a probe or a closed connection, not an error
        return;
      }
      if (data.length > 0) this.sawBytes = true;
      const { done, consumed } = parser.execute(data);
      if (!done) return;
      rest = data.subarray(consumed);
    } catch (error) {
      this.dropParser();
      throw this.failRemote(httpFailure(error));
    }
    this.dropParser();
    if (rest.length > 0) this.trailing.push(rest);
    this.acceptRequest(parser.method, parser.httpMajor, parser.httpMinor, parser.target, parser.headers);
  }

  /** RFC 6455 4.2.1's checks, then the Request event; or the error with the refusal to send. */
  private acceptRequest(method: string, major: number, minor: number, target: string, headers: Headers): void {
    let checked: CheckedRequest;
    try {
      checked = checkRequest(method, major, minor, target, headers);
    } catch (error) {
      const failure = error as RemoteProtocolError;
      if (tracing) trace('wsproto', 'Handshake.acceptRequest', `${method} ${target} fails RFC 6455 4.2.1: ${failure.message}; refuse with ${failure.eventHint?.statusCode ?? 400}`);
      throw this.failRemote(failure);
    }
    this.received = checked;
    if (tracing) trace('wsproto', 'Handshake.acceptRequest', `${method} ${target} passes RFC 6455 4.2.1`);
    this.push(checked.request);
    this.to(Phase.REQUEST_RECEIVED);
  }

  private sendAccept(event: AcceptConnection): Uint8Array {
    const { key, request } = this.received as CheckedRequest;
    // Fail on bad extra headers before any extension is asked to accept (and enables itself).
    checkHeaders(event.extraHeaders);
    const token = generateAcceptToken(key);
    if (tracing) trace('wsproto', 'generateAcceptToken', `${key} -> ${token}`);
    const head = ['Upgrade', 'websocket', 'Connection', 'Upgrade', 'Sec-WebSocket-Accept', token];
    if (event.subprotocol !== null) {
      if (!request.subprotocols.includes(event.subprotocol)) {
        throw new LocalProtocolError(
          `subprotocol ${JSON.stringify(event.subprotocol)} was not offered by the client`,
          'WS_BAD_EVENT',
        );
      }
      head.push('Sec-WebSocket-Protocol', event.subprotocol);
    }
    const { accepted, header } = negotiateExtensions(request.extensions as readonly string[], event.extensions);
    if (header !== '') head.push('Sec-WebSocket-Extensions', header);
    const bytes = encodeHead(statusLine(101), event.extraHeaders, head);
    if (tracing) trace('wsproto', 'Handshake.sendAccept', '101 Switching Protocols', { bytes });
    this.open(accepted);
    return bytes;
  }

  private sendReject(event: RejectConnection): Uint8Array {
    const { statusCode } = event;
    if (!Number.isInteger(statusCode) || statusCode < 200 || statusCode > 599) {
      throw new LocalProtocolError(`a refusal needs a final status (200-599), not ${statusCode}`, 'WS_BAD_EVENT');
    }
    const headers: Headers = [...event.headers];
    const has = (name: string) => headers.some(([n]) => n.toLowerCase() === name);
    if (!event.hasBody && !has('content-length') && !has('transfer-encoding')) headers.push(['Content-Length', '0']);
    // The handshake is over either way; a body without a length runs until close.
    if (!has('connection')) headers.push(['Connection', 'close']);
    const bytes = encodeHead(statusLine(statusCode), headers);
    if (tracing) trace('wsproto', 'Handshake.sendReject', statusLine(statusCode), { bytes });
    this.dropParser();
    this.to(event.hasBody ? Phase.REJECT_BODY : Phase.CLOSED);
    return bytes;
  }

  // Client side.

  private sendRequest(event: Request): Uint8Array {
    const extensions = checkRequestEvent(event);
    const key = generateNonce(this.options.random);
    const bytes = encodeHead(`GET ${event.target} HTTP/1.1`, requestHeaders(event, key, extensions));
    this.sent = { acceptToken: generateAcceptToken(key), subprotocols: [...event.subprotocols], extensions };
    if (tracing) trace('wsproto', 'Handshake.sendRequest', `GET ${event.target}, key ${key} (generateNonce); the 101 must answer ${this.sent.acceptToken}`, { bytes });
    this.parser = this.newParser('response');
    this.to(Phase.AWAITING_RESPONSE);
    return bytes;
  }

  private receiveResponse(data: Uint8Array | null): void {
    const parser = this.parser;
    if (parser === null) {
      this.to(Phase.CLOSED);
      throw new RemoteProtocolError('the server sent data before the request was sent', { code: 'WS_BAD_HTTP' });
    }
    let consumed = 0;
    try {
      if (data === null) {
        if (!parser.finish()) throw new HttpParseError('connection closed before the handshake response', 'HTTP_INCOMPLETE');
      } else {
        consumed = parser.execute(data).consumed;
      }
    } catch (error) {
      this.dropParser();
      this.to(Phase.CLOSED);
      const failure = httpFailure(error);
      throw new RemoteProtocolError(failure.message, { code: failure.code });
    }
    if (this.phase === Phase.AWAITING_RESPONSE && parser.headComplete) {
      if (tracing) trace('wsproto', 'Handshake.receiveResponse', `HTTP ${parser.statusCode}, ${parser.headers.length} headers`, { headers: parser.headers });
      if (parser.statusCode === 101) {
        this.dropParser();
        const rest = data === null ? new Uint8Array(0) : data.subarray(consumed);
        if (rest.length > 0) this.trailing.push(rest);
        if (data === null) this.eof = true;
        this.acceptResponse(parser.headers);
        return;
      }
      this.push(new RejectConnection({ statusCode: parser.statusCode, headers: parser.headers, hasBody: parser.hasBody }));
      if (!parser.hasBody) {
        this.dropParser();
        this.to(Phase.CLOSED);
        return;
      }
      this.to(Phase.REJECT_BODY);
    }
    if (this.phase === Phase.REJECT_BODY) {
      const body = parser.takeBody();
      if (parser.messageComplete) {
        this.push(new RejectData({ data: body ?? new Uint8Array(0), bodyFinished: true }));
        this.dropParser();
        this.to(Phase.CLOSED);
      } else if (body !== null) {
        this.push(new RejectData({ data: body, bodyFinished: false }));
      }
    }
  }

  /** RFC 6455 4.1's checks of the 101, then AcceptConnection and the Connection. */
  private acceptResponse(headers: Headers): void {
    let subprotocol: string | null;
    let extensions: Extension[];
    try {
      ({ subprotocol, extensions } = checkResponse(headers, this.sent as SentRequest));
    } catch (error) {
      if (tracing) trace('wsproto', 'Handshake.acceptResponse', `checkResponse fails RFC 6455 4.1: ${(error as Error).message}`);
      this.to(Phase.CLOSED);
      throw error;
    }
    if (tracing) trace('wsproto', 'Handshake.acceptResponse', `checkResponse passes RFC 6455 4.1: Sec-WebSocket-Accept ${this.sent!.acceptToken} answers our key; subprotocol ${subprotocol ?? 'none'}`);
    this.push(new AcceptConnection({ subprotocol, extensions, extraHeaders: headers }));
    this.open(extensions);
  }

  // Shared.

  private open(extensions: readonly Extension[]): void {
    const trailingData = this.trailingData;
    if (this.trailing.length > 1) this.trailing = [trailingData];
    const { maxMessageSize, maxFragments, random } = this.options;
    this._connection = new Connection({ type: this.type, maxMessageSize, maxFragments, random, extensions, trailingData });
    if (this.eof) this._connection.receiveData(null);
    // The request's details are spent: an open connection should not carry them.
    this.received = null;
    this.sent = null;
    this.to(Phase.OPEN);
  }

  private push(event: Event): void {
    if (this.queue === null) this.queue = [event];
    else this.queue.push(event);
  }

  /** Server: the peer's request failed; the refusal (eventHint) is owed. */
  private failRemote(error: RemoteProtocolError): RemoteProtocolError {
    this.to(Phase.FAILED);
    return error;
  }

  private newParser(kind: 'request' | 'response' = 'request'): HttpParser {
    return new HttpParser(kind, {
      maxHeaderBytes: this.options.maxHeaderBytes ?? DEFAULT_OPTIONS.maxHeaderBytes,
      maxHeaderCount: this.options.maxHeaderCount ?? DEFAULT_OPTIONS.maxHeaderCount,
    });
  }

  private dropParser(): void {
    this.parser?.destroy();
    this.parser = null;
  }

  /** The one place the phase changes. */
  private to(next: Phase): void {
    if (!TRANSITIONS[this.phase].includes(next)) {
      throw new Error(`internal: handshake transition ${this.phase} → ${next}`);
    }
    this.phase = next;
  }
}

/** The parser's failure as a RemoteProtocolError with its refusal: 431 for limits, 400 otherwise. */
function httpFailure(error: unknown): RemoteProtocolError {
  if (!(error instanceof HttpParseError)) throw error;
  if (error.code === 'HTTP_HEADER_BYTES' || error.code === 'HTTP_HEADER_COUNT') {
    return refuse(error.message, 431, [], 'WS_HEADERS_TOO_LARGE');
  }
  return refuse(error.message, 400, [], 'WS_BAD_HTTP');
}

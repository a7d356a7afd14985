/**
 * `ExtendedConnect`: a WebSocket on one HTTP/2 stream (RFC 8441), both
 * ends. The opening handshake is one HEADERS frame each way, which the
 * HTTP/2 layer hands over as header lists; then the stream's DATA carry the
 * same frames, through the same {@link Connection}, as a TCP connection does
 * after a 101. The HTTP/2 layer itself (streams, flow control, HPACK) is the
 * caller's: node:http2 in `@wsstack/simple-websocket`.
 *
 * @module
 */
import { concatBytes, EMPTY_BYTES } from './bytes';
import { Connection, ConnectionState, ConnectionType } from './connection';
import { LocalProtocolError, RemoteProtocolError } from './errors';
import { AcceptConnection, RejectConnection, RejectData, type Event, type Request } from './events';
import { acceptHeaders, checkConnectRequest, connectRequestHeaders, http2Fields, rejectHeaders, responseStatus } from './extended-connect-checks';
import { negotiateExtensions, type Extension } from './extensions';
import { checkAgreement } from './handshake-checks';
import { normalizeHeaders, type Headers } from './headers';
import { DEFAULT_OPTIONS, type ConnectionOptions } from './options';
import { trace, traceBytes, traceEvent, tracing } from './trace';

/** Options of {@link ExtendedConnect}: the connection's limits, and the client's scheme. */
export interface ExtendedConnectOptions extends ConnectionOptions {
  /** Client: the request's `:scheme`, `https` (default) or `http` (HTTP/2 without TLS). */
  scheme?: 'http' | 'https';
}

/** Where the handshake is; each phase maps to one {@link ConnectionState}. Transitions go through `to()`. */
enum Phase {
  /** Server: no request yet. Client: the request is not sent yet. */
  IDLE = 'IDLE',
  /** Client: request sent, waiting for the response's fields. */
  AWAITING_RESPONSE = 'AWAITING_RESPONSE',
  /** Server: the Request event is out; waiting for AcceptConnection or RejectConnection. */
  REQUEST_RECEIVED = 'REQUEST_RECEIVED',
  /** Accepted: the Connection carries the stream's DATA. */
  OPEN = 'OPEN',
  /** Server: sending a refusal's body. Client: receiving one. */
  REJECT_BODY = 'REJECT_BODY',
  /** Server: the peer's request was bad; the refusal (the error's eventHint) is owed. */
  FAILED = 'FAILED',
  /** Over: nothing more is read or sent. */
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
 * A WebSocket over one HTTP/2 stream, client or server, from the CONNECT to
 * the close. No I/O: hand it the fields and DATA the stream received, read
 * its events, send the fields and bytes it returns.
 *
 * Server:
 * ```ts
 * const conn = new ExtendedConnect(ConnectionType.SERVER);
 * conn.receiveHeaders(pairHeaders(rawHeaders));   // the stream's request fields
 * const request = conn.nextEvent();               // a Request: host, target, offers
 * stream.respond(conn.sendHeaders(new AcceptConnection()));  // :status 200 (as your HTTP/2 API wants them)
 * conn.receiveData(chunk);                        // then frames, both ways
 * ```
 *
 * Client: `sendHeaders(new Request(...))` gives the CONNECT's fields;
 * `receiveHeaders(responseFields)` yields AcceptConnection (2xx) or
 * RejectConnection, whose body comes as RejectData from `receiveData`.
 *
 * The methods a {@link WSConnection} has (`receiveData`, `events`,
 * `nextEvent`, `send`, `sendParts`, `state`) work the same here, so a driver
 * written for one drives the other once the handshake is done.
 */
export class ExtendedConnect {
  /** Which end this is. */
  readonly type: ConnectionType;
  private readonly options: ExtendedConnectOptions;
  private phase = Phase.IDLE;
  /** Handshake events not yet taken; null once they are all out and the connection is open. */
  private queue: Event[] | null = null;
  /** Server: DATA that came before the acceptance (the first frames). */
  private trailing: Uint8Array[] | null = null;
  private eof = false;
  /** Server: the request being answered. */
  private request: Request | null = null;
  /** Client: what the request offered, to check the response against. */
  private sent: { subprotocols: readonly string[]; extensions: readonly Extension[] } | null = null;
  private _connection: Connection | null = null;

  constructor(type: ConnectionType, options: ExtendedConnectOptions = {}) {
    this.type = type;
    this.options = options;
  }

  /** CONNECTING → OPEN (then the connection's state), or → REJECTING → CLOSED. */
  get state(): ConnectionState {
    return this._connection?.state ?? PHASE_STATE[this.phase];
  }

  /** The connection the handshake opened; null until then. */
  get connection(): Connection | null {
    return this._connection;
  }

  /**
   * The peer's header fields. Server: the request (its Request event, or
   * the refusal as the error's eventHint). Client: the response: a 2xx
   * yields AcceptConnection and opens the connection; 1xx is skipped (the
   * final response follows); anything else yields RejectConnection.
   *
   * @param headers - in arrival order, pseudo-headers included (e.g.
   *   `pairHeaders` of node:http2's `rawHeaders`); any case. Kept by the
   *   events, so do not change it afterwards.
   * @param endStream - the fields came with END_STREAM: the peer sends no DATA
   * @throws RemoteProtocolError when the fields break RFC 8441 or RFC 9113.
   *   A server's state is then REJECTING, and `eventHint` is the refusal to
   *   send with {@link sendHeaders}; a client's state is CLOSED (reset the stream).
   * @throws LocalProtocolError WS_BAD_STATE when no fields are expected
   */
  receiveHeaders(headers: Headers, endStream = false): void {
    if (tracing) trace('wsproto', 'ExtendedConnect.receiveHeaders', `${headers.length} fields${endStream ? ', END_STREAM' : ''}`);
    const server = this.type === ConnectionType.SERVER;
    if (this.phase !== (server ? Phase.IDLE : Phase.AWAITING_RESPONSE)) {
      throw new LocalProtocolError(`a ${server ? 'server' : 'client'} expects no header fields in state ${this.phase}`, 'WS_BAD_STATE');
    }
    const fields = normalizeHeaders(headers);
    if (server) this.receiveRequest(fields, endStream);
    else this.receiveResponse(fields, endStream);
  }

  /**
   * The header fields that send `event`. Client: Request (the extended
   * CONNECT). Server: AcceptConnection (`:status` 200) or RejectConnection
   * (300-599; send its body with RejectData when `hasBody`, else end the
   * stream with these fields).
   *
   * @throws LocalProtocolError WS_BAD_STATE when this end or state may not
   *   send the event; WS_BAD_EVENT when its fields are invalid (a
   *   subprotocol the client did not offer, a 2xx refusal, a field HTTP/2
   *   forbids). The state is then unchanged.
   */
  sendHeaders(event: Request | AcceptConnection | RejectConnection): Headers {
    if (tracing) trace('wsproto', 'ExtendedConnect.sendHeaders', event.type);
    const client = this.type === ConnectionType.CLIENT;
    const phase = this.phase;
    switch (event.type) {
      case 'Request':
        if (client && phase === Phase.IDLE) return this.sendRequest(event);
        break;
      case 'AcceptConnection':
        if (!client && phase === Phase.REQUEST_RECEIVED) return this.sendAccept(event);
        break;
      case 'RejectConnection':
        if (!client && (phase === Phase.IDLE || phase === Phase.REQUEST_RECEIVED || phase === Phase.FAILED)) {
          const headers = rejectHeaders(event.statusCode, event.headers);
          this.to(event.hasBody ? Phase.REJECT_BODY : Phase.CLOSED);
          return headers;
        }
        break;
    }
    throw new LocalProtocolError(`a ${client ? 'client' : 'server'} cannot send ${event.type} in state ${phase}`, 'WS_BAD_STATE');
  }

  /**
   * The stream's DATA, or `null` at its end (END_STREAM). Once OPEN they are
   * frames for the {@link connection}; a client reads a refusal's body as
   * RejectData events. Takes ownership of `data`.
   *
   * @throws RemoteProtocolError when a client's stream ends (or sends DATA)
   *   before the response's fields; the state is then CLOSED
   * @throws LocalProtocolError WS_BAD_STATE for DATA before the request's fields
   */
  receiveData(data: Uint8Array | null): void {
    if (tracing) trace('wsproto', 'ExtendedConnect.receiveData', data === null ? 'END_STREAM' : traceBytes(data));
    switch (this.phase) {
      case Phase.OPEN:
        this._connection!.receiveData(data);
        return;
      case Phase.REQUEST_RECEIVED:
        // Frames sent before our acceptance wait for the Connection.
        if (data === null) this.eof = true;
        else if (data.length > 0) (this.trailing ??= []).push(data);
        return;
      case Phase.REJECT_BODY:
        if (this.type === ConnectionType.CLIENT) this.receiveRejectBody(data);
        return;
      case Phase.AWAITING_RESPONSE:
        this.to(Phase.CLOSED);
        throw new RemoteProtocolError(data === null ? 'the stream ended before the response' : 'DATA before the response\'s fields', {
          code: 'WS_BAD_HANDSHAKE',
        });
      case Phase.IDLE:
        if (data === null) {
          this.to(Phase.CLOSED);
          return;
        }
        throw new LocalProtocolError('the header fields come first: call receiveHeaders', 'WS_BAD_STATE');
      case Phase.FAILED:
      case Phase.CLOSED:
        return;
    }
  }

  /** Yields the handshake's events, then the connection's. */
  *events(): Generator<Event> {
    for (let event = this.nextEvent(); event !== null; event = this.nextEvent()) yield event;
  }

  /** The next event, or null when more fields or DATA are needed: {@link events} without the generator. */
  nextEvent(): Event | null {
    const queue = this.queue;
    if (queue !== null) {
      if (queue.length > 0) return queue.shift() as Event;
      if (this._connection === null) return null;
      this.queue = null; // the handshake's events are all out
    }
    return this._connection === null ? null : this._connection.nextEvent();
  }

  /**
   * The bytes (DATA) that send `event`: frame events once OPEN, a
   * refusal's RejectData before.
   *
   * @throws LocalProtocolError when the state does not allow the event
   */
  send(event: Event): Uint8Array {
    if (tracing) trace('wsproto', 'ExtendedConnect.send', traceEvent(event));
    const connection = this._connection;
    if (connection !== null) return connection.send(event);
    if (event.type === 'RejectData' && this.type === ConnectionType.SERVER && this.phase === Phase.REJECT_BODY) {
      if (event.bodyFinished) this.to(Phase.CLOSED);
      return event.data;
    }
    throw new LocalProtocolError(`cannot send ${event.type} in state ${this.phase}; header events go through sendHeaders`, 'WS_BAD_STATE');
  }

  /** Like {@link send}, as parts for a gathered write (see {@link Connection.sendParts}). */
  sendParts(event: Event): Uint8Array[] {
    if (tracing) trace('wsproto', 'ExtendedConnect.sendParts', traceEvent(event));
    const connection = this._connection;
    return connection !== null ? connection.sendParts(event) : [this.send(event)];
  }

  // Server side.

  private receiveRequest(headers: Headers, endStream: boolean): void {
    let request: Request;
    try {
      request = checkConnectRequest(headers, {
        maxHeaderBytes: this.options.maxHeaderBytes ?? DEFAULT_OPTIONS.maxHeaderBytes,
        maxHeaderCount: this.options.maxHeaderCount ?? DEFAULT_OPTIONS.maxHeaderCount,
      });
    } catch (error) {
      this.to(Phase.FAILED);
      throw error;
    }
    if (tracing) trace('wsproto', 'ExtendedConnect.receiveRequest', `CONNECT ${request.target} passes RFC 8441`);
    this.request = request;
    if (endStream) this.eof = true;
    this.push(request);
    this.to(Phase.REQUEST_RECEIVED);
  }

  private sendAccept(event: AcceptConnection): Headers {
    const request = this.request!;
    if (event.subprotocol !== null && !request.subprotocols.includes(event.subprotocol)) {
      throw new LocalProtocolError(`subprotocol ${JSON.stringify(event.subprotocol)} was not offered by the client`, 'WS_BAD_EVENT');
    }
    // Fail on bad fields before any extension is asked to accept (and enables itself).
    const fields = http2Fields(event.extraHeaders);
    const { accepted, header } = negotiateExtensions(request.extensions as readonly string[], event.extensions);
    const headers = acceptHeaders(event.subprotocol, header, fields);
    this.open(accepted);
    return headers;
  }

  // Client side.

  private sendRequest(event: Request): Headers {
    const { headers, extensions } = connectRequestHeaders(event, this.options.scheme ?? 'https');
    this.sent = { subprotocols: [...event.subprotocols], extensions };
    this.to(Phase.AWAITING_RESPONSE);
    return headers;
  }

  private receiveResponse(headers: Headers, endStream: boolean): void {
    let status: number;
    let agreed: { subprotocol: string | null; extensions: Extension[] } | null = null;
    try {
      status = responseStatus(headers);
      if (status >= 200 && status < 300) agreed = checkAgreement(headers, this.sent!.subprotocols, this.sent!.extensions);
    } catch (error) {
      this.to(Phase.CLOSED);
      throw error;
    }
    if (status < 200) return; // informational: the final response follows
    if (agreed !== null) {
      if (tracing) trace('wsproto', 'ExtendedConnect.receiveResponse', `${status}: the stream is a WebSocket`);
      this.push(new AcceptConnection({ subprotocol: agreed.subprotocol, extensions: agreed.extensions, extraHeaders: headers }));
      if (endStream) this.eof = true;
      this.open(agreed.extensions);
      return;
    }
    this.push(new RejectConnection({ statusCode: status, headers, hasBody: !endStream }));
    this.to(endStream ? Phase.CLOSED : Phase.REJECT_BODY);
  }

  private receiveRejectBody(data: Uint8Array | null): void {
    if (data === null) {
      this.push(new RejectData({ data: EMPTY_BYTES, bodyFinished: true }));
      this.to(Phase.CLOSED);
    } else if (data.length > 0) {
      this.push(new RejectData({ data, bodyFinished: false }));
    }
  }

  // Shared.

  private open(extensions: readonly Extension[]): void {
    const trailing = this.trailing;
    const trailingData = trailing === null ? undefined : concatBytes(trailing);
    const { maxMessageSize, maxFragments, random } = this.options;
    const connection = new Connection({ type: this.type, maxMessageSize, maxFragments, random, extensions, trailingData });
    if (this.eof) connection.receiveData(null);
    this._connection = connection;
    // The handshake's details are spent: an open connection should not carry them.
    this.request = null;
    this.sent = null;
    this.trailing = null;
    this.to(Phase.OPEN);
  }

  private push(event: Event): void {
    if (this.queue === null) this.queue = [event];
    else this.queue.push(event);
  }

  /** The one place the phase changes. */
  private to(next: Phase): void {
    if (!TRANSITIONS[this.phase].includes(next)) {
      throw new Error(`internal: extended CONNECT transition ${this.phase} → ${next}`);
    }
    this.phase = next;
  }
}

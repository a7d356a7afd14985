/**
 * The WebSocket opening handshake (RFC 6455 section 4), both ends: wsproto's
 * `H11Handshake`, on llhttp in place of h11. Bytes in, events out, events in,
 * bytes out; once it completes it hands over to a {@link Connection}.
 *
 * @module
 */
import { allocFrame } from './alloc';
import { Connection, ConnectionState, ConnectionType } from './connection';
import { LocalProtocolError, RemoteProtocolError, type RemoteProtocolErrorCode } from './errors';
import {
  AcceptConnection,
  RejectConnection,
  RejectData,
  Request,
  type Event,
  type Headers,
} from './events';
import type { Extension } from './extensions';
import { HttpParseError, HttpParser } from './http-parser';
import { DEFAULT_OPTIONS, type ConnectionOptions } from './options';
import { trace, tracing } from './trace';
import { concatBytes, EMPTY_BYTES, generateAcceptToken, generateNonce, splitCommaHeader } from './utilities';

/** The only WebSocket version (RFC 6455 4.1). */
const WEBSOCKET_VERSION = '13';

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

/** What the server keeps of the request it accepted into REQUEST_RECEIVED. */
interface ReceivedRequest {
  key: string;
  subprotocols: readonly string[];
  extensionOffers: readonly string[];
}

/** What the client keeps of the request it sent. */
interface SentRequest {
  acceptToken: string;
  subprotocols: readonly string[];
  extensions: readonly Extension[];
}

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
  private readonly type: ConnectionType;
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
  private received: ReceivedRequest | null = null;
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
    const normalized = headers.every(isNormalized) ? headers : headers.map(([name, value]) => [name.toLowerCase(), value.trim()] as [string, string]);
    this.acceptRequest('GET', 1, 1, path, normalized);
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
    const keep: ReceivedRequest = { key: '', subprotocols: [], extensionOffers: [] };
    let request: Request;
    try {
      request = checkRequest(method, major, minor, target, headers, keep);
    } catch (error) {
      throw this.failRemote(error as RemoteProtocolError);
    }
    this.received = keep;
    if (tracing) trace('wsproto', 'Handshake.acceptRequest', `${method} ${target} passes RFC 6455 4.2.1`);
    this.push(request);
    this.to(Phase.REQUEST_RECEIVED);
  }

  private sendAccept(event: AcceptConnection): Uint8Array {
    const received = this.received as ReceivedRequest;
    // Fail on bad extra headers before any extension is asked to accept (and enables itself).
    checkHeaders(event.extraHeaders);
    const token = generateAcceptToken(received.key);
    if (tracing) trace('wsproto', 'generateAcceptToken', `${received.key} -> ${token}`);
    const head = ['Upgrade', 'websocket', 'Connection', 'Upgrade', 'Sec-WebSocket-Accept', token];
    if (event.subprotocol !== null) {
      if (!received.subprotocols.includes(event.subprotocol)) {
        throw new LocalProtocolError(
          `subprotocol ${JSON.stringify(event.subprotocol)} was not offered by the client`,
          'WS_BAD_EVENT',
        );
      }
      head.push('Sec-WebSocket-Protocol', event.subprotocol);
    }
    const { accepted, header } = negotiateExtensions(received.extensionOffers, event.extensions);
    if (header !== '') head.push('Sec-WebSocket-Extensions', header);
    const bytes = encodeHead('HTTP/1.1 101 Switching Protocols', event.extraHeaders, head);
    if (tracing) trace('wsproto', 'Handshake.sendAccept', '101 Switching Protocols');
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
    const bytes = encodeHead(`HTTP/1.1 ${statusCode} ${REASONS[statusCode] ?? ''}`, headers);
    this.dropParser();
    this.to(event.hasBody ? Phase.REJECT_BODY : Phase.CLOSED);
    return bytes;
  }

  // Client side.

  private sendRequest(event: Request): Uint8Array {
    const extensions: Extension[] = [];
    for (const ext of event.extensions) {
      if (typeof ext === 'string') {
        throw new LocalProtocolError('a client offers extensions as Extension objects, not strings', 'WS_BAD_EVENT');
      }
      extensions.push(ext);
    }
    for (const protocol of event.subprotocols) {
      if (!TOKEN.test(protocol)) {
        throw new LocalProtocolError(`subprotocol ${JSON.stringify(protocol)} is not an HTTP token`, 'WS_BAD_EVENT');
      }
    }
    if (!TARGET.test(event.target)) {
      throw new LocalProtocolError(`request target ${JSON.stringify(event.target)} is not valid`, 'WS_BAD_EVENT');
    }
    const key = generateNonce(this.options.random);
    const headers: Headers = [
      ['Host', event.host],
      ['Upgrade', 'websocket'],
      ['Connection', 'Upgrade'],
      ['Sec-WebSocket-Key', key],
      ['Sec-WebSocket-Version', WEBSOCKET_VERSION],
    ];
    if (event.subprotocols.length > 0) headers.push(['Sec-WebSocket-Protocol', event.subprotocols.join(', ')]);
    if (extensions.length > 0) {
      const offers = extensions.map((ext) => {
        const params = ext.offer();
        return params === true || params === '' ? ext.name : `${ext.name}; ${params}`;
      });
      headers.push(['Sec-WebSocket-Extensions', offers.join(', ')]);
    }
    headers.push(...event.extraHeaders);
    const bytes = encodeHead(`GET ${event.target} HTTP/1.1`, headers);
    this.sent = { acceptToken: generateAcceptToken(key), subprotocols: [...event.subprotocols], extensions };
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
    const sent = this.sent as SentRequest;
    const fail = (message: string): RemoteProtocolError => {
      this.to(Phase.CLOSED);
      return new RemoteProtocolError(message, { code: 'WS_BAD_HANDSHAKE' });
    };
    const upgrade = tokens(headers, 'upgrade');
    if (upgrade.length !== 1 || upgrade[0] !== 'websocket') throw fail('the 101 response lacks "Upgrade: websocket"');
    if (!tokens(headers, 'connection').includes('upgrade')) throw fail('the 101 response lacks "Connection: Upgrade"');
    const accept = values(headers, 'sec-websocket-accept');
    if (accept.length !== 1 || accept[0] !== sent.acceptToken) throw fail('the Sec-WebSocket-Accept token is wrong');

    const protocols = values(headers, 'sec-websocket-protocol').flatMap(splitCommaHeader);
    if (protocols.length > 1) throw fail('the server chose more than one subprotocol');
    const subprotocol = protocols.length === 1 ? protocols[0] : null;
    if (subprotocol !== null && !sent.subprotocols.includes(subprotocol)) {
      throw fail(`the server chose subprotocol ${JSON.stringify(subprotocol)}, which was not offered`);
    }

    const accepted: Extension[] = [];
    for (const item of values(headers, 'sec-websocket-extensions').flatMap(splitExtensionList)) {
      const [name, params] = splitOffer(item);
      const ext = sent.extensions.find((e) => e.name === name);
      if (ext === undefined) throw fail(`the server accepted extension ${JSON.stringify(name)}, which was not offered`);
      if (accepted.includes(ext)) throw fail(`the server accepted extension ${JSON.stringify(name)} twice`);
      try {
        ext.finalize(params);
      } catch (error) {
        const failure = fail(`the server's ${name} parameters are not acceptable: ${(error as Error).message}`);
        throw Object.assign(failure, { cause: error });
      }
      accepted.push(ext);
    }
    this.push(new AcceptConnection({ subprotocol, extensions: accepted, extraHeaders: headers }));
    this.open(accepted);
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

/**
 * Pairs Node's flat `req.rawHeaders` (`[name, value, name, value, …]`) into
 * the {@link Headers} that {@link Handshake.initiateUpgradeConnection} takes.
 */
export function pairHeaders(rawHeaders: readonly string[]): Headers {
  const out: Headers = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) out.push([rawHeaders[i], rawHeaders[i + 1]]);
  return out;
}

/** A refusal with `status` (and `headers`), as an error's eventHint. */
function refuse(
  message: string,
  statusCode: number,
  headers: Headers = [],
  code: RemoteProtocolErrorCode = 'WS_BAD_HANDSHAKE',
): RemoteProtocolError {
  return new RemoteProtocolError(message, { code, eventHint: new RejectConnection({ statusCode, headers }) });
}

/** The parser's failure as a RemoteProtocolError with its refusal: 431 for limits, 400 otherwise. */
function httpFailure(error: unknown): RemoteProtocolError {
  if (!(error instanceof HttpParseError)) throw error;
  if (error.code === 'HTTP_HEADER_BYTES' || error.code === 'HTTP_HEADER_COUNT') {
    return refuse(error.message, 431, [], 'WS_HEADERS_TOO_LARGE');
  }
  return refuse(error.message, 400, [], 'WS_BAD_HTTP');
}

/**
 * RFC 6455 4.2.1, in its order. Fills `keep` with what AcceptConnection will
 * need and returns the Request event.
 */
function checkRequest(
  method: string,
  major: number,
  minor: number,
  target: string,
  headers: Headers,
  keep: ReceivedRequest,
): Request {
  if (method !== 'GET') throw refuse(`the handshake must be a GET, not ${method}`, 405, [['Allow', 'GET']]);
  if (major < 1 || (major === 1 && minor < 1)) throw refuse(`the handshake needs HTTP/1.1, not ${major}.${minor}`, 400);
  // One pass over the headers, no arrays made for the ones that must appear once.
  let host = '';
  let hosts = 0;
  let upgrade = false;
  let connection = false;
  let body = false;
  let key = '';
  let keys = 0;
  let version = '';
  let versions = 0;
  let subprotocols: string[] | null = null;
  let extensionOffers: string[] | null = null;
  for (let i = 0; i < headers.length; i++) {
    const value = headers[i][1];
    switch (headers[i][0]) {
      case 'host':
        host = value;
        hosts++;
        break;
      case 'upgrade':
        upgrade ||= hasToken(value, 'websocket');
        break;
      case 'connection':
        connection ||= hasToken(value, 'upgrade');
        break;
      case 'transfer-encoding':
        body = true;
        break;
      case 'content-length':
        body ||= value !== '0';
        break;
      case 'sec-websocket-key':
        key = value;
        keys++;
        break;
      case 'sec-websocket-version':
        version = value;
        versions++;
        break;
      case 'sec-websocket-protocol':
        subprotocols = subprotocols === null ? splitCommaHeader(value) : subprotocols.concat(splitCommaHeader(value));
        break;
      case 'sec-websocket-extensions':
        extensionOffers = extensionOffers === null ? splitExtensionList(value) : extensionOffers.concat(splitExtensionList(value));
        break;
    }
  }
  if (hosts !== 1) throw refuse(hosts === 0 ? 'the Host header is missing' : 'more than one Host header', 400);
  if (!upgrade) throw refuse('the Upgrade header lacks "websocket"', 400);
  if (!connection) throw refuse('the Connection header lacks "upgrade"', 400);
  // A body would be read as frames by one side and as HTTP by the other.
  if (body) throw refuse('the handshake request must not have a body', 400);
  if (keys !== 1) throw refuse(keys === 0 ? 'Sec-WebSocket-Key is missing' : 'more than one Sec-WebSocket-Key', 400);
  if (!NONCE.test(key)) throw refuse('Sec-WebSocket-Key is not the base64 of 16 bytes', 400);
  if (versions !== 1 || version !== WEBSOCKET_VERSION) {
    throw refuse('Sec-WebSocket-Version must be 13', 426, [['Sec-WebSocket-Version', WEBSOCKET_VERSION]]);
  }
  keep.key = key;
  keep.subprotocols = subprotocols ?? NO_STRINGS;
  keep.extensionOffers = extensionOffers ?? NO_STRINGS;
  return new Request({ host, target, subprotocols: keep.subprotocols, extensions: keep.extensionOffers, extraHeaders: headers });
}

/** Shared by requests that offer no subprotocol or extension. */
const NO_STRINGS: readonly string[] = Object.freeze([]);

/**
 * Whether the comma-separated list `value` holds `token` (lower-case), in
 * any ASCII case, with whitespace around items ignored. Scans in place.
 */
function hasToken(value: string, token: string): boolean {
  let start = 0;
  while (start <= value.length) {
    let end = value.indexOf(',', start);
    if (end < 0) end = value.length;
    let a = start;
    let b = end;
    while (a < b && isWhitespace(value.charCodeAt(a))) a++;
    while (b > a && isWhitespace(value.charCodeAt(b - 1))) b--;
    if (b - a === token.length) {
      let i = 0;
      while (i < token.length && (value.charCodeAt(a + i) | 0x20) === token.charCodeAt(i)) i++;
      if (i === token.length) return true;
    }
    start = end + 1;
  }
  return false;
}

/** What `String.prototype.trim` strips (ECMAScript WhiteSpace and LineTerminator). */
function isWhitespace(c: number): boolean {
  if (c <= 0x20) return c === 0x20 || (c >= 0x09 && c <= 0x0d);
  if (c < 0xa0) return false;
  return (
    c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 ||
    c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff
  );
}

/** A header pair as the core keeps them: name lower-case, value trimmed. */
function isNormalized(header: readonly [string, string]): boolean {
  const name = header[0];
  const value = header[1];
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if ((c >= 0x41 && c <= 0x5a) || c >= 0x80) return false;
  }
  return value.length === 0 || (!isWhitespace(value.charCodeAt(0)) && !isWhitespace(value.charCodeAt(value.length - 1)));
}

/** What {@link negotiateExtensions} settled on. */
interface Negotiated {
  readonly accepted: readonly Extension[];
  readonly header: string;
}

/** No offer, or nothing to offer it to: shared, as most handshakes end here. */
const NOTHING_NEGOTIATED: Negotiated = Object.freeze({ accepted: Object.freeze([]), header: '' });

/**
 * Server side of RFC 6455 9.1: walk the client's offers in its order; for each
 * supported extension, the first offer it accepts wins. Returns the accepted
 * extensions (in response order, which is their processing order) and the
 * `Sec-WebSocket-Extensions` value.
 */
function negotiateExtensions(
  offers: readonly string[],
  supported: readonly Extension[],
): Negotiated {
  if (offers.length === 0 || supported.length === 0) return NOTHING_NEGOTIATED;
  const accepted: Extension[] = [];
  const answers: string[] = [];
  for (const offer of offers) {
    const [name, params] = splitOffer(offer);
    const ext = supported.find((e) => e.name === name);
    if (ext === undefined || accepted.includes(ext)) continue;
    const answer = ext.accept(params);
    if (answer === null) continue;
    accepted.push(ext);
    answers.push(answer === true || answer === '' ? ext.name : `${ext.name}; ${answer}`);
  }
  return { accepted, header: answers.join(', ') };
}

/** `name; a=1; b` → [`name`, `a=1; b`]. */
function splitOffer(offer: string): [name: string, params: string] {
  const semi = offer.indexOf(';');
  return semi < 0 ? [offer.trim(), ''] : [offer.slice(0, semi).trim(), offer.slice(semi + 1).trim()];
}

/** Splits an extension list on commas outside quoted strings (RFC 6455 9.1 allows quoted parameter values). */
function splitExtensionList(value: string): string[] {
  const out: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (quoted && c === '\\') i++;
    else if (c === '"') quoted = !quoted;
    else if (c === ',' && !quoted) {
      out.push(value.slice(start, i));
      start = i + 1;
    }
  }
  out.push(value.slice(start));
  return out.map((s) => s.trim()).filter((s) => s !== '');
}

/** All values of header `name` (lower-case), in order. */
function values(headers: Headers, name: string): string[] {
  const out: string[] = [];
  for (const [n, v] of headers) if (n === name) out.push(v);
  return out;
}

/** The comma-separated tokens of every `name` header, lower-cased. */
function tokens(headers: Headers, name: string): string[] {
  return values(headers, name).flatMap(splitCommaHeader).map((t) => t.toLowerCase());
}

/** base64 of exactly 16 bytes: 22 characters and `==`. */
const NONCE = /^[A-Za-z0-9+/]{22}==$/;
/** An HTTP token (RFC 9110 5.6.2): header names and subprotocols. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** A header value: no CR, LF, NUL or other controls but tab; one byte per char. */
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
/** A request target: visible characters, no spaces. */
const TARGET = /^[\x21-\x7e\x80-\xff]+$/;

/**
 * The head's bytes: start line, header lines (`leading`, a flat name/value
 * list, then `headers`), blank line. Checks each header so that a value
 * cannot smuggle in another line.
 */
function encodeHead(startLine: string, headers: Headers, leading: readonly string[] = NO_STRINGS): Uint8Array {
  if (!FIELD_VALUE.test(startLine)) throw new LocalProtocolError('the start line has forbidden characters', 'WS_BAD_EVENT');
  let length = startLine.length + 4;
  for (let i = 0; i + 1 < leading.length; i += 2) length += checkHeader(leading[i], leading[i + 1]);
  for (let i = 0; i < headers.length; i++) length += checkHeader(headers[i][0], headers[i][1]);
  // Written straight into the bytes: each character is one byte (checked above).
  const bytes = allocFrame(length);
  let at = writeLatin1(bytes, 0, startLine, CRLF);
  for (let i = 0; i + 1 < leading.length; i += 2) {
    at = writeLatin1(bytes, at, leading[i], ': ');
    at = writeLatin1(bytes, at, leading[i + 1], CRLF);
  }
  for (let i = 0; i < headers.length; i++) {
    at = writeLatin1(bytes, at, headers[i][0], ': ');
    at = writeLatin1(bytes, at, headers[i][1], CRLF);
  }
  writeLatin1(bytes, at, CRLF, '');
  return bytes;
}

const CRLF = '\r\n';

/** Writes `text` then `end` as one byte per character; returns the offset after them. */
function writeLatin1(bytes: Uint8Array, at: number, text: string, end: string): number {
  for (let i = 0; i < text.length; i++) bytes[at++] = text.charCodeAt(i);
  for (let i = 0; i < end.length; i++) bytes[at++] = end.charCodeAt(i);
  return at;
}

/** Header names must be tokens and values single lines of bytes. */
function checkHeaders(headers: Headers): void {
  for (let i = 0; i < headers.length; i++) checkHeader(headers[i][0], headers[i][1]);
}

/** Checks one header; returns the bytes of its line (`name: value` CRLF). */
function checkHeader(name: string, value: string): number {
  if (!TOKEN.test(name)) throw new LocalProtocolError(`header name ${JSON.stringify(name)} is not a token`, 'WS_BAD_EVENT');
  if (!FIELD_VALUE.test(value)) {
    throw new LocalProtocolError(`header ${name} has a value with forbidden characters`, 'WS_BAD_EVENT');
  }
  return name.length + value.length + 4;
}

/** Reason phrases for the statuses a handshake refusal commonly uses. */
const REASONS: Record<number, string> = {
  200: 'OK',
  301: 'Moved Permanently',
  302: 'Found',
  307: 'Temporary Redirect',
  308: 'Permanent Redirect',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  410: 'Gone',
  426: 'Upgrade Required',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
};

/**
 * The events of a WebSocket connection, as wsproto names them.
 *
 * Each event is a class (so `instanceof` works) with readonly fields and a
 * `type` tag (so `switch (event.type)` narrows). Every constructor takes one
 * init object; fields left out take the defaults shown in DESIGN.md.
 *
 * @module
 */
import type { Extension } from './extensions';
import type { Headers } from './headers';

export type { Headers } from './headers';

/** Fields of {@link Request}. */
export interface RequestInit {
  /** The `Host` header value. */
  host: string;
  /** The request target: path and query, e.g. `/chat?room=1`. */
  target: string;
  /** Subprotocols offered (client) or received (server), in preference order. */
  subprotocols?: readonly string[];
  /**
   * Client side: extension objects to offer. Server side (received): the raw
   * `Sec-WebSocket-Extensions` offers, one string per offer.
   */
  extensions?: readonly Extension[] | readonly string[];
  /** Headers beyond the handshake's own. Received requests carry all headers here. */
  extraHeaders?: Headers;
}

/** The opening handshake request: sent by a client, received by a server. */
export class Request {
  readonly type = 'Request' as const;
  readonly host: string;
  readonly target: string;
  readonly subprotocols: readonly string[];
  readonly extensions: readonly Extension[] | readonly string[];
  readonly extraHeaders: Headers;
  constructor(init: RequestInit) {
    this.host = init.host;
    this.target = init.target;
    this.subprotocols = init.subprotocols ?? [];
    this.extensions = init.extensions ?? [];
    this.extraHeaders = init.extraHeaders ?? [];
  }
}

/** Fields of {@link AcceptConnection}. */
export interface AcceptConnectionInit {
  /** The subprotocol chosen from the client's offer, if any. */
  subprotocol?: string | null;
  /** Extensions the server supports; each accepts or declines the client's offer. */
  extensions?: readonly Extension[];
  /** Headers to add to the 101 response. */
  extraHeaders?: Headers;
}

/** The server accepts the handshake (sent by a server, received by a client). */
export class AcceptConnection {
  readonly type = 'AcceptConnection' as const;
  readonly subprotocol: string | null;
  readonly extensions: readonly Extension[];
  readonly extraHeaders: Headers;
  constructor(init: AcceptConnectionInit = {}) {
    this.subprotocol = init.subprotocol ?? null;
    this.extensions = init.extensions ?? [];
    this.extraHeaders = init.extraHeaders ?? [];
  }
}

/** Fields of {@link RejectConnection}. */
export interface RejectConnectionInit {
  /** HTTP status code of the refusal. Default 400. */
  statusCode?: number;
  /** Response headers. */
  headers?: Headers;
  /** When true, one or more {@link RejectData} events carry a body. */
  hasBody?: boolean;
}

/** The server refuses the handshake with an HTTP response. */
export class RejectConnection {
  readonly type = 'RejectConnection' as const;
  readonly statusCode: number;
  readonly headers: Headers;
  readonly hasBody: boolean;
  constructor(init: RejectConnectionInit = {}) {
    this.statusCode = init.statusCode ?? 400;
    this.headers = init.headers ?? [];
    this.hasBody = init.hasBody ?? false;
  }
}

/** Fields of {@link RejectData}. */
export interface RejectDataInit {
  data: Uint8Array;
  /** True on the last piece of the body. Default true. */
  bodyFinished?: boolean;
}

/** A piece of the body of a refused handshake. */
export class RejectData {
  readonly type = 'RejectData' as const;
  readonly data: Uint8Array;
  readonly bodyFinished: boolean;
  constructor(init: RejectDataInit) {
    this.data = init.data;
    this.bodyFinished = init.bodyFinished ?? true;
  }
}

/** Fields of {@link CloseConnection}. */
export interface CloseConnectionInit {
  /** The close code (RFC 6455 7.4). */
  code: number;
  /** The close reason; at most 123 bytes of UTF-8 on the wire. */
  reason?: string;
}

/** A close frame, sent or received. */
export class CloseConnection {
  readonly type = 'CloseConnection' as const;
  readonly code: number;
  readonly reason: string;
  constructor(init: CloseConnectionInit) {
    this.code = init.code;
    this.reason = init.reason ?? '';
  }
  /**
   * The close to send back: the same code and reason. A close that arrived
   * without a code (1005) is answered with an empty close frame (sending code
   * 1005 means exactly that); 1006 and 1015 never go on the wire (RFC 6455
   * 7.4.1), so they are answered with 1000.
   */
  response(): CloseConnection {
    if (this.code === 1006 || this.code === 1015) return new CloseConnection({ code: 1000 });
    return new CloseConnection({ code: this.code, reason: this.reason });
  }
}

/** Fields shared by {@link TextMessage} and {@link BytesMessage}. */
export interface MessageInit<T> {
  data: T;
  /** True when this event ends a frame. Default true. */
  frameFinished?: boolean;
  /** True when this event ends the message. Default true. */
  messageFinished?: boolean;
}

/** A text message, or a piece of one (see `messageFinished`). */
export class TextMessage {
  readonly type = 'TextMessage' as const;
  readonly data: string;
  readonly frameFinished: boolean;
  readonly messageFinished: boolean;
  constructor(init: MessageInit<string>) {
    this.data = init.data;
    this.frameFinished = init.frameFinished ?? true;
    this.messageFinished = init.messageFinished ?? true;
  }
}

/** A binary message, or a piece of one (see `messageFinished`). */
export class BytesMessage {
  readonly type = 'BytesMessage' as const;
  readonly data: Uint8Array;
  readonly frameFinished: boolean;
  readonly messageFinished: boolean;
  constructor(init: MessageInit<Uint8Array>) {
    this.data = init.data;
    this.frameFinished = init.frameFinished ?? true;
    this.messageFinished = init.messageFinished ?? true;
  }
}

/** Fields of {@link Ping} and {@link Pong}. */
export interface PingInit {
  /** At most 125 bytes. Default empty. */
  payload?: Uint8Array;
}

/** A ping; answer it with `event.response()`. */
export class Ping {
  readonly type = 'Ping' as const;
  readonly payload: Uint8Array;
  constructor(init: PingInit = {}) {
    this.payload = init.payload ?? new Uint8Array(0);
  }
  /** The pong that answers this ping, carrying the same payload. */
  response(): Pong {
    return new Pong({ payload: this.payload });
  }
}

/** A pong, solicited or not. */
export class Pong {
  readonly type = 'Pong' as const;
  readonly payload: Uint8Array;
  constructor(init: PingInit = {}) {
    this.payload = init.payload ?? new Uint8Array(0);
  }
}

/** Every event a connection yields or sends. */
export type Event =
  | Request
  | AcceptConnection
  | RejectConnection
  | RejectData
  | CloseConnection
  | TextMessage
  | BytesMessage
  | Ping
  | Pong;

/**
 * The handshake request a server connection accepted: its own module, so
 * the topics' types can name it without importing the server.
 *
 * @module
 */
import type { Headers } from '@wsstack/wsproto';

/** The opening handshake request a `Server` accepted. */
export interface HandshakeRequest {
  /** The request target: path and query, e.g. `/chat?room=1`. */
  readonly path: string;
  /** The `Host` header (over HTTP/2, `:authority`). */
  readonly host: string;
  /** Every request header, names lower-case, in arrival order (over HTTP/2, pseudo-headers such as `:scheme` too). */
  readonly headers: Headers;
  /** Subprotocols the client offered, in its order. */
  readonly subprotocols: readonly string[];
  /** The client's raw extension offers (`Sec-WebSocket-Extensions`), one per offer. */
  readonly extensions: readonly string[];
}

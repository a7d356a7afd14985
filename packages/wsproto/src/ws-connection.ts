/**
 * `WSConnection`: what users drive. The handshake first, then the
 * {@link Connection} it opens, behind one bytes-in, events-out surface
 * (wsproto's `WSConnection`).
 *
 * @module
 */
import { ConnectionType, type Connection, type ConnectionState } from './connection';
import type { Event, Headers } from './events';
import { LocalProtocolError } from './errors';
import { trace, traceBytes, traceEnter, traceEvent, traceLeave, tracing } from './trace';
import { Handshake } from './handshake';
import type { ConnectionOptions } from './options';

/**
 * A WebSocket connection, client or server, from the first handshake byte to
 * the close. No I/O: feed it received bytes, read its events, write what
 * `send` returns.
 *
 * ```ts
 * const conn = new WSConnection(ConnectionType.SERVER);
 * conn.receiveData(chunk);
 * for (const event of conn.events()) {
 *   if (event instanceof Request) socket.write(conn.send(new AcceptConnection()));
 * }
 * ```
 */
export class WSConnection {
  /** Until the connection opened and its handshake events were read; then null, so an open connection does not keep it. */
  private handshake: Handshake | null;
  private opened: Connection | null = null;

  constructor(type: ConnectionType, options: ConnectionOptions = {}) {
    this.handshake = new Handshake(type, options);
  }

  /** The handshake's state until it opens the connection, then the connection's. */
  get state(): ConnectionState {
    return this.connection?.state ?? this.handshake!.state;
  }

  /** Which end this is: `CLIENT` or `SERVER`. */
  get type(): ConnectionType {
    return this.handshake?.type ?? this.opened!.type;
  }

  /**
   * Feeds bytes from the peer, or `null` at EOF. Takes ownership of `data`.
   *
   * @throws RemoteProtocolError during the handshake, as {@link Handshake.receiveData}
   */
  receiveData(data: Uint8Array | null): void {
    const running = tracing ? this.traceEnter() : undefined;
    try {
      if (tracing) trace('wsproto', 'WSConnection.receiveData', data === null ? 'EOF' : traceBytes(data));
      const connection = this.connection;
      if (connection !== null) connection.receiveData(data);
      else this.handshake!.receiveData(data);
    } finally {
      if (running !== undefined) traceLeave(running);
    }
  }

  /**
   * Yields the handshake's events, then the connection's. Lazy: a server
   * that sends AcceptConnection while handling the Request event gets the
   * frames that came with the request from the same loop.
   */
  *events(): Generator<Event> {
    for (let event = this.nextEvent(); event !== null; event = this.nextEvent()) yield event;
  }

  /**
   * The next event, or null when more bytes are needed: {@link events}
   * without the generator, for a reader's hot loop.
   */
  nextEvent(): Event | null {
    if (!tracing) return this.pull();
    const running = this.traceEnter();
    try {
      return this.pull();
    } finally {
      traceLeave(running);
    }
  }

  private pull(): Event | null {
    const handshake = this.handshake;
    if (handshake !== null) {
      const event = handshake.nextEvent();
      if (event !== null) return event;
      const connection = handshake.connection;
      if (connection === null) return null;
      // Open, and every handshake event handed out: the handshake is spent.
      this.opened = connection;
      this.handshake = null;
    }
    return this.opened!.nextEvent();
  }

  /**
   * The bytes that send `event`: handshake events before the connection is
   * open, frame events after.
   *
   * @throws LocalProtocolError when the state does not allow the event
   */
  send(event: Event): Uint8Array {
    const running = tracing ? this.traceEnter() : undefined;
    try {
      if (tracing) trace('wsproto', 'WSConnection.send', traceEvent(event));
      const connection = this.connection;
      return connection !== null ? connection.send(event) : this.handshake!.send(event);
    } finally {
      if (running !== undefined) traceLeave(running);
    }
  }

  /**
   * Like {@link send}, as parts to write in order (a gathered write): on the
   * server side a data message's payload is returned beside its header
   * instead of being copied into one frame (see {@link Connection.sendParts}).
   * Handshake events come back as one part.
   *
   * @example
   * ```ts
   * socket.cork();
   * for (const part of conn.sendParts(new BytesMessage({ data: big }))) socket.write(part);
   * socket.uncork();
   * ```
   */
  sendParts(event: Event): Uint8Array[] {
    const running = tracing ? this.traceEnter() : undefined;
    try {
      if (tracing) trace('wsproto', 'WSConnection.sendParts', traceEvent(event));
      const connection = this.connection;
      return connection !== null ? connection.sendParts(event) : [this.handshake!.send(event)];
    } finally {
      if (running !== undefined) traceLeave(running);
    }
  }

  /** Server: a request already parsed by an outer HTTP layer (see {@link Handshake.initiateUpgradeConnection}). */
  initiateUpgradeConnection(headers: Headers, path: string): void {
    const running = tracing ? this.traceEnter() : undefined;
    try {
      if (tracing) trace('wsproto', 'WSConnection.initiateUpgradeConnection', `GET ${path}, ${headers.length} headers`, { headers });
      if (this.handshake === null) throw new LocalProtocolError('the connection is already open', 'WS_BAD_STATE');
      this.handshake.initiateUpgradeConnection(headers, path);
    } finally {
      if (running !== undefined) traceLeave(running);
    }
  }

  /** The core's lines traced during this call are this connection's (see trace.ts). */
  private traceEnter(): object | null {
    return traceEnter(this, this.type === ConnectionType.CLIENT ? 'client' : 'server');
  }

  private get connection(): Connection | null {
    return this.opened ?? this.handshake!.connection;
  }
}

/**
 * `Base`: the machinery a server and a client connection share (mirrors
 * simple-websocket's `Base`). It owns one socket and one `WSConnection`:
 * one reader feeds the core and runs {@link Base.handleEvents}, which answers
 * pings, echoes the peer's close and queues whole messages; `send`, `ping`
 * and `close` turn events into bytes for the {@link SocketWriter}.
 *
 * Idle cost is kept small: socket listeners and timer callbacks are shared
 * module-level functions that find their connection through a symbol on the
 * socket or a timer argument, so a connection allocates no closures;
 * buffers, promises and timers exist only while something needs them.
 *
 * @module
 */
import type { Duplex } from 'node:stream';
import { BytesMessage, CloseConnection, ConnectionState, Ping, TextMessage, type Event, type WSConnection } from '@wsstack/wsproto';
import { trace, traceBytes, traceEvent, tracing } from '@wsstack/wsproto/internal';
import './trace';
import { isNormalClosure, validateApplicationClose, validateProtocolClose } from './close-codes';
import { deferred, type Deferred } from './deferred';
import { ConnectionClosed, ConnectionError } from './errors';
import { MessageQueue, type Message, type QueueOwner } from './message-queue';
import type { ResolvedOptions } from './options';
import { noteRead, SocketWriter } from './socket-writer';
import { ALLOWED, SocketState } from './socket-state';
import { listen, type SocketOwner } from './socket-listeners';
import { ConnectionTimers, type TimerOwner } from './timers';
import { Fragments } from './fragments';

/** Options of {@link Base.receive}. */
export interface ReceiveOptions {
  /** Milliseconds to wait; then `receive()` resolves `undefined`. 0 = only what is queued. Default: wait forever. */
  timeout?: number;
}

/**
 * A WebSocket connection over a socket: the part {@link Server} and
 * {@link Client} share. Not constructed directly: use `Server.accept` or
 * `Client.connect`, which resolve once the handshake is done.
 */
export abstract class Base implements QueueOwner, TimerOwner, SocketOwner, AsyncIterable<Message> {
  /** The transport: a `net.Socket`, a `tls.TLSSocket` or the `Duplex` of an HTTP upgrade. */
  readonly socket: Duplex;
  /** The sans-IO protocol core. */
  protected readonly conn: WSConnection;
  /** Resolved options (shared between connections given the same options object). */
  protected readonly options: ResolvedOptions;
  /** Where every byte this connection sends goes through. */
  protected readonly writer: SocketWriter;

  private state = SocketState.HANDSHAKE;
  private readonly queue: MessageQueue;
  /** Made when the first timer is armed. */
  private timers: ConnectionTimers | null = null;
  /** The subprotocol the handshake settled on. */
  private chosenSubprotocol: string | null = null;
  /** The close code and reason, once known. */
  private code: number | undefined;
  private reasonText = '';
  /** We sent the first close frame. */
  private closeInitiated = false;
  /** Pieces of a fragmented message; null between messages (most messages come whole). */
  private fragments: Fragments | null = null;
  /** The socket is paused because the queue is full. */
  private readPaused = false;
  /** handleEvents stopped at the high-water mark: the core may hold more events. */
  private eventsHeld = false;
  /** The transport's EOF was handed to the core. */
  private eofFed = false;
  /** Why we dropped the socket ourselves, for the 1006 reason. */
  private dropReason = '';
  private socketError: Error | undefined;
  private closedWaiter: Deferred<void> | null = null;
  private handshakeWaiter: Deferred<this> | null = null;
  /** Why the handshake failed when nobody was waiting yet (the upgrade form settles before it asks). */
  private handshakeFailure: ConnectionError | null = null;

  protected constructor(socket: Duplex, conn: WSConnection, options: ResolvedOptions) {
    this.socket = socket;
    this.conn = conn;
    this.options = options;
    this.queue = new MessageQueue(this, options.maxQueuedMessages, options.maxQueuedBytes);
    this.writer = new SocketWriter(socket, this.queue);
    listen(socket, this);
    // Frames are small and latency matters: no Nagle delay.
    const setNoDelay = (socket as Partial<{ setNoDelay(noDelay: boolean): void }>).setNoDelay;
    if (typeof setNoDelay === 'function') setNoDelay.call(socket, true);
    // A socket that died before we listened will not emit 'close' again.
    if (socket.destroyed) process.nextTick(() => this.onClose());
  }

  // ---------------------------------------------------------------- public

  /** The negotiated subprotocol, or `null` when none was agreed. */
  get subprotocol(): string | null {
    return this.chosenSubprotocol;
  }

  /** True while messages can be sent and received (handshake done, no close yet). */
  get connected(): boolean {
    return this.state === SocketState.OPEN;
  }

  /** The close code once the connection closed (1006 when the transport was lost), else `undefined`. */
  get closeCode(): number | undefined {
    return this.code;
  }

  /** The close reason once the connection closed, else `undefined`. */
  get closeReason(): string | undefined {
    return this.code === undefined ? undefined : this.reasonText;
  }

  /** Received messages waiting for {@link receive}. */
  get queuedMessages(): number {
    return this.queue.length;
  }

  /**
   * The next message: a `string` for text, a `Uint8Array` for binary;
   * `undefined` when `timeout` ms pass first. Rejects with
   * {@link ConnectionClosed} once the connection closed and every message
   * that arrived before the close was handed out.
   */
  receive(options?: ReceiveOptions): Promise<Message | undefined> {
    return this.queue.shift(options?.timeout);
  }

  /**
   * Sends one message (string → text, bytes → binary) as a whole frame.
   * Resolves when the socket has taken the bytes, after `'drain'` when its
   * buffer is full; rejects with {@link ConnectionClosed} once closing.
   * Concurrent sends go out whole, in call order. A binary payload over
   * 16 KiB is written without a copy and the promise resolves once the
   * socket flushed it: change the array only after that.
   */
  send(data: string | Uint8Array): Promise<void> {
    if (tracing) trace('simple-websocket', 'Base.send', typeof data === 'string' ? `text ${data.length} chars` : `binary ${data.length} B`);
    if (this.state !== SocketState.OPEN) return Promise.reject(this.closedError());
    const event = typeof data === 'string' ? new TextMessage({ data }) : new BytesMessage({ data });
    return this.sendEvent(event);
  }

  /** Sends a ping (payload at most 125 bytes). Resolves like {@link send}. */
  ping(payload?: Uint8Array): Promise<void> {
    if (this.state !== SocketState.OPEN) return Promise.reject(this.closedError());
    return this.sendEvent(new Ping(payload === undefined ? {} : { payload }));
  }

  /**
   * Runs the closing handshake: sends a close frame, waits up to
   * `closeTimeout` for the peer's, then ends the socket. Resolves once the
   * socket is closed; calling it again (or after the peer closed) just waits
   * for that. Messages that arrive meanwhile stay receivable.
   *
   * The code and reason are checked as the WHATWG WebSocket API does (1000 or
   * 3000–4999, reason ≤ 123 bytes of UTF-8); a bad one throws
   * {@link InvalidCloseError} synchronously. For protocol codes such as 1001
   * or 1011 use {@link closeWithStatus}.
   */
  close(code = 1000, reason = ''): Promise<void> {
    validateApplicationClose(code, reason);
    return this.startClose(code, reason);
  }

  /**
   * Like {@link close}, but takes any code RFC 6455 lets an endpoint send
   * (1000–1003, 1007–1014, 3000–4999): for servers and frameworks that close
   * with 1001 (going away), 1008 (policy) or 1011 (internal error).
   */
  closeWithStatus(code: number, reason = ''): Promise<void> {
    validateProtocolClose(code, reason);
    return this.startClose(code, reason);
  }

  /**
   * Iterates the messages until the connection closes. The loop ends quietly
   * when the close was normal (1000, 1001, 1005) or we started it, and throws
   * {@link ConnectionClosed} otherwise (1006 connection lost, 1009, 1011, ...).
   */
  [Symbol.asyncIterator](): AsyncIterableIterator<Message> {
    return this.queue;
  }

  /** @internal The queue asks: does iteration end quietly after this close? */
  endsQuietly(error: Error): boolean {
    return error instanceof ConnectionClosed && (isNormalClosure(error.code) || this.closeInitiated);
  }

  // ------------------------------------------------------------- subclasses

  /**
   * Runs the core's events (simple-websocket's `_handle_events`): handshake
   * events go to {@link handleHandshakeEvent}; pieces of messages are joined
   * and queued; pings are answered; a close is echoed and ends the queue.
   *
   * When the queue reaches its high-water mark it stops part-way and pauses
   * the socket; {@link onQueueLow} picks up from there. The unparsed bytes
   * stay in the core, so memory stays bounded. Events are pulled one at a
   * time with `nextEvent()`: no generator per received chunk.
   */
  protected handleEvents(): void {
    this.eventsHeld = false;
    const conn = this.conn;
    // The close (or a failed handshake) ends the queue: nothing after it matters.
    while (!this.queue.closed) {
      if (this.shouldPauseReading()) {
        this.eventsHeld = true;
        this.pauseReading();
        return;
      }
      const event = conn.nextEvent();
      if (event === null) return;
      this.handleEvent(event);
    }
  }

  /**
   * A handshake event: `Request` (server), `AcceptConnection`,
   * `RejectConnection` or `RejectData` (client). The subclass answers it and
   * calls {@link opened} or {@link failHandshake}.
   */
  protected abstract handleHandshakeEvent(event: Event): void;

  /**
   * A handshake error thrown by the core (a `RemoteProtocolError`, maybe with
   * an `eventHint` to answer). The subclass answers and calls {@link failHandshake}.
   */
  protected abstract handleHandshakeError(error: unknown): void;

  /** The promise `accept`/`connect` return: resolves with this connection once open. */
  protected whenOpen(handshakeTimeout: number | null): Promise<this> {
    // Settled already (an upgrade runs its whole handshake at once): no waiter to make.
    if (this.state !== SocketState.HANDSHAKE) {
      return this.handshakeFailure === null ? Promise.resolve(this) : Promise.reject(this.handshakeFailure);
    }
    if (this.handshakeWaiter === null) {
      this.handshakeWaiter = deferred<this>();
      if (handshakeTimeout !== null) this.clock().armHandshake(handshakeTimeout);
    }
    return this.handshakeWaiter.promise;
  }

  /** The handshake succeeded: the connection is open. */
  protected opened(subprotocol: string | null): void {
    if (this.state !== SocketState.HANDSHAKE) return;
    this.chosenSubprotocol = subprotocol;
    this.setState(SocketState.OPEN);
    this.timers?.clearHandshake();
    if (this.options.pingInterval > 0) this.clock().startPing(this.options.pingInterval);
    const waiter = this.handshakeWaiter;
    this.handshakeWaiter = null;
    waiter?.resolve(this);
  }

  /**
   * The handshake failed: reject `accept`/`connect` with `error` and close
   * the socket, after flushing what was written (an HTTP error response).
   */
  protected failHandshake(error: ConnectionError): void {
    if (this.state !== SocketState.HANDSHAKE) return;
    this.timers?.clearHandshake();
    const waiter = this.handshakeWaiter;
    this.handshakeWaiter = null;
    this.queue.close(new ConnectionClosed(1006, error.message));
    this.code = 1006;
    this.reasonText = error.message;
    if (waiter === null) this.handshakeFailure = error;
    else waiter.reject(error);
    this.setState(SocketState.CLOSED);
    this.endSocket();
  }

  // --------------------------------------------------------------- queue

  /** @internal The input queue drained to half its high-water mark: read again. */
  onQueueLow(): void {
    if (!this.readPaused) return;
    this.readPaused = false;
    this.handleEvents();
    if (!this.readPaused && !this.socket.destroyed) this.socket.resume();
  }

  // -------------------------------------------------------------- timers

  /** @internal */
  onHandshakeTimeout(): void {
    if (this.state === SocketState.HANDSHAKE) this.drop('handshake timeout');
  }

  /** @internal Ping timer: drop a peer silent for a whole interval, else ping it. */
  onPingDue(silent: boolean): void {
    if (this.state !== SocketState.OPEN) return;
    // While we do not read we cannot tell a silent peer from a busy one.
    if (this.readPaused) return;
    if (silent) {
      this.drop('no pong within pingInterval');
      return;
    }
    this.timers?.pinged();
    this.writer.write(this.conn.send(new Ping()));
  }

  /** @internal */
  onCloseTimeout(): void {
    this.drop('close timeout');
  }

  // ------------------------------------------------------------ internals

  private setState(to: SocketState): void {
    if (this.state === to) return;
    if (!ALLOWED[this.state].includes(to)) {
      throw new Error(`simple-websocket: bad state transition ${this.state} -> ${to}`);
    }
    this.state = to;
  }

  private clock(): ConnectionTimers {
    return (this.timers ??= new ConnectionTimers(this));
  }

  private shouldPauseReading(): boolean {
    // Past our own close we must read on to find the peer's close frame.
    return this.state === SocketState.OPEN && this.queue.isFull();
  }

  private pauseReading(): void {
    if (this.readPaused) return;
    this.readPaused = true;
    this.socket.pause();
  }

  private handleEvent(event: Event): void {
    if (tracing) trace('simple-websocket', 'Base.handleEvent', traceEvent(event));
    switch (event.type) {
      case 'TextMessage':
      case 'BytesMessage':
        this.onMessagePiece(event.data, event.messageFinished);
        break;
      case 'Ping':
        if (this.conn.state === ConnectionState.OPEN) this.writer.write(this.conn.send(event.response()));
        break;
      case 'Pong':
        break; // liveness is tracked on any received data (see onData)
      case 'CloseConnection':
        this.onCloseEvent(event);
        break;
      default:
        this.handleHandshakeEvent(event);
    }
  }

  private onMessagePiece(data: Message, finished: boolean): void {
    // Most messages come in one piece: queued as they are, no copy.
    if (this.fragments === null && finished) {
      this.queue.push(data);
      return;
    }
    const whole = (this.fragments ??= new Fragments()).add(data, finished);
    if (whole === null) return;
    this.fragments = null;
    this.queue.push(whole);
  }

  private onCloseEvent(event: CloseConnection): void {
    // The peer's close frame (or a violation the core turned into one): we owe it a reply.
    if (this.conn.state === ConnectionState.REMOTE_CLOSING) {
      this.writer.write(this.conn.send(event.response()));
    }
    if (this.code === undefined) {
      this.code = event.code;
      this.reasonText = event.code === 1006 && this.dropReason !== '' ? this.dropReason : event.reason;
    }
    this.fragments = null;
    this.queue.close(new ConnectionClosed(this.code, this.reasonText));
    if (this.state === SocketState.OPEN) this.setState(SocketState.CLOSING);
    this.timers?.stopPing();
    // The closing handshake is done (or the transport is gone): end our side,
    // and destroy the socket if the peer does not close its side in time.
    this.endSocket();
  }

  private startClose(code: number, reason: string): Promise<void> {
    if (tracing) trace('simple-websocket', 'Base.startClose', `${code} ${JSON.stringify(reason)}`);
    if (this.state === SocketState.OPEN && this.conn.state === ConnectionState.OPEN) {
      this.closeInitiated = true;
      this.setState(SocketState.CLOSING);
      this.timers?.stopPing();
      this.writer.write(this.conn.send(new CloseConnection({ code, reason })));
      this.armCloseTimer();
      // The peer's close may sit behind messages we stopped reading: read on.
      this.onQueueLow();
    }
    return this.whenClosed();
  }

  private whenClosed(): Promise<void> {
    if (this.state === SocketState.CLOSED) return Promise.resolve();
    return (this.closedWaiter ??= deferred<void>()).promise;
  }

  private sendEvent(event: Event): Promise<void> {
    let parts: Uint8Array[];
    try {
      parts = this.conn.sendv(event);
    } catch (error) {
      // e.g. a ping payload over 125 bytes (LocalProtocolError WS_BAD_EVENT)
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    return this.writer.writeFrame(parts, () => this.closedError());
  }

  private closedError(): ConnectionClosed {
    if (this.code !== undefined) return new ConnectionClosed(this.code, this.reasonText);
    return new ConnectionClosed(1006, this.state === SocketState.CLOSING ? 'the connection is closing' : 'the connection is not open');
  }

  private endSocket(): void {
    const socket = this.socket;
    if (socket.destroyed) return;
    if (socket.writable) socket.end();
    this.armCloseTimer();
  }

  private armCloseTimer(): void {
    if (this.socket.destroyed) return;
    this.clock().armClose(this.options.closeTimeout);
  }

  /** Drops the socket: no closing handshake, the peer sees a reset. */
  private drop(reason: string): void {
    if (this.dropReason === '') this.dropReason = reason;
    this.socket.destroy();
  }

  // ------------------------------------------------------ socket listeners

  /** @internal */
  onData(chunk: Uint8Array): void {
    if (tracing) trace('simple-websocket', 'Base.onData', `socket data ${traceBytes(chunk)}`);
    noteRead();
    this.timers?.heard();
    if (this.state === SocketState.CLOSED) return;
    try {
      this.conn.receiveData(chunk);
    } catch (error) {
      this.onCoreError(error);
      return;
    }
    this.runEvents();
  }

  /** @internal */
  onEnd(): void {
    this.feedEof();
    // Sockets of Node's http server are half-open capable: end our side too.
    this.endSocket();
  }

  /** @internal */
  onError(error: Error): void {
    // 'close' follows; keep the first error for the handshake failure's cause.
    this.socketError ??= error;
  }

  /** @internal */
  onClose(): void {
    if (tracing) trace('simple-websocket', 'Base.onClose', `socket closed, close code ${this.code ?? 1006}`);
    this.feedEof();
    this.timers?.clearAll();
    if (this.state === SocketState.HANDSHAKE) {
      const cause = this.socketError;
      this.failHandshake(
        new ConnectionError(
          cause === undefined ? 'the connection closed during the handshake' : `the connection failed: ${cause.message}`,
          this.dropReason === 'handshake timeout' ? 'WS_HANDSHAKE_TIMEOUT' : 'WS_CONNECT_FAILED',
          { cause },
        ),
      );
    }
    // Messages held back by the high-water mark are still delivered (the
    // core's events run on as the queue drains); otherwise the queue must end here.
    if (!this.eventsHeld && !this.queue.closed) {
      this.code ??= 1006;
      this.queue.close(new ConnectionClosed(this.code, this.reasonText || this.dropReason));
    }
    if (this.state !== SocketState.CLOSED) this.setState(SocketState.CLOSED);
    this.writer.fail(this.closedError());
    const closed = this.closedWaiter;
    this.closedWaiter = null;
    closed?.resolve();
  }

  private feedEof(): void {
    if (this.eofFed || this.state === SocketState.CLOSED) return;
    this.eofFed = true;
    if (this.conn.state === ConnectionState.CLOSED) return;
    try {
      this.conn.receiveData(null);
    } catch (error) {
      if (this.state === SocketState.HANDSHAKE) return; // onClose fails the handshake
      this.onCoreError(error);
      return;
    }
    this.runEvents();
  }

  private runEvents(): void {
    try {
      this.handleEvents();
    } catch (error) {
      this.onCoreError(error);
    }
  }

  private onCoreError(error: unknown): void {
    if (this.state === SocketState.HANDSHAKE) {
      this.handleHandshakeError(error);
      return;
    }
    // After the handshake the core reports violations as CloseConnection
    // events, so anything thrown here is a bug: never crash, never leave the socket open.
    this.drop(`internal error: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/**
 * `Base`: what a server and a client connection share (mirrors
 * simple-websocket's `Base`): the API (`receive`, `send`, `ping`, `close`,
 * `for await`) and the reader, {@link Base.handleEvents}, which turns the
 * core's events into queued messages, answers pings and echoes the peer's
 * close. The socket's life under it (opening, the socket's events, ending
 * or dropping it) is {@link SocketConnection}'s.
 *
 * Idle cost is kept small: socket listeners and timer callbacks are shared
 * module-level functions that find their connection through a symbol on the
 * socket or a timer argument, so a connection allocates no closures;
 * buffers, promises and timers exist only while something needs them.
 *
 * @module
 */
import { BytesMessage, CloseConnection, ConnectionState, Ping, TextMessage, type Event } from '@wsstack/wsproto';
import { traceEvent, tracing } from '@wsstack/wsproto/internal';
import './trace';
import { isNormalClosure, validateApplicationClose, validateProtocolClose } from './close-codes';
import { ConnectionClosed, describeValue } from './errors';
import { Fragments } from './fragments';
import type { Message } from './message-queue';
import { receiveTimeout } from './options';
import { SocketConnection } from './socket-connection';
import { COPY_MAX } from './socket-writer';
import { SocketState } from './socket-state';

/** Options of {@link Base.receive}. */
export interface ReceiveOptions {
  /**
   * Milliseconds to wait, 0 to 2^31−1 or `Infinity`; then `receive()`
   * resolves `undefined`. 0 = only what is queued. Default: wait forever.
   */
  timeout?: number;
}

/**
 * A WebSocket connection over a socket: the part {@link Server} and
 * {@link Client} share. Not constructed directly: use `Server.accept` or
 * `Client.connect`, which resolve once the handshake is done.
 */
export abstract class Base extends SocketConnection implements AsyncIterable<Message> {
  /** Pieces of a fragmented message; null between messages (most messages come whole). */
  private fragments: Fragments | null = null;
  /** The socket is paused because the queue is full. */
  private readPaused = false;
  /** handleEvents stopped at the high-water mark: the core may hold more events. */
  protected eventsHeld = false;
  /** Our pongs wait in a full socket buffer: we read no more until it drains. */
  private pongsBlocked = false;
  /** The peer's close (or its violation) came while messages wait for the application: the close we owe it. */
  private closeOwed: CloseConnection | null = null;

  // ---------------------------------------------------------------- public

  /** The negotiated subprotocol, or `null` when none was agreed. */
  get subprotocol(): string | null {
    return this.subprotocolChosen;
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

  /**
   * Bytes written to the socket and not yet sent (its buffer), as the
   * browser's `bufferedAmount`: what a slow reader piles up.
   */
  get bufferedAmount(): number {
    return this.socket.writableLength;
  }

  /** Received messages waiting for {@link receive}. */
  get queuedMessages(): number {
    return this.queue.length;
  }

  /**
   * The next message: a `string` for text, a `Uint8Array` for binary. Waits
   * as long as it takes; rejects with {@link ConnectionClosed} once the
   * connection closed and every message that arrived before the close was
   * handed out. So without a timeout it never resolves `undefined`. Rejects
   * with `TypeError` or `RangeError` for options it cannot take (the
   * connection is unchanged).
   */
  receive(options?: { timeout?: undefined }): Promise<Message>;
  /**
   * The next message, or `undefined` when `options.timeout` ms pass first
   * (0: only a message already queued). Rejects like {@link receive} without
   * a timeout. (Options that may hold a timeout land here too.)
   */
  receive(options?: ReceiveOptions): Promise<Message | undefined>;
  receive(options?: ReceiveOptions): Promise<Message | undefined> {
    let timeout: number | undefined;
    try {
      timeout = receiveTimeout(options);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new TypeError(String(error)));
    }
    return this.queue.shift(timeout);
  }

  /**
   * Sends one message (string → text, bytes → binary) as a whole frame.
   * Resolves when the socket has taken the bytes, after `'drain'` when its
   * buffer is full; rejects with {@link ConnectionClosed} once closing.
   * Concurrent sends go out whole, in call order. On the server side a
   * binary payload over 16 KiB is written without a copy and the promise
   * resolves once the socket flushed it: change the array only after that.
   */
  send(data: string | Uint8Array): Promise<void> {
    let event: TextMessage | BytesMessage;
    if (typeof data === 'string') event = new TextMessage({ data });
    else if (data instanceof Uint8Array) event = new BytesMessage({ data });
    else return Promise.reject(new TypeError(`send() takes a string or a Uint8Array, not ${describeValue(data)}`));
    if (tracing) this.traceStep('Base.send', typeof data === 'string' ? `text ${data.length} chars` : `binary ${data.length} B`);
    if (this.state !== SocketState.OPEN) return Promise.reject(this.closedError());
    return this.sendEvent(event);
  }

  /**
   * Sends a ping (a `Uint8Array` of at most 125 bytes). Resolves like
   * {@link send}; rejects with `TypeError` for another payload type.
   */
  ping(payload?: Uint8Array): Promise<void> {
    if (payload !== undefined && !(payload instanceof Uint8Array)) {
      return Promise.reject(new TypeError(`ping() takes a Uint8Array payload, not ${describeValue(payload)}`));
    }
    if (tracing) this.traceStep('Base.ping', `${payload?.length ?? 0} B payload`);
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
   * {@link InvalidCloseError} synchronously, a code that is not a number or
   * a reason that is not a string `TypeError`; either way before anything
   * changes. For protocol codes such as 1001 or 1011 use {@link closeWithStatus}.
   *
   * When the peer closed first while messages still waited for
   * {@link receive}, this answers its close now (echoing its code).
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
   *
   * Leaving the loop early (`break`, `return`, a throw) closes the
   * connection with 1000, as leaving a loop over a Node stream destroys the
   * stream: the loop was the reader. The close starts on the next tick, so
   * code right after the loop that runs before it waits on I/O or a timer
   * closes first if it wants another code (`close(4000)`; express-sock's
   * 1011 for an error thrown in the loop). To read on, use {@link receive}.
   */
  [Symbol.asyncIterator](): AsyncIterableIterator<Message> {
    return this.queue;
  }

  /** @internal The queue asks: does iteration end quietly after this close? */
  override endsQuietly(error: Error): boolean {
    return error instanceof ConnectionClosed && (isNormalClosure(error.code) || this.closeInitiated);
  }

  /** @internal The queue tells: a `for await` loop was left early (see `[Symbol.asyncIterator]`). */
  override onIterationLeft(): void {
    if (this.state === SocketState.OPEN) process.nextTick(closeAfterLoop, this);
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
  protected override handleEvents(): void {
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

  // --------------------------------------------------------------- queue

  /** @internal The input queue drained to half its high-water mark: read again. */
  override onQueueLow(): void {
    this.resumeReading();
  }

  /**
   * @internal The application asked for a message and the closed queue had
   * none left: it has taken everything that came before the peer's close,
   * so the close we held back goes out now.
   */
  override onQueueDrained(): void {
    this.answerOwedClose();
  }

  // -------------------------------------------------------------- timers

  /** @internal closeTimeout passed: a close still owed goes out now; else the peer is too late and is dropped. */
  override onCloseTimeout(): void {
    if (this.closeOwed !== null) this.answerOwedClose();
    else super.onCloseTimeout();
  }

  /** @internal The peer ended its side: a close still owed goes now, if it can still be written at all. */
  override onEnd(): void {
    this.answerOwedClose();
    super.onEnd();
  }

  /** @internal The socket closed: nothing is owed to a peer that is gone. */
  override onClose(): void {
    this.closeOwed = null;
    super.onClose();
  }

  /** @internal Ping timer: drop a peer silent for a whole interval, else ping it. */
  override onPingDue(silent: boolean): void {
    if (this.state !== SocketState.OPEN) return;
    // While we do not read we cannot tell a silent peer from a busy one.
    if (this.readPaused) return;
    if (silent) {
      if (tracing) this.traceStep('Base.onPingDue', 'no pong within pingInterval: drop the socket (1006)');
      this.drop('no pong within pingInterval');
      return;
    }
    if (tracing) this.traceStep('Base.onPingDue', 'ping the peer, it owes a pong within pingInterval');
    this.pinged();
    this.writer.write(this.conn.send(new Ping()));
  }

  // ------------------------------------------------------------ internals

  private shouldPauseReading(): boolean {
    // Past our own close we must read on to find the peer's close frame.
    return this.state === SocketState.OPEN && (this.pongsBlocked || this.queue.isFull());
  }

  /** Reads again after a pause, if nothing else still holds it. */
  private resumeReading(): void {
    if (!this.readPaused) return;
    this.readPaused = false;
    this.handleEvents();
    if (!this.readPaused && !this.socket.destroyed) this.socket.resume();
  }

  private pauseReading(): void {
    if (this.readPaused) return;
    this.readPaused = true;
    this.socket.pause();
  }

  private handleEvent(event: Event): void {
    if (tracing) this.traceStep('Base.handleEvent', traceEvent(event));
    switch (event.type) {
      case 'TextMessage':
      case 'BytesMessage':
        this.onMessagePiece(event.data, event.messageFinished);
        break;
      case 'Ping':
        if (this.conn.state === ConnectionState.OPEN) this.answerPing(event);
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

  /**
   * Answers a ping. A peer that pings and never reads would pile our pongs
   * up in the socket's buffer without bound: once that buffer is past its
   * high-water mark we read nothing more (its pings wait in its own
   * buffers) until it drains, as for any peer that does not read.
   */
  private answerPing(ping: Ping): void {
    this.writer.write(this.conn.send(ping.response()));
    if (this.pongsBlocked || !this.socket.writableNeedDrain) return;
    this.pongsBlocked = true;
    // Settled on 'drain', or rejected when the socket closes: read on either way.
    const resume = (): void => {
      this.pongsBlocked = false;
      this.resumeReading();
    };
    this.writer.whenDrained().then(resume, resume);
  }

  private onCloseEvent(event: CloseConnection): void {
    if (this.code === undefined) {
      this.code = event.code;
      this.reasonText = event.code === 1006 && this.dropReason !== '' ? this.dropReason : event.reason;
    }
    this.fragments = null;
    this.queue.close(new ConnectionClosed(this.code, this.reasonText));
    this.stopPing();
    // The peer's close frame (or a violation the core turned into one): we owe it a reply.
    const owed = this.conn.state === ConnectionState.REMOTE_CLOSING ? event : null;
    if (owed !== null && this.queue.length > 0) {
      // Messages that came before it wait for the application: let it answer
      // them first. The close goes out once it asks for more, or at closeTimeout.
      this.closeOwed = owed;
      this.armCloseTimer();
      return;
    }
    this.finishClose(owed);
  }

  /** The close held back for the application goes out now. */
  private answerOwedClose(): void {
    const owed = this.closeOwed;
    if (owed === null) return;
    this.closeOwed = null;
    // The close deadline starts again for the peer's TCP close.
    this.disarmCloseTimer();
    this.finishClose(owed);
  }

  /** Sends the close we owe (if any); the closing handshake is done, or the transport is gone. */
  private finishClose(owed: CloseConnection | null): void {
    if (owed !== null && this.conn.state === ConnectionState.REMOTE_CLOSING) {
      this.writer.write(this.conn.send(owed.response()));
    }
    if (this.state === SocketState.OPEN) this.setState(SocketState.CLOSING);
    // End our side, and destroy the socket if the peer does not close its side in time.
    this.endSocket();
  }

  private startClose(code: number, reason: string): Promise<void> {
    if (tracing) this.traceStep('Base.startClose', `${code} ${JSON.stringify(reason)}`);
    if (this.closeOwed !== null) {
      // The peer closed first: answering it is our close.
      this.answerOwedClose();
    } else if (this.state === SocketState.OPEN && this.conn.state === ConnectionState.OPEN) {
      // The bytes first: if anything threw, nothing would have changed.
      const bytes = this.conn.send(new CloseConnection({ code, reason }));
      this.closeInitiated = true;
      this.setState(SocketState.CLOSING);
      this.stopPing();
      this.writer.write(bytes);
      this.armCloseTimer();
      // The peer's close may sit behind messages we stopped reading: read on.
      this.resumeReading();
    }
    return this.whenClosed();
  }

  private sendEvent(event: Event): Promise<void> {
    try {
      // A large payload goes out as it is, beside its header; a smaller one
      // is copied into its frame by the core, as one write costs less than two.
      if ((event.type === 'BytesMessage' || event.type === 'TextMessage') && event.data.length > COPY_MAX) {
        return this.writer.writeParts(this.conn.sendParts(event), () => this.closedError());
      }
      return this.writer.writeFrame(this.conn.send(event));
    } catch (error) {
      // e.g. a ping payload over 125 bytes (LocalProtocolError WS_BAD_EVENT)
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

}

/**
 * The close after a `for await` loop was left early; a shared function, so
 * leaving a loop costs no closure. A no-op when the code after the loop
 * closed first.
 */
function closeAfterLoop(ws: Base): void {
  void ws.close(1000);
}

/**
 * `Base`: the machinery a server and a client connection share (mirrors
 * simple-websocket's `Base`). It owns one socket and one `WSConnection`:
 * one reader feeds the core and runs {@link Base.handleEvents}, which answers
 * pings, echoes the peer's close and queues whole messages; `send`, `ping`
 * and `close` turn events into bytes and write them.
 *
 * Idle cost is kept small: socket listeners and timer callbacks are shared
 * module-level functions that find their connection through a symbol on the
 * socket or a timer argument, so a connection allocates no closures; buffers,
 * promises and timers exist only while something needs them.
 *
 * @module
 */
import type { Duplex } from 'node:stream';
import {
  BytesMessage,
  CloseConnection,
  ConnectionState,
  Ping,
  TextMessage,
  trace,
  traceBytes,
  traceEvent,
  tracing,
  type Event,
  type WSConnection,
} from '@wsstack/wsproto';
import './trace';
import { isNormalClosure, validateApplicationClose, validateProtocolClose } from './close-codes';
import { ConnectionClosed, ConnectionError } from './errors';
import { MessageQueue, type Message, type QueueOwner } from './message-queue';
import type { ResolvedOptions } from './options';

/**
 * Where a connection is in its life. Transitions happen in
 * {@link Base.setState} only:
 *
 * HANDSHAKE → OPEN (handshake done) | CLOSED (handshake failed);
 * OPEN → CLOSING (a close frame was sent or received, or the socket is being
 * dropped) | CLOSED (the transport went away);
 * CLOSING → CLOSED (the transport closed).
 */
export enum SocketState {
  HANDSHAKE = 'HANDSHAKE',
  OPEN = 'OPEN',
  CLOSING = 'CLOSING',
  CLOSED = 'CLOSED',
}

const ALLOWED: Record<SocketState, readonly SocketState[]> = {
  [SocketState.HANDSHAKE]: [SocketState.OPEN, SocketState.CLOSED],
  [SocketState.OPEN]: [SocketState.CLOSING, SocketState.CLOSED],
  [SocketState.CLOSING]: [SocketState.CLOSED],
  [SocketState.CLOSED]: [],
};

/** A promise with its settle functions, made only when someone waits. */
interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (error: Error) => void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

// Bits of Base.flags.
const EVENTS_HELD = 1 << 0;
const READ_PAUSED = 1 << 1;
const EOF_FED = 1 << 2;
const CORKED = 1 << 3;
const CLOSE_INITIATED = 1 << 4;
const AWAITING_PEER = 1 << 5;
/** The shared 'drain' listener is on the socket. */
const DRAIN_LISTENED = 1 << 6;

/**
 * Counts reads from any socket of this process. A write is a lone reply when
 * this connection wrote nothing since the last read: no tick needs to be
 * scheduled to find that out (a nextTick per write cost more than the write's
 * own JavaScript).
 */
let readTurn = 0;

/**
 * What `send` returns when the socket took the bytes at once: one settled
 * promise shared by every such send (a settled promise cannot change, and
 * awaiting it costs the same), not a new one per message.
 */
const TAKEN: Promise<void> = Promise.resolve();

/** Frames up to this size are joined into one buffer before writing (see Base.sendEvent). */
const JOIN_MAX = 16 * 1024;

/** The connection that owns a socket, stored on the socket so listeners need no closure. */
const kOwner = Symbol('wsstack.simple-websocket');
type OwnedSocket = Duplex & { [kOwner]?: Base };

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
export abstract class Base implements QueueOwner, AsyncIterable<Message> {
  /** The transport: a `net.Socket`, a `tls.TLSSocket` or the `Duplex` of an HTTP upgrade. */
  readonly socket: Duplex;
  /** The sans-IO protocol core. */
  protected readonly conn: WSConnection;
  /** Resolved options (shared between connections given the same options object). */
  protected readonly options: ResolvedOptions;

  private state = SocketState.HANDSHAKE;
  private readonly queue: MessageQueue;
  /** The subprotocol the handshake settled on. */
  private chosenSubprotocol: string | null = null;
  private code: number | undefined;
  private reasonText = '';
  /** Pieces of a fragmented message; null between messages (most messages come whole). */
  private parts: Message[] | null = null;
  private partsBytes = 0;
  /** The yes/no facts below, one bit each: an idle connection is mostly its fields. */
  private flags = 0;
  /** {@link readTurn} at our last write; -1 after an uncork. */
  private writeTurn = -1;
  /** Why we dropped the socket ourselves, for the 1006 reason. */
  private dropReason = '';
  private socketError: Error | undefined;
  private drainWaiter: Deferred<void> | null = null;
  private closedWaiter: Deferred<void> | null = null;
  private handshakeWaiter: Deferred<this> | null = null;
  /** Why the handshake failed when nobody was waiting yet (the upgrade form settles before it asks). */
  private handshakeFailure: ConnectionError | null = null;
  private pingTimer: NodeJS.Timeout | null = null;
  private closeTimer: NodeJS.Timeout | null = null;
  private handshakeTimer: NodeJS.Timeout | null = null;

  /** The queue filled up mid-way: the core may hold more events (see handleEvents). */
  private get eventsHeld(): boolean { return (this.flags & EVENTS_HELD) !== 0; }
  private set eventsHeld(on: boolean) { this.setFlag(EVENTS_HELD, on); }
  private get readPaused(): boolean { return (this.flags & READ_PAUSED) !== 0; }
  private set readPaused(on: boolean) { this.setFlag(READ_PAUSED, on); }
  private get eofFed(): boolean { return (this.flags & EOF_FED) !== 0; }
  private set eofFed(on: boolean) { this.setFlag(EOF_FED, on); }
  private get corked(): boolean { return (this.flags & CORKED) !== 0; }
  private set corked(on: boolean) { this.setFlag(CORKED, on); }
  /** True when we sent the first close frame. */
  private get closeInitiated(): boolean { return (this.flags & CLOSE_INITIATED) !== 0; }
  private set closeInitiated(on: boolean) { this.setFlag(CLOSE_INITIATED, on); }
  /** Set by the ping timer, cleared by any received data. */
  private get awaitingPeer(): boolean { return (this.flags & AWAITING_PEER) !== 0; }
  private set awaitingPeer(on: boolean) { this.setFlag(AWAITING_PEER, on); }

  private setFlag(bit: number, on: boolean): void {
    this.flags = on ? this.flags | bit : this.flags & ~bit;
  }

  protected constructor(socket: Duplex, conn: WSConnection, options: ResolvedOptions) {
    this.socket = socket;
    this.conn = conn;
    this.options = options;
    this.queue = new MessageQueue(this, options.maxQueuedMessages, options.maxQueuedBytes);
    const owned = socket as OwnedSocket;
    owned[kOwner] = this;
    // The listeners are shared static functions that take the socket as `this` on purpose.
    /* eslint-disable @typescript-eslint/unbound-method */
    socket.on('data', Base.onSocketData);
    socket.on('end', Base.onSocketEnd);
    socket.on('error', Base.onSocketError);
    socket.on('close', Base.onSocketClose);
    // 'drain' is listened to from the first write the socket could not take.
    /* eslint-enable @typescript-eslint/unbound-method */
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
    if (tracing) trace('simple-websocket', 'Base.send', typeof data === 'string' ? `text ${data.length} chars` : `binary ${data.byteLength} B`);
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

  /**
   * Writes bytes in one `socket.write`. A lone reply (our first write since
   * the last socket read, with no received message waiting to be answered
   * next) goes out at once; otherwise writes are corked and leave together
   * at the end of the tick, one writev for a burst. `onFlushed` runs once the
   * socket flushed them (with an error when it never will).
   */
  protected write(bytes: Uint8Array, onFlushed?: (error?: Error | null) => void): boolean {
    const socket = this.socket;
    if (tracing) trace('simple-websocket', 'Base.write', `socket.write ${traceBytes(bytes)}`);
    if (socket.destroyed || !socket.writable) {
      if (onFlushed) process.nextTick(onFlushed, new Error('socket closed'));
      return true;
    }
    // The handshake's one response goes out at once, with no tick to track.
    if (this.state === SocketState.HANDSHAKE) return socket.write(bytes, onFlushed);
    if (!this.corked) {
      if (this.writeTurn === readTurn || this.queue.length > 0) {
        this.corked = true;
        socket.cork();
        process.nextTick(Base.uncorkSocket, this);
      }
      this.writeTurn = readTurn;
    }
    return socket.write(bytes, onFlushed);
  }

  /** The promise `accept`/`connect` return: resolves with this connection once open. */
  protected whenOpen(handshakeTimeout: number | null): Promise<this> {
    // Settled already (an upgrade runs its whole handshake at once): no waiter to make.
    if (this.state !== SocketState.HANDSHAKE) {
      return this.handshakeFailure === null ? Promise.resolve(this) : Promise.reject(this.handshakeFailure);
    }
    if (this.handshakeWaiter === null) {
      this.handshakeWaiter = deferred<this>();
      if (handshakeTimeout !== null) {
        this.handshakeTimer = setTimeout(Base.onHandshakeTimer, handshakeTimeout, this);
      }
    }
    return this.handshakeWaiter.promise;
  }

  /** The handshake succeeded: the connection is open. */
  protected opened(subprotocol: string | null): void {
    if (this.state !== SocketState.HANDSHAKE) return;
    this.chosenSubprotocol = subprotocol;
    this.setState(SocketState.OPEN);
    this.clearHandshakeTimer();
    if (this.options.pingInterval > 0) {
      this.pingTimer = setInterval(Base.onPingTimer, this.options.pingInterval, this);
      this.pingTimer.unref();
    }
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
    this.clearHandshakeTimer();
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

  // ------------------------------------------------------------ internals

  private setState(to: SocketState): void {
    if (this.state === to) return;
    if (!ALLOWED[this.state].includes(to)) {
      throw new Error(`simple-websocket: bad state transition ${this.state} -> ${to}`);
    }
    this.state = to;
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
        if (this.conn.state === ConnectionState.OPEN) this.write(this.conn.send(event.response()));
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
    let parts = this.parts;
    if (parts === null) {
      // Most messages come in one piece: queue it as is, no copy.
      if (finished) {
        this.queue.push(data);
        return;
      }
      parts = this.parts = [];
      this.partsBytes = 0;
    }
    const size = data.length; // UTF-16 units or bytes, as the queue counts them
    if (size > 0) {
      parts.push(data);
      this.partsBytes += size;
    }
    if (!finished) return;
    this.parts = null;
    this.queue.push(joinParts(parts, this.partsBytes, typeof data === 'string'));
  }

  private onCloseEvent(event: CloseConnection): void {
    // The peer's close frame (or a violation the core turned into one): we owe it a reply.
    if (this.conn.state === ConnectionState.REMOTE_CLOSING) {
      this.write(this.conn.send(event.response()));
    }
    if (this.code === undefined) {
      this.code = event.code;
      this.reasonText = event.code === 1006 && this.dropReason !== '' ? this.dropReason : event.reason;
    }
    this.parts = null;
    this.queue.close(new ConnectionClosed(this.code, this.reasonText));
    if (this.state === SocketState.HANDSHAKE) return;
    if (this.state === SocketState.OPEN) this.setState(SocketState.CLOSING);
    this.stopPing();
    // The closing handshake is done (or the transport is gone): end our side,
    // and destroy the socket if the peer does not close its side in time.
    this.endSocket();
  }

  private startClose(code: number, reason: string): Promise<void> {
    if (tracing) trace('simple-websocket', 'Base.startClose', `${code} ${JSON.stringify(reason)}`);
    if (this.state === SocketState.OPEN && this.conn.state === ConnectionState.OPEN) {
      this.closeInitiated = true;
      this.setState(SocketState.CLOSING);
      this.stopPing();
      this.write(this.conn.send(new CloseConnection({ code, reason })));
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
    if (parts.length === 1) return this.settleWrite(this.write(parts[0]));
    const header = parts[0];
    const payload = parts[1];
    // `length`, not `byteLength`: the same for bytes, and Node 20's V8 does not inline the getter (about 20 ns).
    const size = header.length + payload.length;
    if (size <= JOIN_MAX) {
      // A small frame: one copy costs less than a second write.
      const frame = Buffer.allocUnsafe(size);
      frame.set(header, 0);
      frame.set(payload, header.length);
      return this.settleWrite(this.write(frame));
    }
    // A large payload goes out as the caller's own bytes, not copied, so
    // resolve only once the socket has flushed them: then they may be reused.
    // Flush now rather than at the end of the tick: usually the kernel takes
    // it all at once and the promise can resolve without waiting a round.
    const socket = this.socket;
    if (!this.corked) {
      // Header and payload leave in one writev.
      this.corked = true;
      socket.cork();
    }
    this.write(header);
    const flushed = deferred<void>();
    this.write(payload, (error) => (error ? flushed.reject(this.closedError()) : flushed.resolve()));
    if (this.corked && !socket.destroyed) {
      this.corked = false;
      socket.uncork();
    }
    if (socket.writableLength === 0 && !socket.destroyed) {
      flushed.promise.catch(() => {}); // settled by the callback; nobody waits on it now
      return Promise.resolve();
    }
    return flushed.promise;
  }

  /** Resolves now when the socket took the bytes, else on `'drain'`. */
  private settleWrite(taken: boolean): Promise<void> {
    if (taken) return TAKEN;
    if ((this.flags & DRAIN_LISTENED) === 0) {
      this.flags |= DRAIN_LISTENED;
      // eslint-disable-next-line @typescript-eslint/unbound-method -- shared listener, `this` is the socket
      this.socket.on('drain', Base.onSocketDrain);
    }
    return (this.drainWaiter ??= deferred<void>()).promise;
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
    if (this.closeTimer !== null || this.socket.destroyed) return;
    this.closeTimer = setTimeout(Base.onCloseTimer, this.options.closeTimeout, this);
  }

  private stopPing(): void {
    if (this.pingTimer !== null) {
      clearInterval(this.pingTimer);
      this.pingTimer = null;
    }
  }

  private clearHandshakeTimer(): void {
    if (this.handshakeTimer !== null) {
      clearTimeout(this.handshakeTimer);
      this.handshakeTimer = null;
    }
  }

  /** Drops the socket: no closing handshake, the peer sees a reset. */
  private drop(reason: string): void {
    if (this.dropReason === '') this.dropReason = reason;
    this.socket.destroy();
  }

  // ------------------------------------------------------ socket listeners

  private onData(chunk: Uint8Array): void {
    if (tracing) trace('simple-websocket', 'Base.onData', `socket data ${traceBytes(chunk)}`);
    readTurn = (readTurn + 1) & 0x3fffffff; // stays a small integer
    this.awaitingPeer = false;
    if (this.state === SocketState.CLOSED) return;
    try {
      this.conn.receiveData(chunk);
    } catch (error) {
      this.onCoreError(error);
      return;
    }
    this.runEvents();
  }

  private onEnd(): void {
    this.feedEof();
    // Sockets of Node's http server are half-open capable: end our side too.
    this.endSocket();
  }

  private onError(error: Error): void {
    // 'close' follows; keep the first error for the handshake failure's cause.
    this.socketError ??= error;
  }

  private onClose(): void {
    if (tracing) trace('simple-websocket', 'Base.onClose', `socket closed, close code ${this.code ?? 1006}`);
    this.feedEof();
    this.stopPing();
    this.clearHandshakeTimer();
    if (this.closeTimer !== null) {
      clearTimeout(this.closeTimer);
      this.closeTimer = null;
    }
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
    const drain = this.drainWaiter;
    this.drainWaiter = null;
    drain?.reject(this.closedError());
    const closed = this.closedWaiter;
    this.closedWaiter = null;
    closed?.resolve();
  }

  private onDrain(): void {
    const drain = this.drainWaiter;
    this.drainWaiter = null;
    drain?.resolve();
  }

  /** Ping timer: drop a peer silent for a whole interval, else ping it. */
  private onPingTick(): void {
    if (this.state !== SocketState.OPEN) return;
    // While we do not read we cannot tell a silent peer from a busy one.
    if (this.readPaused) return;
    if (this.awaitingPeer) {
      this.drop('no pong within pingInterval');
      return;
    }
    this.awaitingPeer = true;
    this.write(this.conn.send(new Ping()));
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

  // Shared listeners and timer callbacks: `this` is the socket and the
  // connection hangs off it (or comes as the timer's argument), so a
  // connection costs no closure. Static members may reach private ones.
  private static onSocketData(this: Duplex, chunk: Uint8Array): void {
    (this as OwnedSocket)[kOwner]?.onData(chunk);
  }
  private static onSocketEnd(this: Duplex): void {
    (this as OwnedSocket)[kOwner]?.onEnd();
  }
  private static onSocketError(this: Duplex, error: Error): void {
    (this as OwnedSocket)[kOwner]?.onError(error);
  }
  private static onSocketClose(this: Duplex): void {
    (this as OwnedSocket)[kOwner]?.onClose();
  }
  private static onSocketDrain(this: Duplex): void {
    (this as OwnedSocket)[kOwner]?.onDrain();
  }
  private static uncorkSocket(this: void, ws: Base): void {
    ws.writeTurn = -1;
    if (!ws.corked) return;
    ws.corked = false;
    if (!ws.socket.destroyed) ws.socket.uncork();
  }
  private static onPingTimer(this: void, ws: Base): void {
    ws.onPingTick();
  }
  private static onCloseTimer(this: void, ws: Base): void {
    ws.closeTimer = null;
    ws.drop('close timeout');
  }
  private static onHandshakeTimer(this: void, ws: Base): void {
    ws.handshakeTimer = null;
    if (ws.state === SocketState.HANDSHAKE) ws.drop('handshake timeout');
  }
}


/** Joins the pieces of a fragmented message. */
function joinParts(parts: Message[], bytes: number, text: boolean): Message {
  if (text) return parts.length === 1 ? parts[0] : parts.join('');
  if (parts.length === 1) return parts[0];
  // One copy at the end, into memory of its own (no shared pool slab is kept alive).
  const out = Buffer.allocUnsafeSlow(bytes);
  let offset = 0;
  for (const part of parts as Uint8Array[]) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

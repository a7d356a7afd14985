/**
 * `SocketConnection`: the life of a WebSocket connection on its socket,
 * under {@link Base}: opening (the handshake's promise and deadline), the
 * socket's events fed to the core, and closing (ending or dropping the
 * socket, the close deadline). What the messages do is `Base`'s.
 *
 * @module
 */
import type { Duplex } from 'node:stream';
import { ConnectionState, ConnectionType, type ExtendedConnect, type WSConnection } from '@wsstack/wsproto';
import { traceBytes, traceFor, traceLink, tracing, type TraceExtra } from '@wsstack/wsproto/internal';
import { deferred, type Deferred } from './deferred';
import { ConnectionClosed, ConnectionError } from './errors';
import { abortTransport } from './http2-stream';
import { MessageQueue, type QueueOwner } from './message-queue';
import type { ResolvedOptions } from './options';
import { listen, type SocketOwner } from './socket-listeners';
import { ALLOWED, SocketState } from './socket-state';
import { noteRead, SocketWriter } from './socket-writer';
import { ConnectionTimers, type TimerOwner } from './timers';

/**
 * A connection's socket, its core and its state, from the handshake to the
 * socket's close. Abstract: {@link Base} adds the messages.
 */
export abstract class SocketConnection implements QueueOwner, TimerOwner, SocketOwner {
  /** The transport: a `net.Socket`, a `tls.TLSSocket`, the `Duplex` of an HTTP upgrade, or an HTTP/2 stream. */
  readonly socket: Duplex;
  /** The sans-IO protocol core: RFC 6455's handshake, or RFC 8441's on an HTTP/2 stream; the same frames after. */
  protected readonly conn: WSConnection | ExtendedConnect;
  /** Resolved options (shared between connections given the same options object). */
  protected readonly options: ResolvedOptions;
  /** Received messages waiting for `receive()`. */
  protected readonly queue: MessageQueue;
  /** See {@link writer}. */
  private socketWriter: SocketWriter | null = null;
  protected state = SocketState.HANDSHAKE;
  /** The subprotocol the handshake settled on. */
  protected subprotocolChosen: string | null = null;
  /** The close code and reason, once known. */
  protected code: number | undefined;
  protected reasonText = '';
  /** We sent the first close frame. */
  protected closeInitiated = false;
  /** Why we dropped the socket ourselves, for the 1006 reason. */
  protected dropReason = '';
  /** Made when the first timer is armed. */
  private timers: ConnectionTimers | null = null;
  /** The transport's EOF was handed to the core. */
  private eofFed = false;
  private socketError: Error | undefined;
  private closedWaiter: Deferred<void> | null = null;
  private handshakeWaiter: Deferred<this> | null = null;
  /** Why the handshake failed when nobody was waiting yet (the upgrade form settles before it asks). */
  private handshakeFailure: ConnectionError | null = null;

  protected constructor(socket: Duplex, conn: WSConnection | ExtendedConnect, options: ResolvedOptions) {
    this.socket = socket;
    this.conn = conn;
    this.options = options;
    this.queue = new MessageQueue(this, options.maxQueuedMessages, options.maxQueuedBytes);
    if (tracing) traceLink(conn, socket, this.traceRole());
    listen(socket, this);
    // Frames are small and latency matters: no Nagle delay.
    const setNoDelay = (socket as Partial<{ setNoDelay(noDelay: boolean): void }>).setNoDelay;
    if (typeof setNoDelay === 'function') setNoDelay.call(socket, true);
    // A socket that died before we listened will not emit 'close' again.
    if (socket.destroyed) process.nextTick(() => this.onClose());
  }

  /**
   * A step of this layer in the trace, for this connection (callers test
   * `tracing` first). The core's lines are tied to the same id.
   */
  protected traceStep(fn: string, detail: string, extra?: TraceExtra): void {
    const role = this.traceRole();
    traceLink(this.conn, this.socket, role);
    traceFor(this.socket, role, 'simple-websocket', fn, detail, extra);
  }

  private traceRole(): 'client' | 'server' {
    return this.conn.type === ConnectionType.CLIENT ? 'client' : 'server';
  }

  /**
   * Where every byte this connection sends after the handshake goes through;
   * made at the first such write, so an idle connection keeps none.
   */
  protected get writer(): SocketWriter {
    return (this.socketWriter ??= new SocketWriter(this.socket, this.queue));
  }

  /** Runs the core's events; `Base` says what each one does. */
  protected abstract handleEvents(): void;

  /**
   * A handshake error thrown by the core (a `RemoteProtocolError`, maybe with
   * an `eventHint` to answer). The subclass answers and calls {@link failHandshake}.
   */
  protected abstract handleHandshakeError(error: unknown): void;

  /** True while `handleEvents` stopped at the queue's high-water mark with events left in the core. */
  protected abstract eventsHeld: boolean;

  /** @internal The queue asks: does iteration end quietly after this close? */
  abstract endsQuietly(error: Error): boolean;

  /** @internal The input queue drained to half its high-water mark: read again. */
  abstract onQueueLow(): void;

  /** @internal A `for await` loop over the messages was left early. */
  abstract onIterationLeft(): void;
  /** @internal A receiver found the queue closed and empty. */
  abstract onQueueDrained(): void;

  /** @internal A ping interval passed. */
  abstract onPingDue(silent: boolean): void;

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
    this.subprotocolChosen = subprotocol;
    this.setState(SocketState.OPEN);
    this.timers?.clearHandshake();
    // The handshake's deadline was the only timer a raw socket had: an open idle connection keeps no timers object.
    if (this.timers?.idle) this.timers = null;
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

  /** @internal */
  onHandshakeTimeout(): void {
    if (this.state === SocketState.HANDSHAKE) this.drop('handshake timeout');
  }

  /** @internal */
  onCloseTimeout(): void {
    this.drop('close timeout');
  }

  protected setState(to: SocketState): void {
    if (this.state === to) return;
    if (!ALLOWED[this.state].includes(to)) {
      throw new Error(`simple-websocket: bad state transition ${this.state} -> ${to}`);
    }
    this.state = to;
  }

  /** The timers, made when the first is armed. */
  protected clock(): ConnectionTimers {
    return (this.timers ??= new ConnectionTimers(this));
  }

  /** Stops the ping interval (the connection is closing). */
  protected stopPing(): void {
    this.timers?.stopPing();
  }

  /** A ping went out: the peer owes an answer within the interval. */
  protected pinged(): void {
    this.timers?.pinged();
  }

  protected whenClosed(): Promise<void> {
    if (this.state === SocketState.CLOSED) return Promise.resolve();
    return (this.closedWaiter ??= deferred<void>()).promise;
  }

  protected closedError(): ConnectionClosed {
    if (this.code !== undefined) return new ConnectionClosed(this.code, this.reasonText);
    return new ConnectionClosed(1006, this.state === SocketState.CLOSING ? 'the connection is closing' : 'the connection is not open');
  }

  protected endSocket(): void {
    const socket = this.socket;
    if (socket.destroyed) return;
    if (socket.writable) socket.end();
    this.armCloseTimer();
  }

  protected armCloseTimer(): void {
    if (this.socket.destroyed) return;
    this.clock().armClose(this.options.closeTimeout);
  }

  protected disarmCloseTimer(): void {
    this.timers?.clearClose();
  }

  /** Drops the socket: no closing handshake, the peer sees a reset (RST_STREAM on HTTP/2). */
  protected drop(reason: string): void {
    if (this.dropReason === '') this.dropReason = reason;
    abortTransport(this.socket);
  }

  // ------------------------------------------------------ socket listeners

  /** @internal */
  onData(chunk: Uint8Array): void {
    if (tracing) this.traceStep('SocketConnection.onData', `socket data ${traceBytes(chunk)}`, { bytes: chunk });
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
    if (tracing) this.traceStep('SocketConnection.onClose', `socket closed, close code ${this.code ?? 1006}`);
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
    this.socketWriter?.fail(this.closedError());
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

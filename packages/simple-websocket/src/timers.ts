/**
 * A connection's three clocks: the handshake deadline, the ping interval
 * (with the liveness check it drives) and the close deadline. Made when the
 * first one is armed: a connection with none costs nothing here.
 *
 * @module
 */

/** What the timers call back. */
export interface TimerOwner {
  /** The handshake did not finish in time. */
  onHandshakeTimeout(): void;
  /** A ping interval passed; `silent` when nothing arrived from the peer during it. */
  onPingDue(silent: boolean): void;
  /** The peer's close (or its TCP close) did not come in time. */
  onCloseTimeout(): void;
}

/** The timers of one connection. */
export class ConnectionTimers {
  private handshake: NodeJS.Timeout | null = null;
  private ping: NodeJS.Timeout | null = null;
  private close: NodeJS.Timeout | null = null;
  /** Set when a ping goes out, cleared by anything received. */
  private awaitingPeer = false;

  constructor(private readonly owner: TimerOwner) {}

  armHandshake(ms: number): void {
    this.handshake ??= setTimeout(onHandshakeTimer, ms, this);
  }

  clearHandshake(): void {
    if (this.handshake === null) return;
    clearTimeout(this.handshake);
    this.handshake = null;
  }

  /** Pings every `ms`; unref'd, so an idle connection does not keep the process alive by itself. */
  startPing(ms: number): void {
    if (this.ping !== null) return;
    this.ping = setInterval(onPingTimer, ms, this);
    this.ping.unref();
  }

  stopPing(): void {
    if (this.ping === null) return;
    clearInterval(this.ping);
    this.ping = null;
  }

  /** The peer sent something: it is alive. */
  heard(): void {
    this.awaitingPeer = false;
  }

  /** A ping went out: the peer owes an answer by the next tick of the interval. */
  pinged(): void {
    this.awaitingPeer = true;
  }

  armClose(ms: number): void {
    this.close ??= setTimeout(onCloseTimer, ms, this);
  }

  clearClose(): void {
    if (this.close === null) return;
    clearTimeout(this.close);
    this.close = null;
  }

  /** True when no timer is armed: the object can be dropped until one is. */
  get idle(): boolean {
    return this.handshake === null && this.ping === null && this.close === null;
  }

  /** Clears every timer: the socket closed. */
  clearAll(): void {
    this.clearHandshake();
    this.stopPing();
    this.clearClose();
  }

  /** @internal */
  fireHandshake(): void {
    this.handshake = null;
    this.owner.onHandshakeTimeout();
  }

  /** @internal */
  firePing(): void {
    this.owner.onPingDue(this.awaitingPeer);
  }

  /** @internal */
  fireClose(): void {
    this.close = null;
    this.owner.onCloseTimeout();
  }
}

// Shared callbacks: the timers object comes as the timer's argument, so a
// connection costs no closure.
function onHandshakeTimer(timers: ConnectionTimers): void {
  timers.fireHandshake();
}
function onPingTimer(timers: ConnectionTimers): void {
  timers.firePing();
}
function onCloseTimer(timers: ConnectionTimers): void {
  timers.fireClose();
}

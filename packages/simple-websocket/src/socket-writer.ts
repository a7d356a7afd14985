/**
 * Writing to a connection's socket: when to cork, when a write is a lone
 * reply that goes out at once, when a `send` may resolve, and waiting for
 * `'drain'`. One {@link SocketWriter} per connection; it knows nothing of
 * frames.
 *
 * @module
 */
import type { Duplex } from 'node:stream';
import { traceBytes, traceFor, tracing } from '@wsstack/wsproto/internal';
import { deferred, type Deferred } from './deferred';

/**
 * Counts reads from any socket of this process. A write is a lone reply when
 * its connection wrote nothing since the last read: no tick needs to be
 * scheduled to find that out (a nextTick per write cost more than the write's
 * own JavaScript).
 */
let readTurn = 0;

/** A socket of this process delivered data: the writes that follow answer it. */
export function noteRead(): void {
  readTurn = (readTurn + 1) & 0x3fffffff; // stays a small integer
}

/**
 * What a write resolves with when the socket took the bytes at once: one
 * settled promise shared by every such write (a settled promise cannot
 * change, and awaiting it costs the same), not a new one per message.
 */
const TAKEN: Promise<void> = Promise.resolve();

/**
 * Payloads up to this size are copied into their frame, which is written
 * whole: one copy costs less than a second write. Larger ones are written
 * beside their header, never copied.
 */
export const COPY_MAX = 16 * 1024;

/** The writer that owns a socket, stored on it so the shared 'drain' listener needs no closure. */
const kWriter = Symbol('wsstack.socket-writer');
type WriterSocket = Duplex & { [kWriter]?: SocketWriter };

/**
 * Writes bytes to one socket. A lone reply (the connection's first write
 * since the last socket read, with no received message waiting to be
 * answered next) goes out at once; otherwise writes are corked and leave
 * together at the end of the tick, one writev for a burst.
 */
export class SocketWriter {
  private corked = false;
  /** {@link readTurn} at our last write; -1 after an uncork. */
  private writeTurn = -1;
  /** The shared 'drain' listener is on the socket. */
  private drainListened = false;
  private drainWaiter: Deferred<void> | null = null;

  /**
   * @param socket - the transport
   * @param received - the connection's input queue: while messages wait in
   *   it to be answered, a write is one of a burst, so it is corked
   */
  constructor(
    private readonly socket: Duplex,
    private readonly received: { readonly length: number },
  ) {}

  /**
   * Writes `bytes` in one `socket.write`. `onFlushed` runs once the socket
   * flushed them (with an error when it never will). Returns `socket.write`'s
   * answer: false when the socket's buffer is full.
   */
  write(bytes: Uint8Array, onFlushed?: (error?: Error | null) => void): boolean {
    const socket = this.socket;
    if (tracing) traceFor(socket, null, 'simple-websocket', 'SocketWriter.write', `socket.write ${traceBytes(bytes)}`, { bytes });
    if (socket.destroyed || !socket.writable) {
      if (onFlushed) process.nextTick(onFlushed, new Error('socket closed'));
      return true;
    }
    if (!this.corked) {
      if (this.writeTurn === readTurn || this.received.length > 0) {
        this.corked = true;
        socket.cork();
        process.nextTick(uncork, this);
      }
      this.writeTurn = readTurn;
    }
    return socket.write(bytes, onFlushed);
  }

  /** Writes at once, uncorked and untracked: the handshake's one message, before a connection needs a writer. */
  static writeNow(socket: Duplex, bytes: Uint8Array): void {
    if (tracing) traceFor(socket, null, 'simple-websocket', 'SocketWriter.writeNow', `socket.write ${traceBytes(bytes)}`, { bytes });
    if (!socket.destroyed && socket.writable) socket.write(bytes);
  }

  /**
   * Writes one frame and returns the promise a `send` resolves with: at once
   * when the socket took the bytes, on `'drain'` when its buffer is full.
   */
  writeFrame(frame: Uint8Array): Promise<void> {
    return this.settle(this.write(frame));
  }

  /**
   * Writes a frame given as parts (a header and the caller's own payload,
   * see `WSConnection.sendParts`) in one gathered write. As the payload is
   * not copied, the promise waits until the socket flushed it, unless the
   * kernel took it all at once.
   *
   * @param closed - the error a waiting send rejects with if the socket closes first
   */
  writeParts(parts: readonly Uint8Array[], closed: () => Error): Promise<void> {
    if (parts.length === 1) return this.writeFrame(parts[0]);
    // Flush now rather than at the end of the tick: usually the kernel takes
    // it all at once and the promise can resolve without waiting a round.
    const socket = this.socket;
    if (!this.corked) {
      // The parts leave in one writev.
      this.corked = true;
      socket.cork();
    }
    const last = parts.length - 1;
    for (let i = 0; i < last; i++) this.write(parts[i]);
    const flushed = deferred<void>();
    this.write(parts[last], (error) => (error ? flushed.reject(closed()) : flushed.resolve()));
    if (this.corked && !socket.destroyed) {
      this.corked = false;
      socket.uncork();
    }
    if (socket.writableLength === 0 && !socket.destroyed) {
      flushed.promise.catch(() => {}); // settled by the callback; nobody waits on it now
      return TAKEN;
    }
    return flushed.promise;
  }

  /**
   * Resolves once the socket's buffer is under its high-water mark: now if it
   * is, else on `'drain'`; rejects if the socket closes first.
   */
  whenDrained(): Promise<void> {
    return this.settle(!this.socket.writableNeedDrain);
  }

  /** The socket closed: a send waiting for `'drain'` rejects with `error`. */
  fail(error: Error): void {
    const drain = this.drainWaiter;
    this.drainWaiter = null;
    drain?.reject(error);
  }

  /** Resolves now when the socket took the bytes, else on `'drain'`. */
  private settle(taken: boolean): Promise<void> {
    if (taken) return TAKEN;
    if (!this.drainListened) {
      this.drainListened = true;
      (this.socket as WriterSocket)[kWriter] = this;
      this.socket.on('drain', onDrain);
    }
    return (this.drainWaiter ??= deferred<void>()).promise;
  }

  /** @internal 'drain': a send waiting for room may resolve. */
  drained(): void {
    const drain = this.drainWaiter;
    this.drainWaiter = null;
    drain?.resolve();
  }

  /** @internal The tick that corked ended: let the writes go. */
  uncorked(): void {
    this.writeTurn = -1;
    if (!this.corked) return;
    this.corked = false;
    if (!this.socket.destroyed) this.socket.uncork();
  }
}

// Shared callbacks: the writer comes as the tick's argument or hangs off the
// socket, so a connection costs no closure.
function uncork(writer: SocketWriter): void {
  writer.uncorked();
}
function onDrain(this: Duplex): void {
  (this as WriterSocket)[kWriter]?.drained();
}

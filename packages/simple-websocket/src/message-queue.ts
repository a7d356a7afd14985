/**
 * The input queue: whole received messages waiting for `receive()`
 * (simple-websocket's `input_buffer`), with a high-water mark that lets the
 * connection pause its socket while a slow consumer catches up.
 *
 * @module
 */
import { traceFor, tracing } from '@wsstack/wsproto/internal';

/** A received message: text as a string, binary as bytes. */
export type Message = string | Uint8Array;

/** What the queue tells its connection, and asks it. */
export interface QueueOwner {
  /** The queue drained to its low-water mark: reading may resume. */
  onQueueLow(): void;
  /** A receiver found the queue closed and empty: the application has taken every message. */
  onQueueDrained(): void;
  /** Whether iteration should end quietly, not throw, when the queue closed with `error`. */
  endsQuietly(error: Error): boolean;
  /** A `for await` loop over the queue was left early (`break`, `return`, a throw). */
  onIterationLeft(): void;
  /** The connection's socket: the trace names the connection by it. */
  readonly socket: object;
}

/**
 * A waiting receiver. It keeps only its promise's resolve function: a
 * rejection resolves it with a rejected promise, so the reject function
 * (56 bytes per parked connection) is never held.
 */
interface Waiter {
  resolve: (value: Message | undefined | IteratorResult<Message, undefined> | Promise<never>) => void;
  timer: NodeJS.Timeout | undefined;
  /** Waiting in {@link MessageQueue.next}: settled with iterator results. */
  iterating: boolean;
}

const DONE: IteratorResult<Message, undefined> = { value: undefined, done: true };
/** The items of every queue that never had to hold a message; frozen, so a stray push would throw. */
const NO_ITEMS = Object.freeze([]) as unknown as Message[];

/** UTF-16 units of text, bytes of binary (`length` either way: a typed array's `byteLength` getter is a slow call in Node 20). */
function sizeOf(message: Message): number {
  return message.length;
}

/**
 * A FIFO of messages with at most one kind of pending side at a time: either
 * queued messages or waiting receivers. Closing it with an error lets the
 * queued messages out first, then rejects every receiver with that error.
 */
export class MessageQueue implements AsyncIterableIterator<Message> {
  // A plain array read from `head`: shift() on a long array is O(n). Shared
  // and empty until a message has to wait (most are handed straight over).
  private items: Message[] = NO_ITEMS;
  private head = 0;
  private bytes = 0;
  // Waiting receivers in order: almost always one, so it gets a field of its
  // own; an array (whose first push reserves 17 slots) only for the others.
  private waiter: Waiter | null = null;
  private moreWaiters: Waiter[] | null = null;
  private error: Error | null = null;

  constructor(
    private readonly owner: QueueOwner,
    private readonly maxMessages: number,
    private readonly maxBytes: number,
  ) {}

  /** Messages waiting to be received. */
  get length(): number {
    return this.items.length - this.head;
  }

  /** True once {@link close} was called. */
  get closed(): boolean {
    return this.error !== null;
  }

  /** At or over the high-water mark: the connection should stop reading. */
  isFull(): boolean {
    const length = this.items.length - this.head;
    return length >= this.maxMessages || (length > 0 && this.bytes >= this.maxBytes);
  }

  /** True when at or under half the high-water mark. */
  isLow(): boolean {
    return this.items.length - this.head <= this.maxMessages >>> 1 && this.bytes <= this.maxBytes / 2;
  }

  /** Hands a message to the first waiting receiver, or queues it. */
  push(message: Message): void {
    const waiter = this.nextWaiter();
    if (tracing) {
      const what = typeof message === 'string' ? `text, ${message.length} chars` : `binary, ${message.length} B`;
      traceFor(this.owner.socket, null, 'simple-websocket', 'MessageQueue.push', `${what}: ${waiter !== null ? 'handed to a waiting receive()' : `queued, ${this.length + 1} waiting`}`);
    }
    if (waiter !== null) {
      if (waiter.timer !== undefined) clearTimeout(waiter.timer);
      waiter.resolve(waiter.iterating ? { value: message, done: false } : message);
      return;
    }
    if (this.items === NO_ITEMS) this.items = [message];
    else this.items.push(message);
    this.bytes += sizeOf(message);
  }

  /**
   * The next message; `undefined` when `timeout` ms pass first (0 = only
   * what is already queued); rejects with the close error once closed and empty.
   */
  shift(timeout?: number): Promise<Message | undefined> {
    if (this.head < this.items.length) return Promise.resolve(this.take());
    if (this.error !== null) {
      this.owner.onQueueDrained();
      return Promise.reject(this.error);
    }
    if (timeout !== undefined && timeout <= 0) return Promise.resolve(undefined);
    return new Promise<Message | undefined>((resolve) => {
      const waiter: Waiter = { resolve: resolve as Waiter['resolve'], timer: undefined, iterating: false };
      if (timeout !== undefined && Number.isFinite(timeout)) {
        waiter.timer = setTimeout(MessageQueue.expire, timeout, this, waiter);
      }
      this.addWaiter(waiter);
    });
  }

  /**
   * The async iterator's step: the next message as an iterator result;
   * done once closed and empty if the owner calls the close quiet, else
   * rejects with the close error. One promise a message, where an async
   * generator around {@link shift} makes several and keeps more per
   * parked connection.
   */
  next(): Promise<IteratorResult<Message, undefined>> {
    if (this.head < this.items.length) return Promise.resolve({ value: this.take(), done: false });
    if (this.error !== null) {
      this.owner.onQueueDrained();
      return this.owner.endsQuietly(this.error) ? Promise.resolve(DONE) : Promise.reject(this.error);
    }
    return new Promise<IteratorResult<Message, undefined>>((resolve) => {
      this.addWaiter({ resolve: resolve as Waiter['resolve'], timer: undefined, iterating: true });
    });
  }

  /**
   * Called by `for await` when its loop is left early (`break`, `return`, a
   * throw), never when it ran to the end: the owner decides what that means
   * for the connection. Messages still queued stay receivable.
   */
  return(): Promise<IteratorResult<Message, undefined>> {
    this.owner.onIterationLeft();
    return Promise.resolve(DONE);
  }

  /** The queue is its own async iterator: `for await` over a connection costs no object of its own. */
  [Symbol.asyncIterator](): this {
    return this;
  }

  private addWaiter(waiter: Waiter): void {
    if (this.waiter === null) this.waiter = waiter;
    else (this.moreWaiters ??= []).push(waiter);
  }

  /** Takes the longest-waiting receiver, or null. */
  private nextWaiter(): Waiter | null {
    const waiter = this.waiter;
    if (waiter !== null) this.waiter = this.moreWaiters?.shift() ?? null;
    return waiter;
  }

  /** No more messages will come: receivers get `error` once the queue is empty. */
  close(error: Error): void {
    if (this.error !== null) return;
    this.error = error;
    for (let waiter = this.nextWaiter(); waiter !== null; waiter = this.nextWaiter()) {
      if (waiter.timer !== undefined) clearTimeout(waiter.timer);
      if (waiter.iterating && this.owner.endsQuietly(error)) waiter.resolve(DONE);
      else waiter.resolve(Promise.reject(error));
    }
  }

  private take(): Message {
    const message = this.items[this.head];
    this.items[this.head++] = '';
    this.bytes -= sizeOf(message);
    if (this.head === this.items.length) {
      this.items.length = 0;
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items.splice(0, this.head);
      this.head = 0;
    }
    if (this.isLow()) this.owner.onQueueLow();
    return message;
  }

  private static expire(this: void, queue: MessageQueue, waiter: Waiter): void {
    if (queue.waiter === waiter) {
      queue.waiter = queue.moreWaiters?.shift() ?? null;
    } else {
      const index = queue.moreWaiters?.indexOf(waiter) ?? -1;
      if (index < 0) return;
      queue.moreWaiters!.splice(index, 1);
    }
    waiter.resolve(undefined);
  }
}

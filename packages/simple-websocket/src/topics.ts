/**
 * Topics: publish/subscribe over server connections, as uWebSockets and Bun
 * have it. A {@link Topics} registry maps topic names to the connections
 * subscribed to them; `publish` frames the message once per encoding
 * ({@link PreparedMessage}) and writes the same bytes to every member,
 * without waiting for any of them. A member whose unsent bytes pass
 * `maxBufferedBytes` is closed (1013) or skipped: one slow reader never
 * holds up the others. A {@link Backplane} carries publishes to the other
 * processes of an application.
 *
 * @module
 */
import { EventEmitter } from 'node:events';
import { PreparedMessage } from '@wsstack/wsproto';
import { describeValue } from './errors';
import type { Duplex } from 'node:stream';
import type { HandshakeRequest } from './handshake-request';

/** What {@link Topics} does with a member whose unsent bytes pass `maxBufferedBytes`. */
export type SlowConsumerPolicy = 'close' | 'skip';

/** Options of {@link Topics}. */
export interface TopicsOptions {
  /**
   * Most bytes a member may have written and not yet sent (its socket's
   * buffer) for a publish to still go to it; one message is always let
   * through to a member with an empty buffer. Default 1 MiB.
   */
  maxBufferedBytes?: number;
  /**
   * Past `maxBufferedBytes`: `'close'` (default) closes the member with
   * 1013 (Try Again Later) and ends its subscriptions; `'skip'` drops the
   * message for that member only and keeps it subscribed.
   */
  slowConsumer?: SlowConsumerPolicy;
}

/**
 * A member of topics as the registry's events and options name it: a
 * `Server` from `Server.accept` (these are the members it has).
 */
export interface Subscriber {
  /** The handshake request it was accepted with. */
  readonly request: HandshakeRequest;
  /** The transport. */
  readonly socket: Duplex;
  /** True while open. */
  readonly connected: boolean;
  /** Bytes written to its socket and not yet sent. */
  readonly bufferedAmount: number;
  /** The topics it is in. */
  readonly topics: ReadonlySet<string>;
  /** Sends it a message of its own. */
  send(data: string | Uint8Array): Promise<void>;
  /** Closes it with any code RFC 6455 allows. */
  closeWithStatus(code: number, reason?: string): Promise<void>;
}

/** Options of {@link Topics.publish}. */
export interface PublishOptions {
  /** A member (a `Server`) that does not get this message, usually the sender. */
  except?: Subscriber;
}

/** The `'slow'` event of {@link Topics}: a member was over `maxBufferedBytes` at a publish. */
export interface SlowConsumerEvent {
  /** The member (a `Server`). */
  readonly ws: Subscriber;
  /** The topic being published. */
  readonly topic: string;
  /** Its unsent bytes at the time. */
  readonly bufferedBytes: number;
  /** What was done: `'close'` (closed with 1013) or `'skip'` (this message and later ones skipped until it catches up; the event comes once per episode). */
  readonly action: SlowConsumerPolicy;
}

/** Counters of a {@link Topics} registry since it was made. */
export interface TopicsStats {
  /** Topics with at least one member now. */
  readonly topics: number;
  /** Memberships now (a connection in three topics counts three). */
  readonly subscriptions: number;
  /** `publish` calls. */
  readonly published: number;
  /** Messages from the backplane (other processes' publishes). */
  readonly received: number;
  /** Frames written to members. */
  readonly delivered: number;
  /** Messages not written to a slow member (policy `'skip'`). */
  readonly skipped: number;
  /** Members closed for being slow (policy `'close'`). */
  readonly droppedMembers: number;
}

/**
 * Carries publishes between processes (see `@wsstack/redis`). The registry
 * hands it every local publish; it calls {@link Topics.deliver} for the
 * publishes of other processes, never for the registry's own.
 */
export interface Backplane {
  /** A publish made in this process: forward it to the others. Must not wait or throw. */
  publish(topic: string, data: string | Uint8Array): void;
}

/** @internal What the registry needs of a member; `Server` implements it. */
export interface TopicMember {
  readonly connected: boolean;
  readonly bufferedAmount: number;
  /** Writes the message's frame for this connection's encoding. */
  writePrepared(message: PreparedMessage): void;
  /** Closes with 1013: too slow. */
  closeSlow(): void;
  /** The registry dropped this member from every topic. */
  topicsCleared(): void;
}

/** The registry's events. */
interface TopicsEvents {
  slow: [event: SlowConsumerEvent];
}

const DEFAULT_MAX_BUFFERED = 1024 * 1024;

let defaultTopics: Topics | null = null;

/**
 * A registry of topics: which server connections are subscribed to what,
 * and the fan-out of a publish to them. Connections join one through the
 * `topics` option of `Server.accept` (default {@link Topics.default}),
 * then `ws.subscribe(topic)`.
 *
 * Emits `'slow'` ({@link SlowConsumerEvent}) when a member is over
 * `maxBufferedBytes`, after the publish wrote to everyone else.
 */
export class Topics extends EventEmitter<TopicsEvents> {
  /** The process's shared registry: the one `Server.accept` uses without a `topics` option. */
  static get default(): Topics {
    return (defaultTopics ??= new Topics());
  }

  private readonly members = new Map<string, Set<TopicMember>>();
  /** Members skipped as slow and not caught up yet (policy 'skip'): one 'slow' event per episode. */
  private readonly lagging = new Set<TopicMember>();
  private readonly maxBufferedBytes: number;
  private readonly policy: SlowConsumerPolicy;
  private backplaneLink: Backplane | null = null;
  private subscriptionCount = 0;
  private counters = { published: 0, received: 0, delivered: 0, skipped: 0, droppedMembers: 0 };

  constructor(options: TopicsOptions = {}) {
    super();
    const max = options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED;
    if (typeof max !== 'number' || !(max >= 0) || !Number.isFinite(max)) {
      throw new RangeError(`option maxBufferedBytes must be a finite number ≥ 0, got ${describeValue(max)}`);
    }
    const policy = options.slowConsumer ?? 'close';
    if (policy !== 'close' && policy !== 'skip') {
      throw new TypeError(`option slowConsumer must be 'close' or 'skip', got ${describeValue(policy)}`);
    }
    this.maxBufferedBytes = max;
    this.policy = policy;
  }

  /** The backplane publishes go to besides local members, or null (one process). */
  get backplane(): Backplane | null {
    return this.backplaneLink;
  }

  /** Plugs in a backplane (or removes it with null); `@wsstack/redis` does this for you. */
  set backplane(backplane: Backplane | null) {
    this.backplaneLink = backplane;
  }

  /**
   * Sends `data` (string → text, bytes → binary) to every member of
   * `topic` in this process, and through the backplane to every other
   * process's. Returns at once with the number of local members it was
   * written to: it never waits for a member's socket, and a slow member is
   * closed or skipped (see {@link TopicsOptions}). The bytes of a
   * `Uint8Array` are shared by every member's frame: do not change them
   * after publishing.
   *
   * @throws TypeError for a topic that is not a non-empty string or data that is not a string or `Uint8Array`
   */
  publish(topic: string, data: string | Uint8Array, options?: PublishOptions): number {
    checkTopic(topic);
    checkData(data);
    this.counters.published++;
    const count = this.fanOut(topic, data, options?.except);
    this.backplaneLink?.publish(topic, data);
    return count;
  }

  /**
   * Sends `data` to the members of `topic` in this process only, not to the
   * backplane: what a backplane calls with another process's publish.
   * Returns the number of members it was written to.
   */
  deliver(topic: string, data: string | Uint8Array): number {
    checkTopic(topic);
    checkData(data);
    this.counters.received++;
    return this.fanOut(topic, data, undefined);
  }

  /** Members of `topic` in this process now. */
  subscriberCount(topic: string): number {
    return this.members.get(topic)?.size ?? 0;
  }

  /** Counters since this registry was made, and the topics and memberships now. */
  stats(): TopicsStats {
    return { topics: this.members.size, subscriptions: this.subscriptionCount, ...this.counters };
  }

  // ----------------------------------------------- membership (from Server)

  /** @internal Adds a member; false when it was one already. */
  add(member: TopicMember, topic: string): boolean {
    let set = this.members.get(topic);
    if (set === undefined) this.members.set(topic, (set = new Set()));
    if (set.has(member)) return false;
    set.add(member);
    this.subscriptionCount++;
    return true;
  }

  /** @internal Removes a member; false when it was not one. */
  remove(member: TopicMember, topic: string): boolean {
    const set = this.members.get(topic);
    if (set === undefined || !set.delete(member)) return false;
    this.subscriptionCount--;
    if (set.size === 0) this.members.delete(topic);
    return true;
  }

  /** @internal The member's connection ended: out of every topic it was in. */
  removeAll(member: TopicMember, topics: Iterable<string>): void {
    for (const topic of topics) this.remove(member, topic);
    this.lagging.delete(member);
  }

  // ------------------------------------------------------------ internals

  private fanOut(topic: string, data: string | Uint8Array, except: Subscriber | undefined): number {
    const set = this.members.get(topic);
    if (set === undefined) return 0;
    const message = new PreparedMessage(data);
    const size = message.payload.length;
    const max = this.maxBufferedBytes;
    let delivered = 0;
    let slow: SlowConsumerEvent[] | null = null;
    // Deleting from a Set while iterating it is safe: a removed member is not visited.
    for (const member of set) {
      if (member === (except as TopicMember | undefined) || !member.connected) continue;
      const buffered = member.bufferedAmount;
      // One message always goes to a member that has sent everything.
      if (buffered > 0 && buffered + size > max) {
        const event = this.onSlow(member, topic, buffered);
        if (event !== null) (slow ??= []).push(event);
        continue;
      }
      if (this.lagging.size > 0) this.lagging.delete(member);
      member.writePrepared(message);
      delivered++;
    }
    this.counters.delivered += delivered;
    // Events after the fan-out: a listener that throws cannot cut it short.
    if (slow !== null) for (const event of slow) this.emit('slow', event);
    return delivered;
  }

  /** A member is over the limit: apply the policy; the event to emit, if any. */
  private onSlow(member: TopicMember, topic: string, bufferedBytes: number): SlowConsumerEvent | null {
    const ws = member as unknown as Subscriber;
    if (this.policy === 'skip') {
      this.counters.skipped++;
      if (this.lagging.has(member)) return null;
      this.lagging.add(member);
      return { ws, topic, bufferedBytes, action: 'skip' };
    }
    this.counters.droppedMembers++;
    member.closeSlow();
    member.topicsCleared();
    return { ws, topic, bufferedBytes, action: 'close' };
  }
}

function checkTopic(topic: unknown): asserts topic is string {
  if (typeof topic !== 'string' || topic === '') {
    throw new TypeError(`a topic is a non-empty string, not ${describeValue(topic)}`);
  }
}

function checkData(data: unknown): asserts data is string | Uint8Array {
  if (typeof data !== 'string' && !(data instanceof Uint8Array)) {
    throw new TypeError(`publish() takes a string or a Uint8Array, not ${describeValue(data)}`);
  }
}

/** @internal Checks a topic name for `subscribe`/`unsubscribe`. */
export { checkTopic };

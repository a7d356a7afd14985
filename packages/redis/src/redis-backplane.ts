/**
 * `RedisBackplane`: Redis pub/sub carries each publish of a {@link Topics}
 * registry to every other process that has one, so N processes behind a
 * load balancer deliver it to every subscriber, once. The publishing
 * process delivers to its own members at once (as without Redis) and
 * leaves out its own echo when Redis hands the message back.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { Buffer } from 'node:buffer';
import { createClient, type RedisClientOptions } from '@redis/client';
import type { Backplane, Topics } from '@wsstack/simple-websocket';
import { decodeMessage, encodeMessage, ID_BYTES } from './wire';

/** Options of {@link RedisBackplane.connect}. */
export interface RedisBackplaneOptions {
  /** The Redis server: `redis://[user:password@]host:port[/db]` or `rediss://`. Default `redis://127.0.0.1:6379`. */
  url?: string;
  /**
   * Prepended to each topic to make its Redis channel, so several
   * applications can share one Redis. Every process of an application must
   * use the same. Default `'wsstack:'`.
   */
  prefix?: string;
  /**
   * Called with Redis errors (a lost connection, a failed publish); the
   * client reconnects by itself. Default: a process warning.
   */
  onError?: (error: Error) => void;
  /** Other node-redis client options (`socket`, `password`, ...), used for both connections; `url` wins. */
  client?: Omit<RedisClientOptions, 'url'>;
}

/** Counters of a {@link RedisBackplane}. */
export interface RedisBackplaneStats {
  /** Local publishes sent to Redis. */
  readonly sent: number;
  /** Other processes' publishes handed to the registry. */
  readonly received: number;
  /** Our own publishes Redis handed back, left out (the registry delivered them already). */
  readonly echoes: number;
  /** Messages on our channels in a format we did not write, ignored. */
  readonly malformed: number;
  /** Errors reported to `onError`. */
  readonly errors: number;
}

type Client = ReturnType<typeof createClient>;

/** Redis glob characters in a prefix are matched literally. */
function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

/** The host and port of a Redis URL, without its credentials, for messages. */
function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'the given url';
  }
}

function warn(error: Error): void {
  process.emitWarning(error.message, { type: 'RedisBackplaneWarning', detail: error.stack });
}

/**
 * A Redis pub/sub backplane for a {@link Topics} registry. Two connections
 * (Redis gives a subscribing connection to pub/sub alone): one publishes,
 * one is subscribed to the application's channels.
 *
 * ```ts
 * const topics = new Topics();
 * const redis = await RedisBackplane.connect(topics, { url: process.env.REDIS_URL });
 * topics.publish('news', 'hello'); // every process's members of 'news'
 * await redis.close();
 * ```
 */
export class RedisBackplane implements Backplane {
  /** This process's id on the wire: its own messages come back with it and are left out. */
  readonly instanceId: string;
  private readonly id: Buffer;
  private readonly prefix: string;
  private readonly prefixBytes: number;
  private readonly report: (error: Error) => void;
  private counters = { sent: 0, received: 0, echoes: 0, malformed: 0, errors: 0 };
  private closed = false;

  private constructor(
    private readonly topics: Topics,
    private readonly pub: Client,
    private readonly sub: Client,
    prefix: string,
    onError: (error: Error) => void,
  ) {
    this.id = randomBytes(ID_BYTES);
    this.instanceId = this.id.toString('hex');
    this.prefix = prefix;
    this.prefixBytes = Buffer.byteLength(prefix, 'utf8');
    this.report = (error) => {
      this.counters.errors++;
      onError(error);
    };
  }

  /**
   * Connects to Redis, subscribes to the application's channels and plugs
   * into `topics` (its `backplane`). Resolves once messages from other
   * processes can arrive; rejects if Redis cannot be reached (after the
   * client's first attempt fails, nothing is left running).
   *
   * @throws Error when `topics` already has a backplane
   */
  static async connect(topics: Topics, options: RedisBackplaneOptions = {}): Promise<RedisBackplane> {
    if (topics.backplane !== null) throw new Error('this Topics registry already has a backplane');
    const prefix = options.prefix ?? 'wsstack:';
    if (typeof prefix !== 'string') throw new TypeError('option prefix must be a string');
    const onError = options.onError ?? warn;
    const url = options.url ?? 'redis://127.0.0.1:6379';
    // Fail fast at the first connect; once connected, the client's default retries apply.
    let connected = false;
    const clientOptions = { ...options.client, url };
    // A fresh Error, not the socket's: the client tests `instanceof Error`, which fails across realms (a Jest sandbox).
    const firstTry = (retries: number, cause: Error): number | Error =>
      connected ? Math.min(50 * 2 ** retries, 2000) : new Error(`cannot connect to Redis at ${hostOf(url)}: ${cause.message}`, { cause });
    const pub = createClient({ ...clientOptions, socket: { ...clientOptions.socket, reconnectStrategy: firstTry } });
    const sub = pub.duplicate();
    let backplane: RedisBackplane | null = null;
    const onClientError = (error: Error): void => {
      if (backplane !== null && !backplane.closed) backplane.report(error);
    };
    pub.on('error', onClientError);
    sub.on('error', onClientError);
    try {
      await Promise.all([pub.connect(), sub.connect()]);
      connected = true;
      backplane = new RedisBackplane(topics, pub, sub, prefix, onError);
      const self = backplane;
      await sub.pSubscribe(`${escapeGlob(prefix)}*`, (message: Buffer, channel: Buffer) => self.onMessage(message, channel), true);
    } catch (error) {
      pub.destroy();
      sub.destroy();
      throw error;
    }
    topics.backplane = backplane;
    return backplane;
  }

  /** Counters since connecting. */
  stats(): RedisBackplaneStats {
    return { ...this.counters };
  }

  /** @internal The registry's local publish: on to the other processes. Never waits. */
  publish(topic: string, data: string | Uint8Array): void {
    if (this.closed) return;
    this.counters.sent++;
    this.pub.publish(this.prefix + topic, encodeMessage(this.id, data)).catch(this.report);
  }

  /**
   * Unplugs from the registry (publishes stay local again) and closes both
   * connections, after Redis took what was published before.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.topics.backplane === this) this.topics.backplane = null;
    await Promise.allSettled([this.sub.close(), this.pub.close()]);
  }

  private onMessage(message: Buffer, channel: Buffer): void {
    if (this.closed) return;
    const decoded = decodeMessage(message);
    if (decoded === null) {
      this.counters.malformed++;
      return;
    }
    if (decoded.origin.equals(this.id)) {
      this.counters.echoes++;
      return;
    }
    this.counters.received++;
    const topic = channel.subarray(this.prefixBytes).toString('utf8');
    try {
      this.topics.deliver(topic, decoded.data);
    } catch (error) {
      this.report(error instanceof Error ? error : new Error(String(error)));
    }
  }
}

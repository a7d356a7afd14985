/**
 * Past one machine: three processes share topics through a real
 * redis-server. Every client on every process gets each publish exactly
 * once, in the publisher's order, text as text and bytes as bytes; the
 * publishing process delivers its own locally and leaves out Redis's echo.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { WebSocket } from 'ws';
import { Topics } from '@wsstack/simple-websocket';
import { RedisBackplane } from '@wsstack/redis';
import { describeWithRedis, freePort, startRedis, type RedisServer } from './redis-server';

const FIXTURE = path.join(__dirname, 'fixtures', 'node-process.js');

/** A child process of the app, driven by JSON lines. */
class AppProcess {
  private nextId = 1;
  private readonly waiting = new Map<number, (reply: Record<string, unknown>) => void>();
  private constructor(
    readonly child: ChildProcess,
    readonly port: number,
    readonly instanceId: string,
  ) {}

  static start(redisUrl: string): Promise<AppProcess> {
    const child = spawn(process.execPath, [FIXTURE], { env: { ...process.env, REDIS_URL: redisUrl }, stdio: ['pipe', 'pipe', 'pipe'] });
    let errors = '';
    child.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString()));
    return new Promise((resolve, reject) => {
      let app: AppProcess | null = null;
      child.once('exit', (code) => {
        if (app === null) reject(new Error(`app process exited (${code}) before it listened:\n${errors}`));
      });
      readline.createInterface({ input: child.stdout }).on('line', (line) => {
        const reply = JSON.parse(line) as Record<string, unknown>;
        if (app === null) {
          app = new AppProcess(child, reply.port as number, reply.instanceId as string);
          resolve(app);
          return;
        }
        const waiter = app.waiting.get(reply.id as number);
        app.waiting.delete(reply.id as number);
        waiter?.(reply);
      });
    });
  }

  command(body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.child.stdin!.write(`${JSON.stringify({ id, ...body })}\n`);
    });
  }

  /** Ends stdin (the process closes its backplane and exits), then waits for the exit; kills it by PID if it lingers. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.stdin!.end();
    const timer = setTimeout(() => this.child.pid !== undefined && process.kill(this.child.pid, 'SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}

/** A ws client that records every message (text as string, binary as number[]). */
async function client(port: number, topic: string): Promise<{ ws: WebSocket; got: Array<string | number[]> }> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/${topic}`);
  const got: Array<string | number[]> = [];
  ws.on('message', (data: Buffer, isBinary: boolean) => got.push(isBinary ? [...data] : data.toString('utf8')));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return { ws, got };
}

async function until(predicate: () => boolean | Promise<boolean>, what: string, ms = 10000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describeWithRedis('Redis backplane', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedis();
  }, 20000);
  afterAll(async () => {
    await redis?.stop();
  });

  test('three processes: every client on every process gets each publish once', async () => {
    const apps = await Promise.all([0, 1, 2].map(() => AppProcess.start(redis.url)));
    const clients: Array<{ ws: WebSocket; got: Array<string | number[]> }> = [];
    try {
      const room = await Promise.all(apps.flatMap((app) => [client(app.port, 'room'), client(app.port, 'room')]));
      const other = await Promise.all(apps.map((app) => client(app.port, 'other')));
      clients.push(...room, ...other);
      for (const app of apps) await until(async () => (await app.command({ stats: 'room' })).members === 2, 'members on every process');

      expect((await apps[0].command({ publish: { topic: 'room', text: 'one from 0' } })).delivered).toBe(2);
      expect((await apps[1].command({ publish: { topic: 'room', bytes: [0, 255, 1, 2] } })).delivered).toBe(2);
      expect((await apps[0].command({ publish: { topic: 'room', text: 'two from 0: é ✓' } })).delivered).toBe(2);
      await apps[2].command({ publish: { topic: 'nobody', text: 'lost' } });

      await until(() => room.every(({ got }) => got.length >= 3), 'every publish at every room client');
      // Anything doubled would arrive within this pause.
      await new Promise((resolve) => setTimeout(resolve, 300));
      for (const { got } of room) {
        expect(got).toHaveLength(3);
        // Each process's publishes keep their order; the binary one stays binary.
        expect(got.filter((m) => typeof m === 'string')).toEqual(['one from 0', 'two from 0: é ✓']);
        expect(got).toContainEqual([0, 255, 1, 2]);
      }
      for (const { got } of other) expect(got).toEqual([]);

      const stats = await Promise.all(apps.map((app) => app.command({ stats: 'room' })));
      // Process 0 published twice: it left out both echoes and took process 1's publish from Redis.
      expect(stats[0].backplane).toMatchObject({ sent: 2, echoes: 2, received: 2, malformed: 0 });
      expect(stats[1].backplane).toMatchObject({ sent: 1, echoes: 1, received: 3 });
      expect(stats[2].backplane).toMatchObject({ sent: 1, echoes: 1, received: 3 });
      expect(stats[2].topics).toMatchObject({ published: 1, received: 3, delivered: 6 });
    } finally {
      for (const { ws } of clients) ws.terminate();
      await Promise.all(apps.map((app) => app.stop()));
    }
  }, 60000);

  test('in one process: connect plugs into the registry, close unplugs it', async () => {
    const topics = new Topics();
    const backplane = await RedisBackplane.connect(topics, { url: redis.url, prefix: 'test[1]*:' });
    try {
      expect(topics.backplane).toBe(backplane);
      await expect(RedisBackplane.connect(topics, { url: redis.url })).rejects.toThrow(/already has a backplane/);
      topics.publish('t', 'x');
      await until(() => backplane.stats().echoes === 1, 'the echo to come back and be left out');
      expect(backplane.stats()).toMatchObject({ sent: 1, received: 0 });
    } finally {
      await backplane.close();
    }
    expect(topics.backplane).toBeNull();
  });

  test('connect rejects when no Redis listens there, and leaves nothing running', async () => {
    const port = await freePort();
    await expect(RedisBackplane.connect(new Topics(), { url: `redis://127.0.0.1:${port}` })).rejects.toThrow();
  });
});

// One server for `bench/topics.js`, alone in its process: ours (a Topics
// registry, ws.subscribe) or ws (the loop every ws user writes:
// wss.clients.forEach(c => c.send(m))). Driven over IPC by the parent.
'use strict';
const http = require('node:http');
const v8 = require('node:v8');

const impl = process.argv[2];
const server = http.createServer((_req, res) => res.writeHead(404).end());
/** Every open connection, for the bufferedAmount checks (the same for both). */
const members = new Set();
let publish;
let count = () => members.size;

if (impl === 'ours') {
  const { Server, Topics } = require('@wsstack/simple-websocket');
  const topics = new Topics();
  server.on('upgrade', (req, socket, head) => {
    Server.accept(req, socket, head, { topics }).then(async (ws) => {
      ws.subscribe('fanout');
      members.add(ws);
      try {
        for await (const message of ws) void message;
      } catch {
        // closed
      }
      members.delete(ws);
    }, () => {});
  });
  publish = (message) => topics.publish('fanout', message);
  count = () => topics.subscriberCount('fanout');
  process.on('message', (msg) => msg.cmd === 'stats' && process.send({ stats: topics.stats() }));
} else {
  const { WebSocketServer } = require('ws');
  const wss = new WebSocketServer({ server, perMessageDeflate: false });
  wss.on('connection', (ws) => {
    members.add(ws);
    ws.on('close', () => members.delete(ws));
  });
  publish = (message) => wss.clients.forEach((client) => client.send(message));
  count = () => wss.clients.size;
}

const unsent = () => {
  let total = 0;
  for (const ws of members) total += ws.bufferedAmount;
  return total;
};

/** Resolves once every socket handed its bytes to the kernel. */
function drained() {
  return new Promise((resolve) => {
    const check = () => (unsent() === 0 ? resolve() : setImmediate(check));
    check();
  });
}

/** `rounds` turns, each publishing `perTurn` messages, waiting for the sockets to drain in between. */
async function fanout({ rounds, perTurn, size }) {
  const message = Buffer.alloc(size, 0x61);
  const subscribers = count();
  await drained();
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  for (let r = 0; r < rounds; r++) {
    await new Promise((resolve) => setImmediate(resolve));
    for (let i = 0; i < perTurn; i++) publish(message);
    await drained();
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const used = process.cpuUsage(cpu);
  const cpuSeconds = (used.user + used.system) / 1e6;
  const delivered = subscribers * rounds * perTurn;
  return { subscribers, delivered, seconds, perSecond: delivered / seconds, perCpuSecond: delivered / cpuSeconds };
}

/** Bytes on the heap and in array buffers right after one publish, from a collected heap: the median of `samples`. */
async function allocation({ samples, size }) {
  const message = Buffer.alloc(size, 0x62);
  const deltas = [];
  for (let i = 0; i < samples; i++) {
    await drained();
    global.gc();
    const before = process.memoryUsage();
    const heapBefore = v8.getHeapStatistics().used_heap_size;
    publish(message);
    const after = process.memoryUsage();
    const heapAfter = v8.getHeapStatistics().used_heap_size;
    deltas.push(heapAfter - heapBefore + (after.arrayBuffers - before.arrayBuffers));
  }
  deltas.sort((a, b) => a - b);
  return { bytesPerPublish: deltas[Math.floor(deltas.length / 2)], subscribers: count() };
}

/** Publishes `perTurn` messages a turn for `seconds`, without waiting for anyone; RSS and unsent bytes sampled. */
async function flood({ seconds, perTurn, size }) {
  const message = Buffer.alloc(size, 0x63);
  const samples = [];
  const end = Date.now() + seconds * 1000;
  let next = Date.now();
  let published = 0;
  while (Date.now() < end) {
    for (let i = 0; i < perTurn; i++) publish(message);
    published += perTurn;
    // Let the sockets write what the kernel takes (a real server has I/O between publishes).
    await new Promise((resolve) => setTimeout(resolve, 1));
    if (Date.now() >= next) {
      samples.push({ rss: process.memoryUsage().rss, unsent: unsent(), members: count() });
      next += 500;
    }
  }
  // A quiet second: the readers take what was in flight; what stays unsent is the stalled members'.
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const settled = { rss: process.memoryUsage().rss, unsent: unsent(), members: count() };
  return { samples, settled, published };
}

process.on('message', async (msg) => {
  if (msg.cmd === 'fanout') process.send({ fanout: await fanout(msg) });
  else if (msg.cmd === 'alloc') process.send({ alloc: await allocation(msg) });
  else if (msg.cmd === 'flood') process.send({ flood: await flood(msg) });
  else if (msg.cmd === 'count') process.send({ count: count() });
  else if (msg.cmd === 'rss') process.send({ rss: process.memoryUsage().rss });
});

server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));

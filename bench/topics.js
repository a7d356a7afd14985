// `npm run bench topics`: publish/subscribe fan-out, ours (Topics: one frame
// per encoding, written to every member without waiting) against the loop
// a ws user writes (wss.clients.forEach(c => c.send(m))). Each server alone
// in a fresh process; the subscribers are ws clients in two other processes.
//   1. delivered messages per second to 1,000 and 10,000 subscribers, one
//      publish per event-loop turn and ten, waiting for the sockets to drain
//      between turns (wall clock, and per second of the server's CPU);
//   2. bytes allocated by one publish (heap + array buffers, after a GC);
//   3. 1,000 subscribers of which 1 % stop reading, a steady stream for
//      20 s: the server's RSS over time and the unsent bytes after.
// Ratios are ours ÷ ws within this run only. Writes results/topics.md.
'use strict';
const { fork } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const MiB = 1024 * 1024;
const CLIENT_PROCESSES = 2;

function reply(child, key, ms = 120000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${key} within ${ms} ms`)), ms);
    const onMessage = (msg) => {
      if (msg[key] === undefined) return;
      clearTimeout(timer);
      child.off('message', onMessage);
      resolve(msg[key]);
    };
    child.on('message', onMessage);
  });
}

/** A server process and its subscribers, connected. */
async function start(impl, subscribers) {
  const server = fork(path.join(__dirname, 'topics-server.js'), [impl], { execArgv: ['--expose-gc'] });
  const port = await reply(server, 'port');
  const clients = [];
  for (let i = 0; i < CLIENT_PROCESSES; i++) {
    clients.push(fork(path.join(__dirname, 'topics-client.js'), [String(port), String(subscribers / CLIENT_PROCESSES)]));
  }
  await Promise.all(clients.map((client) => reply(client, 'ready')));
  while ((await ask(server, 'count')) < subscribers) await new Promise((resolve) => setTimeout(resolve, 20));
  return {
    server,
    clients,
    stop: async () => {
      for (const child of [...clients, server]) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill();
        await exited;
      }
    },
  };
}

function ask(child, cmd, extra = {}) {
  child.send({ cmd, ...extra });
  return reply(child, cmd);
}

const fmt = (n) => Math.round(n).toLocaleString('en-US');
const mib = (bytes) => (bytes / MiB).toFixed(1);

async function throughput() {
  const rows = [];
  for (const subscribers of [1000, 10000]) {
    const result = {};
    for (const impl of ['ours', 'ws']) {
      const run = await start(impl, subscribers);
      try {
        const one = await ask(run.server, 'fanout', { rounds: subscribers === 1000 ? 300 : 40, perTurn: 1, size: 100 });
        const ten = await ask(run.server, 'fanout', { rounds: subscribers === 1000 ? 60 : 8, perTurn: 10, size: 100 });
        const alloc = await ask(run.server, 'alloc', { samples: 15, size: 100 });
        result[impl] = { one, ten, alloc };
      } finally {
        await run.stop();
      }
      console.log(`topics: ${impl} ${subscribers} subscribers: ${fmt(result[impl].one.perSecond)}/s (1/turn), ${fmt(result[impl].ten.perSecond)}/s (10/turn), ${fmt(result[impl].alloc.bytesPerPublish)} B/publish`);
    }
    rows.push({ subscribers, ...result });
  }
  return rows;
}

async function stalled() {
  const out = {};
  for (const impl of ['ours', 'ws']) {
    const run = await start(impl, 1000);
    try {
      const stalledCount = (await Promise.all(run.clients.map((client) => ask(client, 'stall', { fraction: 0.01 })))).reduce((a, b) => a + b, 0);
      const rssBefore = await ask(run.server, 'rss');
      const flood = await ask(run.server, 'flood', { seconds: 20, perTurn: 1, size: 16 * 1024 });
      const stats = impl === 'ours' ? await ask(run.server, 'stats') : null;
      out[impl] = { stalledCount, rssBefore, ...flood, stats };
      const last = flood.settled;
      console.log(`topics: ${impl} 1 % stalled: RSS ${mib(rssBefore)} → ${mib(last.rss)} MiB (peak ${mib(Math.max(...flood.samples.map((s) => s.rss)))}), unsent ${mib(last.unsent)} MiB`);
    } finally {
      await run.stop();
    }
  }
  return out;
}

function report(rows, stall) {
  const lines = [
    '# Topics: fan-out against the ws loop',
    '',
    '`npm run bench topics`, on this machine, in one run. Ours: `topics.publish(topic, m)`; ws: `wss.clients.forEach((c) => c.send(m))`.',
    'Messages of 100 B, no compression, subscribers are ws clients in two other processes. "per turn": publishes in one',
    'event-loop turn, then the server waits until every socket handed its bytes to the kernel. Ratio: ours ÷ ws.',
    '',
    '| subscribers | per turn | ours delivered/s | ws delivered/s | ratio | ours per CPU-s | ws per CPU-s | ratio |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const row of rows) {
    for (const [label, key] of [['1', 'one'], ['10', 'ten']]) {
      const a = row.ours[key];
      const b = row.ws[key];
      lines.push(
        `| ${fmt(row.subscribers)} | ${label} | ${fmt(a.perSecond)} | ${fmt(b.perSecond)} | ${(a.perSecond / b.perSecond).toFixed(2)}× | ${fmt(a.perCpuSecond)} | ${fmt(b.perCpuSecond)} | ${(a.perCpuSecond / b.perCpuSecond).toFixed(2)}× |`,
      );
    }
  }
  lines.push('', '| subscribers | ours B/publish | ws B/publish | ours ÷ ws |', '|---:|---:|---:|---:|');
  for (const row of rows) {
    const a = row.ours.alloc.bytesPerPublish;
    const b = row.ws.alloc.bytesPerPublish;
    lines.push(`| ${fmt(row.subscribers)} | ${fmt(a)} | ${fmt(b)} | ${(a / b).toFixed(2)} |`);
  }
  lines.push(
    '',
    'Bytes per publish: heap and array-buffer bytes right after one publish, from a collected heap (median of 15).',
    '',
    '## 1 % of 1,000 subscribers stop reading',
    '',
    'One 16 KiB publish per turn (a 1 ms timer between turns) for 20 s, as fast as the server goes; 10 clients paused',
    'their sockets before it. Then a quiet second, so what stays unsent is the stalled members\' (the readers took theirs).',
    'Ours with the defaults (maxBufferedBytes 1 MiB, slowConsumer close).',
    '',
    '| | RSS before | RSS at the end | RSS peak | unsent at the end | members at the end | publishes |',
    '|---|---:|---:|---:|---:|---:|---:|',
  );
  for (const impl of ['ours', 'ws']) {
    const s = stall[impl];
    const last = s.settled;
    lines.push(
      `| ${impl} | ${mib(s.rssBefore)} MiB | ${mib(last.rss)} MiB | ${mib(Math.max(...s.samples.map((x) => x.rss)))} MiB | ${mib(last.unsent)} MiB | ${last.members} | ${fmt(s.published)} |`,
    );
  }
  lines.push(
    '',
    'ws sends one publish\'s Buffer to every client without copying it, so its unsent bytes are mostly references to',
    'the same few buffers: they show as unsent bytes and as work left queued, more than as RSS.',
  );
  if (stall.ours.stats) {
    const st = stall.ours.stats;
    lines.push('', `Ours: ${st.droppedMembers} members closed (1013) as slow, ${fmt(st.delivered)} frames delivered, ${st.skipped} skipped.`);
  }
  lines.push('', 'RSS over time (MiB, every 500 ms):', '');
  for (const impl of ['ours', 'ws']) lines.push(`- ${impl}: ${stall[impl].samples.map((s) => mib(s.rss)).join(' ')}`);
  return `${lines.join('\n')}\n`;
}

async function run() {
  const rows = await throughput();
  const stall = await stalled();
  const text = report(rows, stall);
  fs.writeFileSync(path.join(__dirname, 'results', 'topics.md'), text);
  console.log(text);
}

module.exports = { run, stalled };
if (require.main === module) run().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});

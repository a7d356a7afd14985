// The end-to-end suite: echo servers (wsstack, ws, ws+bufferutil and plain
// node:net as the ceiling) each in its own process, driven by one load
// generator process that is the same for all. Rounds alternate the order;
// each figure is the median of the rounds. Writes results/e2e.md and e2e.svg.
'use strict';
const { fork } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { barChart } = require('./e2e-chart');

const impls = [
  { name: 'net', label: 'node:net echo (ceiling)', env: {} },
  { name: 'ws', label: 'ws', env: { WS_NO_BUFFER_UTIL: '1' } },
  { name: 'ws+bufferutil', label: 'ws + bufferutil', env: {} },
  { name: 'wsstack', label: 'wsstack', env: {} },
];

const measures = [
  { id: 'roundtrips', label: 'round trips/s, 32 B, 1 connection', unit: '/s', key: 'perSecond' },
  { id: 'messages', label: 'messages/s, 32 B, 50 connections, 1 in flight each', unit: '/s', key: 'perSecond' },
  { id: 'bulk', label: 'MB/s, 64 KiB binary, 1 connection, 4 in flight', unit: 'MB/s', key: 'bytesPerSecond', scale: 1e-6 },
  { id: 'idle', label: 'RSS per idle connection at 5,000 (KiB)', unit: 'KiB', lowerIsBetter: true },
];

const children = new Set();
function spawn(file, args, env, execArgv = []) {
  const child = fork(path.join(__dirname, file), args, { env: { ...process.env, ...env }, execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}
function killAll() {
  for (const child of children) child.kill('SIGKILL');
}
process.on('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(1));

/** Resolves with the first IPC message that has `key`; rejects if the child dies first. */
function reply(child, key) {
  return new Promise((resolve, reject) => {
    const onMessage = (msg) => {
      if (msg && msg[key] !== undefined) {
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve(msg[key]);
      }
    };
    const onExit = (code) => reject(new Error(`${path.basename(child.spawnfile)} exited (${code}) before sending ${key}`));
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

async function runOne(impl, measure) {
  const server = spawn('e2e-server.js', [impl.name], impl.env, ['--expose-gc']);
  try {
    const port = await reply(server, 'port');
    const load = spawn('e2e-load.js', [String(port), impl.name, measure.id], {});
    if (measure.id !== 'idle') {
      const result = await reply(load, 'result');
      return result[measure.key] * (measure.scale ?? 1);
    }
    server.send({ cmd: 'rss' });
    const before = await reply(server, 'rss');
    const opened = await reply(load, 'opened');
    server.send({ cmd: 'rss' });
    const after = await reply(server, 'rss');
    load.send({ done: true });
    await reply(load, 'result');
    return (after - before) / opened / 1024;
  } finally {
    server.kill('SIGKILL');
  }
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}
const fmt = (n, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

async function run() {
  const rounds = Number(process.env.BENCH_ROUNDS || 3);
  const samples = {};
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? impls : [...impls].reverse();
    for (const measure of measures) {
      for (const impl of order) {
        process.stderr.write(`e2e: round ${r + 1}/${rounds} ${measure.id} ${impl.name}\n`);
        ((samples[measure.id] ??= {})[impl.name] ??= []).push(await runOne(impl, measure));
      }
    }
  }
  const value = (m, impl) => median(samples[m.id][impl]);

  const lines = [
    `# End-to-end benchmark (node ${process.version}, ${new Date().toISOString().slice(0, 10)}, ${rounds} rounds, median)`,
    '',
    'Echo servers in their own processes, one load-generator process for all (raw sockets, pre-built masked frames).',
    'Ratios are within this run; higher is better except RSS. ![chart](e2e.svg)',
    '',
    '| measure | node:net (ceiling) | ws | ws+bufferutil | wsstack | wsstack / ws | wsstack / ws+bufferutil | wsstack / net |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const m of measures) {
    const [net, ws, wsb, ours] = impls.map((i) => value(m, i.name));
    const d = m.id === 'idle' ? 2 : 0;
    lines.push(
      `| ${m.label} | ${fmt(net, d)} | ${fmt(ws, d)} | ${fmt(wsb, d)} | ${fmt(ours, d)} | ${fmt(ours / ws, 2)}x | ${fmt(ours / wsb, 2)}x | ${fmt(ours / net, 2)}x |`,
    );
  }
  const report = lines.join('\n') + '\n';
  fs.writeFileSync(path.join(__dirname, 'results', 'e2e.md'), report);
  fs.writeFileSync(
    path.join(__dirname, 'results', 'e2e.svg'),
    barChart({
      title: `wsstack end to end (node ${process.version})`,
      series: impls.map((i) => i.label),
      groups: measures.map((m) => ({ label: m.label, values: impls.map((i) => value(m, i.name)), lowerIsBetter: !!m.lowerIsBetter, unit: m.unit })),
    }),
  );
  process.stdout.write(report);
}

module.exports = { run };

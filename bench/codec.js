// The codec suite: our frame decoder/encoder against ws's Receiver/Sender,
// without and with bufferutil. Each implementation runs in a child process;
// rounds alternate the order and each figure is the median of the rounds.
'use strict';
const os = require('node:os');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { rows, partial } = require('./codec-cases');
const { median, fmt } = require('./summary');

const impls = [
  { name: 'wsstack', env: {} },
  { name: 'ws', env: { WS_NO_BUFFER_UTIL: '1' } },
  { name: 'ws+bufferutil', env: {} },
];

function runWorker(impl) {
  const out = execFileSync(process.execPath, [path.join(__dirname, 'codec-worker.js'), impl.name], {
    env: { ...process.env, ...impl.env },
    encoding: 'utf8',
    maxBuffer: 1 << 24,
  });
  return JSON.parse(out.trim().split('\n').pop());
}

async function run() {
  const rounds = Number(process.env.BENCH_ROUNDS || 3);
  const samples = {}; // impl -> row id -> [{mbps,msgps}]
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? impls : [...impls].reverse();
    for (const impl of order) {
      process.stderr.write(`codec: round ${r + 1}/${rounds} ${impl.name}\n`);
      const { results } = runWorker(impl);
      for (const res of results) {
        ((samples[impl.name] ??= {})[res.id] ??= []).push(res);
      }
    }
  }
  const get = (impl, id, key) => median(samples[impl][id].map((s) => s[key]));

  const lines = [];
  lines.push(`# Codec benchmark (node ${process.version}, ${new Date().toISOString().slice(0, 10)}, ${os.cpus().length} cores, ${rounds} rounds, median)`);
  lines.push('');
  lines.push('Binary messages; decode = a server reading masked frames into whole messages; encode = one frame per message.');
  lines.push('');
  lines.push('| row | wsstack MB/s | wsstack msg/s | ws MB/s | ws+bufferutil MB/s | ours / ws | ours / ws+bufferutil |');
  lines.push('|---|---:|---:|---:|---:|---:|---:|');
  for (const row of rows) {
    const ours = get('wsstack', row.id, 'mbps');
    const ws = get('ws', row.id, 'mbps');
    const wsb = get('ws+bufferutil', row.id, 'mbps');
    lines.push(
      `| ${row.id} | ${fmt(ours)} | ${fmt(get('wsstack', row.id, 'msgps'))} | ${fmt(ws)} | ${fmt(wsb)} | ${fmt(ours / ws, 2)}x | ${fmt(ours / wsb, 2)}x |`,
    );
  }
  const report = lines.join('\n') + '\n';
  if (!partial) fs.writeFileSync(path.join(__dirname, 'results', 'codec.md'), report);
  process.stdout.write(report);
}

module.exports = { run };

// The memory suite: what an idle connection costs a server, wsstack beside
// ws, each server in its own process (bench/memory-server.js, handlers
// written the natural way), the same load generator for all
// (bench/e2e-load.js, its idle measure: N connections handshaken, then
// silent). Two paths: Node's 'upgrade' event, and a raw net server where our
// own llhttp parses the request. Rounds alternate the order; each figure is
// the median of the rounds. Writes results/memory.md.
//
// Env: BENCH_ROUNDS (default 3), BENCH_IDLE (connections, default 5000),
// MEMORY_ONLY (comma-separated server ids: prints, writes no report),
// MEMORY_SNAPSHOT (a directory: a heap snapshot of each server with its
// connections open, in the last round), MEMORY_DEBUG (prints where the
// memory is: V8's committed heap spaces, external and ArrayBuffer bytes),
// MEMORY_EXEC_ARGV (more node flags for the servers, e.g. --trace-gc).
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn, stop, reply } = require('./e2e');
const { median, fmt } = require('./summary');

const servers = [
  { id: 'wsstack', path: 'upgrade', label: 'wsstack', env: {} },
  { id: 'ws', path: 'upgrade', label: 'ws', env: { WS_NO_BUFFER_UTIL: '1' } },
  { id: 'ws+bufferutil', path: 'upgrade', label: 'ws + bufferutil', env: {} },
  { id: 'upgrade', path: 'upgrade', label: 'bare upgrade (floor)', env: {} },
  { id: 'wsstack-own-function', path: 'upgrade', label: 'wsstack, handler in a function of its own (not a score)', env: {} },
  { id: 'upgrade-async', path: 'upgrade', label: 'bare upgrade, async handler left suspended (not a score)', env: {} },
  { id: 'wsstack-raw', path: 'raw', label: 'wsstack', env: {} },
  { id: 'raw', path: 'raw', label: 'bare net server (floor)', env: {} },
];
const only = process.env.MEMORY_ONLY ? process.env.MEMORY_ONLY.split(',') : null;
const chosen = only ? servers.filter((s) => only.includes(s.id)) : servers;
const conns = Number(process.env.BENCH_IDLE || 5000);
/** Connections opened and dropped before the baseline: code compiled on first use is not a connection's cost. */
const WARM_UP = 100;

/** Opens `n` idle connections to `port` and returns once they are dropped again. */
async function warmUp(port, server) {
  const load = spawn('e2e-load.js', [String(port), server.id, 'idle'], { BENCH_IDLE: String(WARM_UP) });
  try {
    await reply(load, 'opened', 60000);
    load.send({ done: true });
    await reply(load, 'result', 60000);
  } finally {
    await stop(load);
  }
}

/** One server, `conns` idle connections: RSS and heapUsed growth per connection, KiB. */
async function runOne(server, snapshot) {
  const execArgv = ['--expose-gc', ...(process.env.MEMORY_EXEC_ARGV ?? '').split(' ').filter(Boolean)];
  const child = spawn('memory-server.js', [server.id], server.env, execArgv);
  let load = null;
  try {
    const port = await reply(child, 'port', 10000);
    child.send({ cmd: 'rss' });
    const start = await reply(child, 'mem', 10000);
    await warmUp(port, server);
    child.send({ cmd: 'rss', expect: WARM_UP });
    const before = await reply(child, 'mem', 10000);
    load = spawn('e2e-load.js', [String(port), server.id, 'idle'], { BENCH_IDLE: String(conns) });
    const opened = await reply(load, 'opened', 120000);
    child.send({ cmd: 'rss', expect: WARM_UP + opened });
    const after = await reply(child, 'mem', 120000);
    if (snapshot) {
      child.send({ cmd: 'snapshot', file: path.join(snapshot, `${server.id}.heapsnapshot`) });
      process.stderr.write(`memory: snapshot ${await reply(child, 'snapshot', 120000)}\n`);
    }
    load.send({ done: true });
    await reply(load, 'result', 60000);
    if (process.env.MEMORY_DEBUG) {
      const per = (a, b) => fmt((a - b) / opened / 1024, 2);
      const spaces = Object.keys(after.spaces).map((k) => `${k} ${per(after.spaces[k], before.spaces[k] ?? 0)}`);
      process.stderr.write(`memory: ${server.id} KiB/conn: external ${per(after.external, before.external)}, arrayBuffers ${per(after.arrayBuffers, before.arrayBuffers)}, committed ${spaces.join(', ')}\n`);
    }
    return {
      rss: (after.rss - before.rss) / opened / 1024,
      // RSS without the pages V8's young generation committed meanwhile: what the connections keep, less the burst's noise.
      rssKept: (after.rss - before.rss - (after.spaces.new_space - before.spaces.new_space)) / opened / 1024,
      heap: (after.heapUsed - before.heapUsed) / opened / 1024,
      warmUpRss: (before.rss - start.rss) / 1024 / 1024, // MiB: the one-time cost of the first connections
    };
  } finally {
    await Promise.all([load && stop(load), stop(child)]);
  }
}

const ratio = (a, b) => (b > 0 && Number.isFinite(a / b) ? `${fmt(a / b, 2)}x` : 'n/a');

async function run() {
  const rounds = Number(process.env.BENCH_ROUNDS || 3);
  const started = Date.now();
  const samples = {}; // server id -> [{ rss, heap } per round]
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? chosen : [...chosen].reverse();
    for (const server of order) {
      process.stderr.write(`memory: round ${r + 1}/${rounds} ${server.id}\n`);
      const snapshot = r === rounds - 1 ? process.env.MEMORY_SNAPSHOT : undefined;
      (samples[server.id] ??= []).push(await runOne(server, snapshot));
    }
  }
  const med = (id, key) => (samples[id] ? median(samples[id].map((x) => x[key])) : NaN);
  /** Per-round wsstack/ws ratios, median (lowest–highest): how far one run's luck moves the verdict. */
  const paired = (a, b, key) => {
    if (!samples[a] || !samples[b]) return 'n/a';
    const xs = samples[a].map((x, r) => x[key] / samples[b][r][key]).sort((p, q) => p - q);
    return `${fmt(median(xs), 2)}x (${fmt(xs[0], 2)}–${fmt(xs[xs.length - 1], 2)})`;
  };

  const date = new Date().toISOString().slice(0, 10);
  const lines = [
    `# Memory per idle connection (node ${process.version}, ${date}, 2 cores, ${rounds} rounds, median)`,
    '',
    `Each server in its own process (\`--expose-gc\`), ${fmt(conns)} connections opened by one load-generator process`,
    '(bench/e2e-load.js, raw `node:net` sockets, the upgrade written by hand), handshaken, then idle. A figure is the',
    "server's `process.memoryUsage()` after `gc()` with the connections open, minus the same before them, over the",
    'number of connections: RSS (what the machine pays) and `heapUsed` (the live JS heap). Before that baseline,',
    `${WARM_UP} connections were opened and dropped, so what is paid once (code compiled on first use, llhttp's`,
    'WebAssembly on the raw path) is not counted per connection; the last column shows it.',
    '',
    'Handlers are written the natural way, holding the socket, not the request:',
    '- wsstack, upgrade path: `server.on(\'upgrade\', async (req, socket, head) => { const ws = await Server.accept(req, socket, head);',
    '  for await (const m of ws) await ws.send(m); })` (inside a try/catch);',
    '- wsstack, raw path (no `http` server, our llhttp parses the request): `net.createServer(async (socket) => {',
    '  const ws = await Server.accept(socket); for await (const m of ws) await ws.send(m); })`;',
    "- ws: `new WebSocketServer({ server })`, `ws.on('message', (d, bin) => ws.send(d, { binary: bin }))`;",
    '- the floors answer the 101 by hand and keep the socket with one no-op listener: Node\'s upgrade on the upgrade',
    '  path, a plain `net` server reading the key from the first chunk on the raw path (ws has no raw-socket form).',
    '',
    'Compare ratios within one run only. RSS moves between runs: a burst of thousands of handshakes grows V8\'s young',
    'generation to its largest (2 × 16 MiB here, up to ~6 KiB per connection at 5,000), and how many of its pages are',
    'still resident when the figure is taken depends on where the last scavenge fell (`MEMORY_DEBUG=1` prints the',
    'committed size of each heap space). So beside RSS stands RSS less the pages the young generation committed during',
    'the burst: the native memory and old-space pages the connections keep. That and the heap figure are steady.',
    '',
    '| path | server | RSS KiB/conn | RSS less young gen. | heap KiB/conn | RSS / ws | RSS less young / ws | heap / ws | once, MiB RSS |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const s of chosen) {
    const rss = med(s.id, 'rss');
    const heap = med(s.id, 'heap');
    const kept = med(s.id, 'rssKept');
    lines.push(
      `| ${s.path === 'upgrade' ? "Node 'upgrade'" : 'raw socket'} | ${s.label} | ${fmt(rss, 2)} | ${fmt(kept, 2)} | ${fmt(heap, 2)} | ${ratio(rss, med('ws', 'rss'))} | ${ratio(kept, med('ws', 'rssKept'))} | ${ratio(heap, med('ws', 'heap'))} | ${fmt(med(s.id, 'warmUpRss'), 1)} |`,
    );
  }
  lines.push(
    '',
    'Per-round ratios, median (lowest–highest); ws against ws+bufferutil is the control (the same code when idle),',
    'so its spread is the noise of this machine.',
    '',
    '| ratio | RSS | RSS less young gen. | heap |',
    '|---|---:|---:|---:|',
    `| wsstack / ws ('upgrade') | ${paired('wsstack', 'ws', 'rss')} | ${paired('wsstack', 'ws', 'rssKept')} | ${paired('wsstack', 'ws', 'heap')} |`,
    `| wsstack / ws+bufferutil ('upgrade') | ${paired('wsstack', 'ws+bufferutil', 'rss')} | ${paired('wsstack', 'ws+bufferutil', 'rssKept')} | ${paired('wsstack', 'ws+bufferutil', 'heap')} |`,
    `| ws / ws+bufferutil (control) | ${paired('ws', 'ws+bufferutil', 'rss')} | ${paired('ws', 'ws+bufferutil', 'rssKept')} | ${paired('ws', 'ws+bufferutil', 'heap')} |`,
  );
  const goals = [];
  const verdict = (ok) => (ok ? 'met' : '**not met**');
  if (samples.wsstack && samples.ws) {
    const le = (key) => med('wsstack', key) <= med('ws', key);
    goals.push(`'upgrade' path, natural handler, ≤ ws: RSS ${verdict(le('rss'))}, RSS less young gen. ${verdict(le('rssKept'))}, heap ${verdict(le('heap'))}`);
  }
  if (samples['wsstack-raw']) {
    goals.push(`raw-socket path ≤ 6 KiB per connection: RSS ${verdict(med('wsstack-raw', 'rss') <= 6)}, RSS less young gen. ${verdict(med('wsstack-raw', 'rssKept') <= 6)}`);
  }
  if (goals.length) lines.push('', `Goals (issue 17): ${goals.join('; ')}.`);

  const report = lines.join('\n') + '\n';
  process.stdout.write(report);
  process.stderr.write(`memory: done in ${fmt((Date.now() - started) / 1000)} s, load average ${os.loadavg().map((x) => fmt(x, 1)).join(' ')}\n`);
  if (only) return; // a partial run prints, but leaves the committed report alone
  fs.writeFileSync(path.join(__dirname, 'results', 'memory.md'), report);
}

module.exports = { run };

// The end-to-end suite: echo servers (plain node:net as the ceiling, ws,
// ws+bufferutil and wsstack) each in its own process, driven by one load
// generator process whose code is the same for all, so only the server
// differs. Rounds alternate the order; each figure is the median of the
// rounds. Writes results/e2e.md, results/e2e.svg and (gitignored) e2e.json.
//
// Env: BENCH_MS (load per run, default 1200), BENCH_WARMUP_MS (load
// before that, default 500), BENCH_ROUNDS (default 5), BENCH_IDLE (idle
// connections, default 5000), E2E_ONLY (comma-separated measure ids:
// prints, writes no report), E2E_PROF (a directory: every server runs
// with --cpu-prof there, sampling every E2E_PROF_INTERVAL µs if set; such
// figures are not comparable), E2E_PIN (servers on CPU 0, the load
// generator on CPU 1, with taskset: no migrations, though the small rows
// still moved +-10% between runs here).
// Every child is killed when this process exits.
'use strict';
const { execFileSync, fork } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { barChart } = require('./e2e-chart');
const { median, fmt } = require('./summary');

const impls = [
  { name: 'net', label: 'node:net echo (ceiling)', env: {} },
  { name: 'ws', label: 'ws', env: { WS_NO_BUFFER_UTIL: '1' } },
  { name: 'ws+bufferutil', label: 'ws + bufferutil', env: {} },
  { name: 'wsstack', label: 'wsstack', env: {} },
];
/** Run by the idle measure only, and reported below its table: the least any server here can keep per connection. */
const floor = { name: 'upgrade', label: 'bare upgrade (floor)', env: {} };

// Defaults keep the whole suite under about three minutes on a 2-core machine.
const budgetMs = () => Number(process.env.BENCH_MS || 1200);
const idleConns = Number(process.env.BENCH_IDLE || 5000);
const allMeasures = [
  { id: 'roundtrips', label: 'round trips/s (32 B text, 1 connection, 1 in flight)', short: 'round trips/s', note: '32 B, 1 conn, 1 in flight', key: 'perSecond', unit: 'round trips/s' },
  { id: 'messages', label: 'messages/s (32 B text, 50 connections, 32 in flight each)', short: 'messages/s', note: '32 B, 50 conns × 32 in flight', key: 'perSecond', unit: 'msg/s' },
  { id: 'bulk', label: 'MB/s (64 KiB binary, 1 connection, 4 in flight)', short: 'MB/s', note: '64 KiB, 1 conn, 4 in flight', key: 'bytesPerSecond', scale: 1e-6, unit: 'MB/s' },
  {
    id: 'idle',
    label: `server RSS per idle connection at ${idleConns.toLocaleString('en-US')}, KiB (lower is better)`,
    short: 'RSS per idle connection',
    note: `KiB at ${idleConns.toLocaleString('en-US')} conns, lower is better`,
    unit: 'KiB',
    lowerIsBetter: true,
  },
];
const only = process.env.E2E_ONLY ? process.env.E2E_ONLY.split(',') : null;
const measures = only ? allMeasures.filter((m) => only.includes(m.id)) : allMeasures;

// ------------------------------------------------------------ child processes

const children = new Set();
function killAll() {
  for (const child of children) child.kill('SIGKILL');
  children.clear();
}
process.on('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(signal, () => {
    killAll();
    process.exit(130);
  });
}

function spawn(file, args, env, execArgv = []) {
  const childEnv = { ...process.env };
  delete childEnv.WS_NO_BUFFER_UTIL; // only the plain-ws column sets it
  const child = fork(path.join(__dirname, file), args, {
    env: { ...childEnv, ...env },
    execArgv,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  // E2E_PIN: the server on CPU 0, the load generator on CPU 1 (threads included).
  if (process.env.E2E_PIN) execFileSync('taskset', ['-a', '-p', '-c', file === 'e2e-server.js' ? '0' : '1', String(child.pid)], { stdio: 'ignore' });
  child.benchName = `${file} ${args.join(' ')}`;
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** Ends a child: closes its IPC channel (it exits by itself, writing any --cpu-prof), then SIGKILL after 3 s. */
function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    if (child.connected) child.disconnect();
    else child.kill('SIGKILL');
  });
}

/** Resolves with `msg[key]` of the first IPC message that has `key`; rejects if the child exits first or time runs out. */
function reply(child, key, timeoutMs) {
  return new Promise((resolve, reject) => {
    const done = () => {
      child.off('message', onMessage);
      child.off('exit', onExit);
      clearTimeout(timer);
    };
    const onMessage = (msg) => {
      if (msg && msg[key] !== undefined) {
        done();
        resolve(msg[key]);
      }
    };
    const onExit = (code, signal) => {
      done();
      reject(new Error(`${child.benchName} exited (${signal ?? code}) before sending ${key}`));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`no ${key} within ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

// ------------------------------------------------------------------- a run

async function runOne(impl, measure, round) {
  const limitMs = budgetMs() + 60000;
  const execArgv = ['--expose-gc'];
  if (process.env.E2E_PROF) {
    execArgv.push('--cpu-prof', `--cpu-prof-dir=${process.env.E2E_PROF}`, `--cpu-prof-name=${impl.name}-${measure.id}-${round}.cpuprofile`);
    if (process.env.E2E_PROF_INTERVAL) execArgv.push(`--cpu-prof-interval=${process.env.E2E_PROF_INTERVAL}`);
  }
  const server = spawn('e2e-server.js', [impl.name], impl.env, execArgv);
  let load = null;
  try {
    const port = await reply(server, 'port', 10000);
    load = spawn('e2e-load.js', [String(port), impl.name, measure.id], { BENCH_MS: String(budgetMs()), BENCH_IDLE: String(idleConns) });
    if (measure.id !== 'idle') {
      const resultP = reply(load, 'result', limitMs);
      resultP.catch(() => {}); // awaited below; a failure before then is reported there
      await reply(load, 'started', limitMs);
      server.send({ cmd: 'cpu' });
      const cpu0 = await reply(server, 'cpu', 10000);
      const result = await resultP;
      server.send({ cmd: 'cpu' });
      const cpu1 = await reply(server, 'cpu', 10000);
      return {
        value: result[measure.key] * (measure.scale ?? 1),
        serverCpu: (cpu1.us - cpu0.us) / 1000 / (cpu1.ms - cpu0.ms), // share of one core
        cpuPerMessage: (cpu1.us - cpu0.us) / result.echoed, // µs of server CPU per echoed message
        faultsPerMessage: (cpu1.faults - cpu0.faults) / result.echoed, // fresh memory touched (json only)
      };
    }
    server.send({ cmd: 'rss' });
    const before = await reply(server, 'mem', 10000);
    const opened = await reply(load, 'opened', limitMs);
    server.send({ cmd: 'rss', expect: opened });
    const after = await reply(server, 'mem', limitMs);
    load.send({ done: true });
    await reply(load, 'result', limitMs);
    return {
      value: (after.rss - before.rss) / opened / 1024,
      heapPerConn: (after.heapUsed - before.heapUsed) / opened / 1024, // live JS heap, KiB
    };
  } finally {
    await Promise.all([load && stop(load), stop(server)]);
  }
}

// ----------------------------------------------------------------- report

/** "1.23x", or "n/a" where the reference is not a positive number (e.g. a tiny idle run). */
const ratio = (a, b) => (b > 0 && Number.isFinite(a / b) ? `${fmt(a / b, 2)}x` : 'n/a');

async function run() {
  const rounds = Number(process.env.BENCH_ROUNDS || 5);
  const started = Date.now();
  const samples = {}; // measure id -> impl name -> [{ value, ... } per round]
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? impls : [...impls].reverse();
    for (const measure of measures) {
      for (const impl of measure.id === 'idle' ? [...order, floor] : order) {
        process.stderr.write(`e2e: round ${r + 1}/${rounds} ${measure.id} ${impl.name}\n`);
        ((samples[measure.id] ??= {})[impl.name] ??= []).push(await runOne(impl, measure, r + 1));
      }
    }
  }
  const stat = (m, name, key) => median(samples[m.id][name].map((x) => x[key]));
  const value = (m, name) => stat(m, name, 'value');
  const results = path.join(__dirname, 'results');
  fs.writeFileSync(
    path.join(results, 'e2e.json'),
    JSON.stringify({ node: process.version, date: new Date().toISOString(), loadavgAtEnd: os.loadavg(), rounds, budgetMs: budgetMs(), samples }, null, 2) + '\n',
  );

  const date = new Date().toISOString().slice(0, 10);
  const budget = budgetMs();
  const lines = [
    `# End-to-end benchmark (node ${process.version}, ${date}, ${rounds} rounds, median)`,
    '',
    'Echo servers on 127.0.0.1, each in its own process; one load-generator process, the same code for all four:',
    'raw `node:net` sockets, the upgrade written by hand, pre-built masked client frames, echoes counted from frame',
    `headers (the node:net echo returns the masked frames verbatim and is parsed the same way). ${fmt(budget)} ms of load`,
    `per run after ${fmt(Number(process.env.BENCH_WARMUP_MS || 500))} ms of warm-up. RSS is the server's own \`process.memoryUsage().rss\` after \`gc()\`, with the`,
    `${fmt(idleConns)} connections handshaken and idle, minus its RSS before them, over ${fmt(idleConns)}.`,
    'wsstack echoes with `for await (const m of ws) await ws.send(m)` in an async function of its own',
    '(`Server.accept(req, socket, head).then(echo)`); ws with `ws.on(\'message\', (d, bin) => ws.send(d, { binary: bin }))`.',
    'Compare ratios within one run only; absolute figures move 2x between runs. For RSS a ratio under 1 is better.',
    'A round trip here is mostly kernel and event-loop time (the node:net echo spends nearly as much server CPU on',
    'one as the WebSocket servers do); [stack.md](stack.md) measures the servers\' own cost per message without them.',
    ...(process.env.E2E_PIN ? ['Each server was pinned to CPU 0 and the load generator to CPU 1 (`E2E_PIN`).'] : []),
    '',
    '![chart](e2e.svg)',
    '',
    '| measure | node:net (ceiling) | ws | ws+bufferutil | wsstack | wsstack / ws | wsstack / ws+bufferutil | wsstack / net |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const m of measures) {
    const [net, ws, wsb, ours] = impls.map((i) => value(m, i.name));
    const d = m.lowerIsBetter ? 2 : 0;
    lines.push(
      `| ${m.label} | ${fmt(net, d)} | ${fmt(ws, d)} | ${fmt(wsb, d)} | ${fmt(ours, d)} | ${ratio(ours, ws)} | ${ratio(ours, wsb)} | ${ratio(ours, net)} |`,
    );
  }
  const goals = [
    { id: 'roundtrips', text: 'round trips/s ≥ ws', ok: (v) => v.wsstack >= v.ws },
    { id: 'messages', text: 'messages/s ≥ ws', ok: (v) => v.wsstack >= v.ws },
    { id: 'bulk', text: 'MB/s ≥ ws+bufferutil', ok: (v) => v.wsstack >= v['ws+bufferutil'] },
    { id: 'idle', text: 'RSS per idle connection ≤ 6 KiB', ok: (v) => v.wsstack <= 6 },
  ].filter((g) => samples[g.id]);
  lines.push('', 'Goals: ' + goals.map((g) => {
    const v = Object.fromEntries(impls.map((i) => [i.name, value(allMeasures.find((m) => m.id === g.id), i.name)]));
    return `${g.text}: ${g.ok(v) ? 'met' : '**not met**'}`;
  }).join('; ') + '.');

  // The same ratios round by round: in a round the servers run back to back,
  // so a paired ratio shows how far one run's luck moves the verdict.
  const paired = (m, a, b) => {
    const xs = samples[m.id][a].map((x, r) => x.value / samples[m.id][b][r].value).sort((p, q) => p - q);
    return `${fmt(median(xs), 2)}x (${fmt(xs[0], 2)}–${fmt(xs[xs.length - 1], 2)})`;
  };
  lines.push(
    '',
    'Per-round ratios, median (lowest–highest) over the rounds. ws against ws+bufferutil is the control: at 32 bytes they',
    'do the same work, so its spread is the noise of this machine.',
    '',
    '| measure | wsstack / ws | wsstack / ws+bufferutil | ws / ws+bufferutil (control) |',
    '|---|---:|---:|---:|',
  );
  for (const m of measures) {
    lines.push(`| ${m.short} | ${paired(m, 'wsstack', 'ws')} | ${paired(m, 'wsstack', 'ws+bufferutil')} | ${paired(m, 'ws', 'ws+bufferutil')} |`);
  }

  // Diagnostics: where the time and memory go, not a score.
  const load = measures.filter((m) => !m.lowerIsBetter);
  if (load.length) {
    lines.push(
      '',
      'Server CPU time per echoed message, µs (user + system, lower is cheaper), and in brackets the share of one core the',
      'server used: a server well under 100% is waiting on the round trip or the load generator, not on its own code.',
      '',
      '| measure | node:net | ws | ws+bufferutil | wsstack |',
      '|---|---:|---:|---:|---:|',
    );
    for (const m of load) {
      const cells = impls.map((i) => `${fmt(stat(m, i.name, 'cpuPerMessage'), 2)} (${fmt(100 * stat(m, i.name, 'serverCpu'))}%)`);
      lines.push(`| ${m.short} | ${cells.join(' | ')} |`);
    }
  }
  const idleMeasure = measures.find((m) => m.id === 'idle');
  if (idleMeasure) {
    const heap = impls.map((i) => `${i.name} ${fmt(stat(idleMeasure, i.name, 'heapPerConn'), 2)}`).join(', ');
    lines.push(
      '',
      `Live JS heap per idle connection (\`heapUsed\` after \`gc()\`, same runs), KiB: ${heap}. The rest of the RSS`,
      'figure is the sockets\' native memory and the heap pages V8 keeps committed. Most of those are its young generation:',
      'a burst of thousands of handshakes grows its semi-spaces to 16 MiB, and the pages they touched stay resident (3.0–4.1 KiB',
      'per connection at 5,000 for ws and for us, measured with `v8.getHeapSpaceStatistics()`); where the burst\'s last scavenge',
      'fell moves that part by up to ~1 KiB between servers whose heaps are equal.',
      '',
      `The floor: Node's HTTP upgrade answered with a hand-written 101 and the socket kept with one listener, nothing`,
      `else, costs ${fmt(stat(idleMeasure, floor.name, 'value'), 2)} KiB of RSS (${fmt(stat(idleMeasure, floor.name, 'heapPerConn'), 2)} KiB of heap) per idle connection in the same runs.`,
    );
  }
  const report = lines.join('\n') + '\n';
  process.stdout.write(report);
  process.stderr.write(`e2e: done in ${fmt((Date.now() - started) / 1000)} s\n`);
  if (only) return; // a partial run prints, but leaves the committed report and chart alone
  fs.writeFileSync(path.join(results, 'e2e.md'), report);

  // The chart: our bar first, beside ws, ws+bufferutil and the ceiling.
  const chartOrder = ['wsstack', 'ws', 'ws+bufferutil', 'net'].map((n) => impls.find((i) => i.name === n));
  fs.writeFileSync(
    path.join(results, 'e2e.svg'),
    barChart({
      title: `wsstack end to end: echo servers, node ${process.version}, ${date}, median of ${rounds}`,
      series: chartOrder.map((i) => i.label),
      groups: measures.map((m) => ({
        label: m.short,
        note: m.note,
        values: chartOrder.map((i) => value(m, i.name)),
        unit: m.unit,
        // Throughput as % of the node:net ceiling; RSS as it is (KiB per connection).
        reference: m.lowerIsBetter ? null : value(m, 'net'),
        lowerIsBetter: !!m.lowerIsBetter,
        goal: m.id === 'idle' ? { value: 6, label: 'goal ≤ 6 KiB' } : null,
      })),
    }),
  );
}

// spawn, stop and reply serve the memory suite's children too.
module.exports = { run, spawn, stop, reply };

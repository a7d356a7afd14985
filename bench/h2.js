// The HTTP/2 suite: N WebSockets (default 100) opened at once and one after
// another, as HTTP/1.1 upgrades (a TCP connection each) and as streams of
// one HTTP/2 session (RFC 8441), over plain TCP and over TLS: the time to
// open them all, the TCP connections the server saw, and the memory each
// socket costs the server and the client. Server and client each run in a
// process of their own; rounds alternate the order; figures are medians.
// Writes results/h2.md (and the gitignored h2.json).
//
// Env: BENCH_ROUNDS (default 5), BENCH_H2_SOCKETS (default 100).
// Every child is killed when this process exits.
'use strict';
const { execFileSync, fork } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { median, fmt } = require('./summary');

const configs = [
  { mode: 'h1', label: 'HTTP/1.1 upgrades' },
  { mode: 'h2', label: 'HTTP/2 streams, one session' },
];
const transports = [
  { id: 'plain', label: 'ws:// (TCP; h2c for HTTP/2)' },
  { id: 'tls', label: 'wss:// (TLS; h2 by ALPN)' },
];
const measures = [
  { id: 'burst', label: (n) => `${n} opened at once, ms` },
  { id: 'sequential', label: (n) => `${n} opened one after another, ms` },
];

// ------------------------------------------------------------ child processes

const children = new Set();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

function spawn(file, args, env) {
  const child = fork(path.join(__dirname, file), args, {
    env: { ...process.env, ...env },
    execArgv: ['--expose-gc'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  child.benchName = `${file} ${args.join(' ')}`;
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** Resolves with `msg[key]` of the first IPC message that has it; rejects if the child exits first or time runs out. */
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
      reject(new Error(`${child.benchName}: no ${key} within ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

/** Ends a child: its IPC channel closes (it exits by itself), then SIGKILL after 3 s. */
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

/** A self-signed certificate for 127.0.0.1, made by openssl in a temp dir. */
function makeCertificate(dir) {
  const key = path.join(dir, 'key.pem');
  const cert = path.join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1'],
    { stdio: 'ignore' },
  );
  return { H2_BENCH_KEY: key, H2_BENCH_CERT: cert };
}

// ------------------------------------------------------------------- a run

async function runOne(mode, transport, measure, n, certEnv) {
  const env = transport === 'tls' ? certEnv : {};
  const server = spawn('h2-server.js', [mode, transport], env);
  let client = null;
  try {
    const port = await reply(server, 'port', 10000);
    server.send({ cmd: 'mem' });
    const before = await reply(server, 'mem', 30000);
    const scheme = transport === 'tls' ? 'wss' : 'ws';
    client = spawn('h2-client.js', [`${scheme}://127.0.0.1:${port}/echo`, mode, measure, String(n)], env);
    const opened = await reply(client, 'opened', 120000);
    server.send({ cmd: 'mem', expect: n });
    const after = await reply(server, 'mem', 60000);
    client.send({ cmd: 'close' });
    await reply(client, 'closed', 30000);
    return {
      ms: opened.ms,
      connections: after.connections - before.connections,
      serverHeap: (after.heapUsed - before.heapUsed) / n / 1024,
      serverRss: (after.rss - before.rss) / n / 1024,
      clientHeap: opened.heapPerSocket / 1024,
      clientRss: opened.rssPerSocket / 1024,
    };
  } finally {
    await Promise.all([client && stop(client), stop(server)]);
  }
}

// ----------------------------------------------------------------- report

async function run() {
  const rounds = Number(process.env.BENCH_ROUNDS || 5);
  const n = Number(process.env.BENCH_H2_SOCKETS || 100);
  const started = Date.now();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wsstack-h2-bench-'));
  const samples = {}; // transport -> measure -> mode -> [run]
  try {
    const certEnv = makeCertificate(dir);
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 === 0 ? configs : [...configs].reverse();
      for (const transport of transports) {
        for (const measure of measures) {
          for (const config of order) {
            process.stderr.write(`h2: round ${r + 1}/${rounds} ${transport.id} ${measure.id} ${config.mode}\n`);
            const result = await runOne(config.mode, transport.id, measure.id, n, certEnv);
            (((samples[transport.id] ??= {})[measure.id] ??= {})[config.mode] ??= []).push(result);
          }
        }
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }

  const results = path.join(__dirname, 'results');
  fs.writeFileSync(
    path.join(results, 'h2.json'),
    JSON.stringify({ node: process.version, date: new Date().toISOString(), loadavgAtEnd: os.loadavg(), rounds, sockets: n, samples }, null, 2) + '\n',
  );
  const stat = (transport, measure, mode, key) => median(samples[transport][measure][mode].map((x) => x[key]));
  const ratio = (a, b) => (b > 0 && Number.isFinite(a / b) ? `${fmt(a / b, 2)}x` : 'n/a');
  /** h2 / h1 round by round (the two run back to back): median (lowest–highest). */
  const paired = (transport, measure, key) => {
    const runs = samples[transport][measure];
    const xs = runs.h2.map((x, i) => x[key] / runs.h1[i][key]).sort((a, b) => a - b);
    return `${fmt(median(xs), 2)}x (${fmt(xs[0], 2)}–${fmt(xs[xs.length - 1], 2)})`;
  };

  const date = new Date().toISOString().slice(0, 10);
  const lines = [
    `# HTTP/2 benchmark (node ${process.version}, ${date}, ${rounds} rounds, median)`,
    '',
    `${n} WebSockets from our \`Client\` to our \`Server\` (an echo) on 127.0.0.1, server and client each in a process of`,
    'their own: as HTTP/1.1 upgrades, a TCP (and TLS) connection each, and with `{ http2: true }` as streams of one',
    'HTTP/2 session (RFC 8441 extended CONNECT). "At once": all connects started together, timed until the last resolved;',
    '"one after another": each connect awaited before the next. Both include opening the TCP connections or the session:',
    'the client warms its code up against a throwaway server first. Memory is `process.memoryUsage()` after `gc()` with',
    `the ${n} sockets open (each used for one round trip), minus the same before them, over ${n}; from the "at once" runs.`,
    'At 100 sockets RSS mostly shows where V8\'s young generation stood after the burst (a burst of connects can leave',
    'megabytes of it resident, so identical runs can differ by tens of MiB): the heap rows are the',
    'steady figure. Compare ratios within one run only; absolute figures move 2x between runs. Under 1 the HTTP/2 column is lower.',
    '',
    `| measure | ${configs.map((c) => c.label).join(' | ')} | h2 / h1 |`,
    '|---|---:|---:|---:|',
  ];
  for (const transport of transports) {
    lines.push(`| **${transport.label}** | | | |`);
    for (const measure of measures) {
      const [h1, h2] = configs.map((c) => stat(transport.id, measure.id, c.mode, 'ms'));
      lines.push(`| ${measure.label(n)} | ${fmt(h1, 1)} | ${fmt(h2, 1)} | ${ratio(h2, h1)} |`);
    }
    const rows = [
      ['TCP connections at the server', 'connections', 0],
      ['server heap per socket, KiB', 'serverHeap', 2],
      ['server RSS per socket, KiB', 'serverRss', 2],
      ['client heap per socket, KiB', 'clientHeap', 2],
      ['client RSS per socket, KiB', 'clientRss', 2],
    ];
    for (const [label, key, d] of rows) {
      const [h1, h2] = configs.map((c) => stat(transport.id, 'burst', c.mode, key));
      lines.push(`| ${label} | ${fmt(h1, d)} | ${fmt(h2, d)} | ${ratio(h2, h1)} |`);
    }
  }
  lines.push(
    '',
    'The time ratios round by round (HTTP/1.1 and HTTP/2 run back to back in a round), median (lowest–highest):',
    '',
    '| transport | at once | one after another |',
    '|---|---:|---:|',
    ...transports.map((t) => `| ${t.id} | ${paired(t.id, 'burst', 'ms')} | ${paired(t.id, 'sequential', 'ms')} |`),
  );
  const report = lines.join('\n') + '\n';
  process.stdout.write(report);
  process.stderr.write(`h2: done in ${fmt((Date.now() - started) / 1000)} s\n`);
  fs.writeFileSync(path.join(results, 'h2.md'), report);
}

module.exports = { run };

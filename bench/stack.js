// The stack suite: the whole server side of an echo (stream events, framing,
// the message queue or ws's events, the reply write) over an in-memory
// socket, ours against ws with and without bufferutil. No TCP and no second
// process on the round trip, so the figure is the stack's own cost per
// message; e2e's round trips on this VM are mostly the kernel waking
// processes. Each implementation runs in a child process; rounds alternate
// the order; each figure is the median of the rounds.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const impls = [
  { name: 'duplex', label: 'Duplex echo', env: {} },
  { name: 'ws', label: 'ws', env: { WS_NO_BUFFER_UTIL: '1' } },
  { name: 'ws+bufferutil', label: 'ws+bufferutil', env: {} },
  { name: 'wsstack', label: 'wsstack', env: {} },
];

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function runWorker(impl) {
  const out = execFileSync(process.execPath, [path.join(__dirname, 'stack-worker.js'), impl.name], {
    env: { ...process.env, ...impl.env },
    encoding: 'utf8',
  });
  return JSON.parse(out.trim().split('\n').pop());
}

const fmt = (n, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

async function run() {
  const rounds = Number(process.env.BENCH_ROUNDS || 3);
  const samples = {}; // impl -> row id -> [round trips/s]
  const ids = [];
  let partial = false;
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? impls : [...impls].reverse();
    for (const impl of order) {
      process.stderr.write(`stack: round ${r + 1}/${rounds} ${impl.name}\n`);
      const out = runWorker(impl);
      partial ||= out.partial;
      for (const { id, rtps } of out.results) {
        if (!ids.includes(id)) ids.push(id);
        ((samples[impl.name] ??= {})[id] ??= []).push(rtps);
      }
    }
  }
  const get = (impl, id) => median(samples[impl][id]);
  // Per-round pairs, as e2e reports them: the spread says how far to trust a ratio.
  const paired = (a, b, id) => {
    const ratios = samples[a][id].map((x, i) => x / samples[b][id][i]).sort((x, y) => x - y);
    return `${fmt(median(ratios), 2)}x (${fmt(ratios[0], 2)}–${fmt(ratios[ratios.length - 1], 2)})`;
  };

  const lines = [];
  lines.push(`# Stack benchmark (node ${process.version}, ${rounds} rounds, median)`);
  lines.push('');
  lines.push('One connection, one message in flight, echoed by a server whose socket is an in-memory `Duplex`.');
  lines.push("Each masked client frame is pushed from a `process.nextTick` callback, so it arrives as a socket read");
  lines.push("does: `'data'` at once, then Node's pending ticks, then promise jobs. The server's writes are counted");
  lines.push('and dropped. A round trip thus runs all of the server side of the stack, with no system call, no TCP and');
  lines.push('no second process: what is left of the e2e round trip once the kernel and the event loop are taken out.');
  lines.push("The servers are those of the e2e suite: ours reads with `for await` and awaits each `send` (the README's");
  lines.push("idiom; text arrives as a string), ws answers in its `'message'` listener with the Buffer it got.");
  lines.push('"Duplex echo" writes each chunk straight back: the cost of the harness alone.');
  lines.push('');
  const settings = [`BENCH_ROUNDS=${rounds}`, ...(process.env.BENCH_MS ? [`BENCH_MS=${process.env.BENCH_MS}`] : [])].join(' ');
  lines.push(`Run: \`${settings} node bench/run.js stack\` (each row: ${process.env.BENCH_WARMUP_MS || 300} ms of warm-up, then ${process.env.BENCH_MS || 1000} ms). Higher is better.`);
  lines.push('');
  lines.push('| round trips/s | Duplex echo | ws | ws+bufferutil | wsstack | /ws | /ws+bufferutil |');
  lines.push('|---|---:|---:|---:|---:|---:|---:|');
  for (const id of ids) {
    const ours = get('wsstack', id);
    lines.push(
      `| ${id} | ${fmt(get('duplex', id))} | ${fmt(get('ws', id))} | ${fmt(get('ws+bufferutil', id))} | ${fmt(ours)} | ` +
        `${fmt(ours / get('ws', id), 2)}x | ${fmt(ours / get('ws+bufferutil', id), 2)}x |`,
    );
  }
  lines.push('');
  lines.push('Per-round ratios, median (lowest–highest):');
  lines.push('');
  lines.push('| row | wsstack / ws | wsstack / ws+bufferutil | ws / ws+bufferutil (control) |');
  lines.push('|---|---|---|---|');
  for (const id of ids) {
    lines.push(`| ${id} | ${paired('wsstack', 'ws', id)} | ${paired('wsstack', 'ws+bufferutil', id)} | ${paired('ws', 'ws+bufferutil', id)} |`);
  }
  lines.push('');
  lines.push('What separates the rows: a text message costs us a UTF-8 decode into a string and an encode back, since');
  lines.push('our API hands out strings, while ws validates the UTF-8 and echoes the bytes. A payload of 2 KiB or more is');
  lines.push('unmasked with WebAssembly SIMD, which copies it into WebAssembly memory and back; bufferutil, a native');
  lines.push('addon, unmasks it in place. Without bufferutil ws unmasks in a JavaScript byte loop.');
  const report = lines.join('\n') + '\n';
  if (!partial) fs.writeFileSync(path.join(__dirname, 'results', 'stack.md'), report);
  process.stdout.write(report);
}

module.exports = { run };

// The stack suite: the whole server side of an echo (stream events, framing,
// the message queue or ws's events, the reply write) over an in-memory
// socket, ours against ws with and without bufferutil. No TCP and no second
// process on the round trip, so the figure is the stack's own cost per
// message; e2e's round trips on this VM are mostly kernel time. ws and ours
// take turns within one process (ws+bufferutil and ours in another), which
// pairs each ratio in time; rounds alternate the two processes; each figure
// is the median of the rounds.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { median, fmt } = require('./summary');

/** The two processes of a round: ws without bufferutil must be loaded with WS_NO_BUFFER_UTIL=1. */
const workers = [
  { name: 'A', impls: ['duplex', 'ws', 'wsstack'], env: { WS_NO_BUFFER_UTIL: '1' } },
  { name: 'B', impls: ['ws+bufferutil', 'wsstack'], env: {} },
];

function runWorker(worker) {
  const out = execFileSync(process.execPath, [path.join(__dirname, 'stack-worker.js'), worker.impls.join(',')], {
    env: { ...process.env, ...worker.env },
    encoding: 'utf8',
  });
  return JSON.parse(out.trim().split('\n').pop());
}

async function run() {
  const rounds = Number(process.env.BENCH_ROUNDS || 3);
  const sliceMs = Number(process.env.BENCH_SLICE_MS || 100);
  // "impl" or "wsstack@A" -> row id -> [round trips/s], one per round.
  const samples = {};
  const add = (key, id, rtps) => ((samples[key] ??= {})[id] ??= []).push(rtps);
  const ids = [];
  let partial = false;
  for (let r = 0; r < rounds; r++) {
    for (const worker of r % 2 === 0 ? workers : [...workers].reverse()) {
      process.stderr.write(`stack: round ${r + 1}/${rounds} ${worker.impls.join(', ')}\n`);
      const out = runWorker(worker);
      partial ||= out.partial;
      for (const { id, impl, rtps } of out.results) {
        if (!ids.includes(id)) ids.push(id);
        add(impl === 'wsstack' ? `wsstack@${worker.name}` : impl, id, rtps);
        if (impl === 'wsstack') add('wsstack', id, rtps);
      }
    }
  }
  const get = (impl, id) => median(samples[impl][id]);
  // Per-round pairs: the spread says how far to trust a ratio.
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
  lines.push(`Within a row, ws and wsstack take turns of ${sliceMs} ms in one process (ws+bufferutil and wsstack in another),`);
  lines.push("so the machine's slow and fast spells fall on both: each ratio compares wsstack with the server it took turns");
  lines.push('with, and the wsstack column is the median over both processes. The control compares two processes.');
  lines.push('');
  const settings = [`BENCH_ROUNDS=${rounds}`, ...['BENCH_MS', 'BENCH_SLICE_MS'].filter((k) => process.env[k]).map((k) => `${k}=${process.env[k]}`)].join(' ');
  lines.push(`Run: \`${settings} node bench/run.js stack\` (each row: ${process.env.BENCH_WARMUP_MS || 300} ms of warm-up, then ${process.env.BENCH_MS || 1000} ms). Higher is better.`);
  lines.push('');
  lines.push('| round trips/s | Duplex echo | ws | ws+bufferutil | wsstack | /ws | /ws+bufferutil |');
  lines.push('|---|---:|---:|---:|---:|---:|---:|');
  for (const id of ids) {
    const ours = get('wsstack', id);
    lines.push(
      `| ${id} | ${fmt(get('duplex', id))} | ${fmt(get('ws', id))} | ${fmt(get('ws+bufferutil', id))} | ${fmt(ours)} | ` +
        `${fmt(get('wsstack@A', id) / get('ws', id), 2)}x | ${fmt(get('wsstack@B', id) / get('ws+bufferutil', id), 2)}x |`,
    );
  }
  lines.push('');
  lines.push('Per-round ratios, median (lowest–highest):');
  lines.push('');
  lines.push('| row | wsstack / ws | wsstack / ws+bufferutil | ws / ws+bufferutil (control) |');
  lines.push('|---|---|---|---|');
  for (const id of ids) {
    lines.push(`| ${id} | ${paired('wsstack@A', 'ws', id)} | ${paired('wsstack@B', 'ws+bufferutil', id)} | ${paired('ws', 'ws+bufferutil', id)} |`);
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

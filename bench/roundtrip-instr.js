// Instructions per round trip, ours against ws, under callgrind: the echo of
// the stack suite (bench/stack-worker.js: one connection over an in-memory
// Duplex, one 32-byte message in flight) run for a fixed number of round
// trips. Wall-clock time on a shared 2-core machine moves by tens of percent
// between runs; an instruction count moves by well under one. Each figure is
// (instructions of a run with N trips − those of the same run with none) / N,
// so start-up, loading and warm-up cancel out.
//
//   node bench/roundtrip-instr.js                 # ws and wsstack, text and binary, N=20000
//   RT_N=5000 RT_IMPLS=wsstack RT_ROWS=text node bench/roundtrip-instr.js
//   node bench/roundtrip-instr.js --child wsstack '32 B text' 10000 20000   # one run, for --cpu-prof or callgrind_annotate
//
// V8 runs --single-threaded so that no compiler or GC thread adds work at
// varying times. Not part of `npm run bench`: valgrind is not everywhere.
'use strict';
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const WARMUP = Number(process.env.RT_WARMUP || 10000);

async function child(impl, rowId, warmup, n) {
  const { allRows, connect } = require('./stack-worker');
  const row = allRows.find((r) => r.id === rowId);
  if (!row) throw new Error(`no row ${rowId}`);
  const client = await connect(impl, row);
  await client.trips(warmup);
  if (process.env.RT_MARK) fs.writeSync(2, '--- measured trips start\n');
  await client.trips(n);
  client.close();
}

/** Instructions callgrind counted for one child run (all of the process). */
function count(impl, rowId, n) {
  const out = path.join(os.tmpdir(), `rt-instr-${process.pid}.out`);
  const res = spawnSync(
    'valgrind',
    ['--tool=callgrind', `--callgrind-out-file=${out}`, process.execPath, '--single-threaded', path.join(__dirname, 'roundtrip-instr.js'), '--child', impl, rowId, String(WARMUP), String(n)],
    { env: { ...process.env, WS_NO_BUFFER_UTIL: '1' }, encoding: 'utf8' },
  );
  fs.rmSync(out, { force: true });
  const m = /Collected : (\d+)/.exec(res.stderr);
  if (res.status !== 0 || !m) throw new Error(`callgrind run failed (${impl}, ${rowId}, ${n}):\n${res.stderr.slice(-2000)}`);
  return Number(m[1]);
}

function main() {
  execFileSync('valgrind', ['--version']);
  const n = Number(process.env.RT_N || 20000);
  const impls = (process.env.RT_IMPLS || 'ws,wsstack').split(',');
  const rows = ['32 B text', '32 B binary'].filter((id) => !process.env.RT_ROWS || id.includes(process.env.RT_ROWS));
  console.log(`instructions per round trip (callgrind, N=${n}, warm-up ${WARMUP}, node ${process.version})`);
  const perTrip = {};
  for (const rowId of rows) {
    for (const impl of impls) {
      const base = count(impl, rowId, 0);
      const full = count(impl, rowId, n);
      perTrip[`${impl} ${rowId}`] = (full - base) / n;
      console.log(`${rowId.padEnd(12)} ${impl.padEnd(8)} ${Math.round((full - base) / n).toLocaleString('en-US')}`);
    }
    if (impls.includes('ws') && impls.includes('wsstack')) {
      const ratio = perTrip[`ws ${rowId}`] / perTrip[`wsstack ${rowId}`];
      console.log(`${rowId.padEnd(12)} ws/wsstack ${ratio.toFixed(3)} (above 1: we run fewer instructions)`);
    }
  }
}

if (process.argv[2] === '--child') {
  child(process.argv[3], process.argv[4], Number(process.argv[5]), Number(process.argv[6])).catch((error) => {
    console.error(error);
    process.exit(1);
  });
} else {
  main();
}

// Every step the trace names is a function the docs can link to: each trace
// call in packages/*/src names its function as a literal, and that name is
// defined in exactly one source. The demo's inspector links each record to
// its lines through the same lookup (definitions.js), so its links cannot
// point at the wrong lines, and a renamed function fails here first.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { definitionsOf, sources } = require('./definitions');

const ROOT = path.join(__dirname, '..', '..');

// trace('layer', 'Fn', …), traceFor(owner, role, 'layer', 'Fn', …), this.traceStep('Fn', …)
const CALLS = [
  /\btrace\(\s*'[\w-]+',\s*'([^']+)'/g,
  /\btraceFor\([^,()]+,\s*[^,()]+,\s*'[\w-]+',\s*'([^']+)'/g,
  /\btraceStep\(\s*'([^']+)'/g,
];
// Any call at all, to see that none names its step some other way.
const ANY_CALL = /\b(trace|traceFor|traceStep)\(/g;
// The definitions themselves, and helpers that pass the name on.
const NOT_A_STEP = /(function|protected) (trace|traceFor|traceStep)\(|\btraceFor\(this\.socket, role, 'simple-websocket', fn, detail, extra\)/g;

function stepsIn(file) {
  const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
  const names = CALLS.flatMap((re) => [...text.matchAll(re)].map((m) => m[1]));
  const calls = [...text.matchAll(ANY_CALL)].length - [...text.matchAll(NOT_A_STEP)].length;
  return { names, calls };
}

const all = sources().map((file) => ({ file, ...stepsIn(file) }));

test('every trace call names its step as a literal', () => {
  for (const { file, names, calls } of all) expect([file, names.length]).toEqual([file, calls]);
});

test('the trace names steps in every layer', () => {
  const names = new Set(all.flatMap((f) => f.names));
  expect(names.size).toBeGreaterThan(30);
  for (const name of ['dispatch', 'Sock.run', 'SocketConnection.onData', 'MessageQueue.push', 'FrameDecoder.readHeader', 'Handshake.acceptResponse']) {
    expect(names).toContain(name);
  }
});

test.each([...new Set(all.flatMap((f) => f.names))].sort())('%s is defined in exactly one source', (name) => {
  expect(definitionsOf(name).map(([file]) => file)).toHaveLength(1);
});

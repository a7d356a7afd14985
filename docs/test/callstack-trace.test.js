// The captured trace in docs/callstack.md is the output of
// docs/examples/callstack-trace.js, byte for byte: the walkthrough's bytes
// come from RFC 6455's example nonce and mask key, so a student who runs the
// script gets the same lines, and a change to the trace shows up here.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const DOCS = path.join(__dirname, '..');

/** The fenced block of callstack.md that begins with the handshake's marker. */
function capturedTrace() {
  const page = fs.readFileSync(path.join(DOCS, 'callstack.md'), 'utf8');
  const blocks = [...page.matchAll(/^```[^\n]*\n([\s\S]*?)^```$/gm)].map((m) => m[1]);
  const found = blocks.filter((b) => b.startsWith('--- handshake\n'));
  expect(found).toHaveLength(1);
  return found[0];
}

test('callstack-trace.js prints the trace callstack.md shows', () => {
  const out = execFileSync(process.execPath, [path.join(DOCS, 'examples', 'callstack-trace.js')], {
    cwd: path.join(DOCS, '..'),
    encoding: 'utf8',
    timeout: 20000,
    env: { ...process.env, WSSTACK_TRACE: '' },
  });
  expect(out).toBe(capturedTrace());
});

test("the captured bytes are the walkthrough's: RFC 6455's key, accept token and masked frames", () => {
  const trace = capturedTrace();
  expect(trace).toContain('generateAcceptToken: dGhlIHNhbXBsZSBub25jZQ== -> s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
  expect(trace).toContain('socket data 11 B 81 85 37 fa 21 3d 7f 9f 4d 51 58');
  expect(trace).toContain('socket data 11 B 88 85 37 fa 21 3d 34 12 43 44 52');
  expect(trace).toContain('socket.write 7 B 81 05 48 65 6c 6c 6f');
  expect(trace).toContain('socket.write 7 B 88 05 03 e8 62 79 65');
});

// The demo's start-up, as `npm start` runs it: with its port taken it says
// so (EADDRINUSE, the port, PORT=... to choose another) and exits non-zero;
// with a free port it prints its address.
'use strict';
const { spawn } = require('node:child_process');
const net = require('node:net');
const path = require('node:path');

const SERVER = path.join(__dirname, '..', '..', 'examples', 'demo', 'server.js');

/** Runs the demo with `PORT=port` until it exits or prints a line to stdout. */
function startDemo(port) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SERVER], { env: { ...process.env, PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`the demo neither exited nor printed within 20 s; stderr: ${stderr}`));
    }, 20000);
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      if (!stdout.includes('\n')) return;
      clearTimeout(timer);
      child.once('exit', () => resolve({ code: null, stdout, stderr }));
      child.kill();
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.once('error', reject);
  });
}

test('with its port taken, the demo names the cause and the way out, and exits non-zero', async () => {
  const taken = net.createServer();
  await new Promise((resolve) => taken.listen(0, '127.0.0.1', resolve));
  const { port } = taken.address();
  try {
    const { code, stdout, stderr } = await startDemo(port);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toContain('EADDRINUSE');
    expect(stderr).toContain(`port ${port} `);
    expect(stderr).toContain(`PORT=${port + 1} npm start`);
    expect(stderr).not.toMatch(/TypeError|\n\s+at /);
  } finally {
    await new Promise((resolve) => taken.close(resolve));
  }
});

test('with a free port, the demo prints its address', async () => {
  const { stdout } = await startDemo(0);
  expect(stdout).toMatch(/^wsstack demo: http:\/\/127\.0\.0\.1:\d+( \(inspector on\))?\n/);
});

// The client of the HTTP/2 suite, in its own process: opens N WebSockets
// with our Client, all at once (`burst`) or one after another
// (`sequential`), as HTTP/1.1 upgrades (`h1`) or streams of one HTTP/2
// session (`h2`). Reports the time to open them all and its own memory per
// socket (run it with --expose-gc), then closes them when its parent asks.
'use strict';
const fs = require('node:fs');
const { performance } = require('node:perf_hooks');
const { Client } = require('@wsstack/simple-websocket');
const { makeServer } = require('./h2-server');

const [url, mode, measure, count] = process.argv.slice(2);
const n = Number(count);
const ca = process.env.H2_BENCH_CERT ? fs.readFileSync(process.env.H2_BENCH_CERT) : undefined;
const options = { http2: mode === 'h2', tls: ca ? { ca } : undefined, handshakeTimeout: 60000 };

function memory() {
  global.gc();
  const { rss, heapUsed } = process.memoryUsage();
  return { rss, heapUsed };
}

/**
 * One connect to a throwaway server of the same kind in this process: the
 * code paths are loaded and compiled before the clock starts, and the
 * measured connects still open their own connection or session.
 */
async function warmUp() {
  const server = makeServer(mode, url.startsWith('wss') ? 'tls' : 'plain');
  const sessions = new Set();
  server.on('session', (session) => sessions.add(session));
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const ws = await Client.connect(url.replace(/:\d+/, `:${server.address().port}`), options);
  await ws.send('warm');
  await ws.receive();
  await ws.close();
  for (const session of sessions) session.destroy();
  await new Promise((resolve) => server.close(resolve));
}

async function main() {
  await warmUp();
  const before = memory();
  const started = performance.now();
  const sockets = [];
  if (measure === 'burst') {
    sockets.push(...(await Promise.all(Array.from({ length: n }, () => Client.connect(url, options)))));
  } else {
    for (let i = 0; i < n; i++) sockets.push(await Client.connect(url, options));
  }
  const ms = performance.now() - started;
  // Every socket is usable: one round trip each.
  await Promise.all(
    sockets.map(async (ws) => {
      await ws.send('ping');
      await ws.receive();
    }),
  );
  const after = memory();
  process.send({ opened: { ms, heapPerSocket: (after.heapUsed - before.heapUsed) / n, rssPerSocket: (after.rss - before.rss) / n } });
  await new Promise((resolve) => process.once('message', resolve));
  await Promise.all(sockets.map((ws) => ws.close()));
  process.send({ closed: true });
}

process.on('disconnect', () => process.exit(0));
main().catch((error) => {
  console.error(error);
  process.exit(1);
});

// The server of the HTTP/2 suite, in its own process: our Server taking
// WebSockets as HTTP/1.1 upgrades (`h1`) or as streams of HTTP/2 sessions
// (`h2`, RFC 8441), over plain TCP or TLS. Echoes every message. Tells its
// parent the port over IPC and answers memory queries (run it with
// --expose-gc). Exits with its parent.
'use strict';
const fs = require('node:fs');
const http = require('node:http');
const http2 = require('node:http2');
const https = require('node:https');
const { Server } = require('@wsstack/simple-websocket');

const [mode, transport] = process.argv.slice(2); // 'h1' | 'h2', 'plain' | 'tls'
let connections = 0; // TCP connections (TLS ones once their handshake is done)
let open = 0; // WebSockets open

async function echo(ws) {
  open++;
  try {
    for await (const message of ws) await ws.send(message);
  } catch {
    // a client dropped at the end of a run
  }
  open--;
}

/** accept() has already answered and closed. */
function refused() {}

/** An echo server taking WebSockets as HTTP/1.1 upgrades or HTTP/2 streams; the client uses one to warm up. */
function makeServer(mode, transport) {
  const secure = transport === 'tls';
  const tls = secure ? { key: fs.readFileSync(process.env.H2_BENCH_KEY), cert: fs.readFileSync(process.env.H2_BENCH_CERT) } : {};
  let server;
  if (mode === 'h2') {
    const settings = { enableConnectProtocol: true };
    server = secure ? http2.createSecureServer({ ...tls, settings }) : http2.createServer({ settings });
    server.on('stream', (stream, headers) => {
      Server.accept(stream, headers).then(echo, refused);
    });
  } else {
    server = secure ? https.createServer(tls) : http.createServer();
    server.on('upgrade', (req, socket, head) => {
      Server.accept(req, socket, head).then(echo, refused);
    });
  }
  return server;
}

module.exports = { makeServer };

/** Run as the suite's server: listen, tell the parent the port, answer its memory queries. */
function main() {
  const server = makeServer(mode, transport);
  server.on(transport === 'tls' ? 'secureConnection' : 'connection', () => connections++);
  process.on('message', (msg) => {
    if (msg && msg.cmd === 'mem') memory(msg.expect).then((mem) => process.send({ mem }));
  });
  process.on('disconnect', () => process.exit(0));
  server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
}

/** Memory after a full GC, once `expect` WebSockets are open (a burst may still be settling). */
async function memory(expect) {
  const deadline = Date.now() + 30000;
  while (expect !== undefined && open < expect && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
  global.gc();
  const { rss, heapUsed } = process.memoryUsage();
  return { rss, heapUsed, connections, open };
}

if (require.main === module) main();

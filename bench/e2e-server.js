// One echo server of the end-to-end suite, in its own process: wsstack, ws
// (with or without bufferutil, by WS_NO_BUFFER_UTIL) or plain node:net, the
// ceiling. Listens on 127.0.0.1 port 0, tells its parent the port over IPC,
// and answers RSS queries (run it with --expose-gc). Exits with its parent.
'use strict';
const http = require('node:http');
const net = require('node:net');

const impl = process.argv[2]; // 'wsstack' | 'ws' | 'ws+bufferutil' | 'net' | 'upgrade'
let accepted = 0; // connections open at the WebSocket level (or TCP for net)

function wsstackServer() {
  const { Server } = require('@wsstack/simple-websocket');
  const server = http.createServer();
  const options = { maxMessageSize: 100 * 1024 * 1024 };
  // The idiom of our README: read with for-await, await each send
  // (backpressure), in a function of its own so that the upgrade's `req` and
  // `head` are not kept alive for the connection's life.
  // (Sending without awaiting measured no faster, for small or large messages.)
  server.on('upgrade', (req, socket, head) => {
    Server.accept(req, socket, head, options).then(echo, refused);
  });
  return server;
}

/** One connection's life: echo every message until the close. */
async function echo(ws) {
  accepted++;
  try {
    for await (const message of ws) await ws.send(message);
  } catch {
    // the load generator drops its sockets at the end of a run
  }
  accepted--;
}

/** accept() has already answered and closed the socket. */
function refused() {}

function wsServer() {
  const { WebSocketServer } = require('ws');
  const server = http.createServer();
  const wss = new WebSocketServer({ server, maxPayload: 100 * 1024 * 1024 });
  wss.on('connection', (ws) => {
    accepted++;
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
    ws.on('error', () => {});
    ws.on('close', () => accepted--);
  });
  return server;
}

/**
 * The floor under every WebSocket column of the idle measure: Node's HTTP
 * upgrade answered with a hand-written 101, the socket kept with one no-op
 * listener, nothing else. Only the idle measure runs it (it echoes nothing).
 */
function upgradeFloorServer() {
  const crypto = require('node:crypto');
  const server = http.createServer();
  server.on('upgrade', (req, socket) => {
    const token = crypto.createHash('sha1').update(`${req.headers['sec-websocket-key']}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${token}\r\n\r\n`);
    socket.on('error', ignore);
    socket.on('data', ignore);
    accepted++;
  });
  return server;
}

function ignore() {}

function netServer() {
  return net.createServer((socket) => {
    accepted++;
    socket.setNoDelay(true);
    socket.on('data', (chunk) => socket.write(chunk));
    socket.on('error', () => {});
    socket.on('close', () => accepted--);
  });
}

// Make sure each ws flavour really is what its column says.
if (impl === 'ws' && process.env.WS_NO_BUFFER_UTIL !== '1') throw new Error('ws without bufferutil needs WS_NO_BUFFER_UTIL=1');
if (impl === 'ws+bufferutil' && (process.env.WS_NO_BUFFER_UTIL || require('bufferutil') === require('bufferutil/fallback'))) {
  throw new Error('bufferutil has no native build here: ws+bufferutil would measure the JS fallback');
}
const servers = { net: netServer, wsstack: wsstackServer, upgrade: upgradeFloorServer, ws: wsServer, 'ws+bufferutil': wsServer };
const server = servers[impl]();
server.listen({ port: 0, host: '127.0.0.1', backlog: 1024 }, () => process.send({ port: server.address().port }));

/** Once `expect` connections are up (handshakes done), settles the heap and reports RSS. */
function reportRss(expect) {
  if (accepted < expect) {
    setTimeout(reportRss, 20, expect);
    return;
  }
  for (let i = 0; i < 3; i++) globalThis.gc?.();
  setTimeout(() => {
    globalThis.gc?.();
    const { rss, heapUsed } = process.memoryUsage();
    process.send({ mem: { rss, heapUsed, accepted } });
  }, 200);
}

process.on('message', (msg) => {
  if (msg.cmd === 'rss') reportRss(msg.expect ?? 0);
  // CPU time (user + system, µs), wall time (ms) and page faults, to tell a
  // saturated server from a waiting one and see what fresh memory costs.
  if (msg.cmd === 'cpu') {
    const { userCPUTime, systemCPUTime, minorPageFault, majorPageFault } = process.resourceUsage();
    process.send({ cpu: { us: userCPUTime + systemCPUTime, ms: performance.now(), faults: minorPageFault + majorPageFault } });
  }
});
process.on('disconnect', () => process.exit(0));

// One echo server of the reliability suite, in its own process: wsstack or
// ws, each with its defaults. Listens on 127.0.0.1 port 0, tells its parent
// the port over IPC, and answers memory queries (run it with --expose-gc).
// Exits with its parent.
'use strict';
const http = require('node:http');

const impl = process.argv[2]; // 'wsstack' | 'ws'

function wsstackServer() {
  const { Server } = require('@wsstack/simple-websocket');
  const server = http.createServer();
  server.on('upgrade', (req, socket, head) => {
    Server.accept(req, socket, head).then(echo, () => {});
  });
  return server;
}

async function echo(ws) {
  try {
    for await (const message of ws) await ws.send(message);
  } catch {
    // the attacks end in closes
  }
}

function wsServer() {
  const { WebSocketServer } = require('ws');
  const server = http.createServer();
  const wss = new WebSocketServer({ server });
  wss.on('connection', (ws) => {
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
    ws.on('error', () => {});
  });
  return server;
}

const server = (impl === 'ws' ? wsServer : wsstackServer)();
server.listen({ port: 0, host: '127.0.0.1' }, () => process.send({ port: server.address().port }));

process.on('message', (msg) => {
  if (msg.cmd !== 'mem') return;
  for (let i = 0; i < 3; i++) globalThis.gc?.();
  const { rss, heapUsed } = process.memoryUsage();
  // maxRSS is in KiB: the peak, whatever a GC gave back since.
  process.send({ mem: { rss, heapUsed, peak: process.resourceUsage().maxRSS * 1024 } });
});
process.on('disconnect', () => process.exit(0));

// One echo server of the end-to-end suite, in its own process: wsstack, ws
// (with or without bufferutil, by WS_NO_BUFFER_UTIL) or plain node:net, the
// ceiling. Tells its parent the port over IPC and answers RSS queries.
'use strict';
const http = require('node:http');
const net = require('node:net');

const impl = process.argv[2];

function wsstackServer() {
  const { Server } = require('@wsstack/simple-websocket');
  const server = http.createServer();
  const options = { maxMessageSize: 100 * 1024 * 1024 };
  server.on('upgrade', (req, socket, head) => {
    Server.accept(req, socket, head, options).then(
      async (ws) => {
        try {
          for await (const message of ws) await ws.send(message);
        } catch {
          // a load generator that goes away mid-run: nothing to report
        }
      },
      () => socket.destroy(),
    );
  });
  return server;
}

function wsServer() {
  const { WebSocketServer } = require('ws');
  const server = http.createServer();
  const wss = new WebSocketServer({ server, maxPayload: 100 * 1024 * 1024 });
  wss.on('connection', (ws) => {
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
    ws.on('error', () => {});
  });
  return server;
}

function netServer() {
  return net.createServer((socket) => {
    socket.setNoDelay(true);
    socket.on('data', (chunk) => socket.write(chunk));
    socket.on('error', () => {});
  });
}

const server = impl === 'net' ? netServer() : impl === 'wsstack' ? wsstackServer() : wsServer();
server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));

process.on('message', (msg) => {
  if (msg.cmd === 'rss') {
    // Settle the heap so the figure is live memory, not garbage.
    for (let i = 0; i < 3; i++) global.gc?.();
    setTimeout(() => process.send({ rss: process.memoryUsage().rss }), 200);
  }
});
process.on('disconnect', () => process.exit(0));

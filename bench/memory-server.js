// One server of the memory suite, in its own process (run with --expose-gc):
// it accepts WebSocket connections and holds them idle. Each handler is
// written the way an application would write it, not the way that keeps the
// least. Listens on 127.0.0.1 port 0, tells its parent the port over IPC,
// and answers memory queries. Exits with its parent.
'use strict';
const crypto = require('node:crypto');
const http = require('node:http');
const net = require('node:net');

// Node 'upgrade' path: 'wsstack' | 'ws' | 'ws+bufferutil' | 'upgrade' (floor),
// and as diagnostics 'wsstack-own-function' | 'upgrade-async';
// raw-socket path (no http server): 'wsstack-raw' | 'raw' (floor).
const impl = process.argv[2];
let accepted = 0; // handshakes completed, warm-up included (never counts down)

/** The natural handler on Node's 'upgrade' event: it holds `ws` (and, being async, its parameters). */
function wsstackUpgrade() {
  const { Server } = require('@wsstack/simple-websocket');
  const server = http.createServer();
  server.on('upgrade', async (req, socket, head) => {
    try {
      const ws = await Server.accept(req, socket, head);
      accepted++;
      for await (const message of ws) await ws.send(message);
    } catch {
      // a refused handshake, or the load generator dropping its sockets at the end
    }
  });
  return server;
}

/**
 * Not a score: the handler in a function of its own, as the README advises for
 * many long-lived connections, so nothing holds `req` and `head`. With the
 * row above, it shows what the natural handler's own frame keeps.
 */
function wsstackOwnFunction() {
  const { Server } = require('@wsstack/simple-websocket');
  const server = http.createServer();
  server.on('upgrade', (req, socket, head) => {
    Server.accept(req, socket, head).then(serve, ignore);
  });
  return server;
}

async function serve(ws) {
  accepted++;
  try {
    for await (const message of ws) await ws.send(message);
  } catch {
    // as above
  }
}

/** The natural handler on a raw socket: our llhttp parses the request. */
function wsstackRaw() {
  const { Server } = require('@wsstack/simple-websocket');
  return net.createServer(async (socket) => {
    try {
      const ws = await Server.accept(socket);
      accepted++;
      for await (const message of ws) await ws.send(message);
    } catch {
      // as above
    }
  });
}

function wsUpgrade() {
  const { WebSocketServer } = require('ws');
  const server = http.createServer();
  const wss = new WebSocketServer({ server });
  wss.on('connection', (ws) => {
    accepted++;
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
    ws.on('error', () => {});
  });
  return server;
}

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const answer = (key) =>
  `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${crypto.createHash('sha1').update(key + GUID).digest('base64')}\r\n\r\n`;
function ignore() {}

/** The floor of the upgrade path: Node's parsed upgrade answered by hand, the socket kept with a no-op listener. */
function upgradeFloor() {
  const server = http.createServer();
  server.on('upgrade', (req, socket) => {
    socket.write(answer(req.headers['sec-websocket-key']));
    socket.on('error', ignore);
    socket.on('data', ignore);
    accepted++;
  });
  return server;
}

/**
 * Not a score: the floor with an async handler that stays suspended, as the
 * natural handler does: what any library pays there for the handler's own
 * frame (V8 keeps an async function's parameters, `req` and `head`, alive
 * until it returns).
 */
function upgradeFloorAsync() {
  const server = http.createServer();
  const never = new Promise(() => {});
  server.on('upgrade', async (req, socket) => {
    socket.write(answer(req.headers['sec-websocket-key']));
    socket.on('error', ignore);
    socket.on('data', ignore);
    accepted++;
    await never;
  });
  return server;
}

/**
 * The floor of the raw-socket path: a net server that finds the key in the
 * first chunk, answers by hand and keeps the socket with a no-op listener
 * (ws has no raw-socket form: its handleUpgrade needs a parsed request).
 */
function rawFloor() {
  return net.createServer((socket) => {
    socket.on('error', ignore);
    socket.once('data', (chunk) => {
      const key = /sec-websocket-key:\s*(\S+)/i.exec(chunk.toString('latin1'))?.[1] ?? '';
      socket.write(answer(key));
      socket.on('data', ignore);
      accepted++;
    });
  });
}

if (impl === 'ws' && process.env.WS_NO_BUFFER_UTIL !== '1') throw new Error('ws without bufferutil needs WS_NO_BUFFER_UTIL=1');
if (impl === 'ws+bufferutil' && (process.env.WS_NO_BUFFER_UTIL || require('bufferutil') === require('bufferutil/fallback'))) {
  throw new Error('bufferutil has no native build here: ws+bufferutil would measure the JS fallback');
}
const servers = {
  wsstack: wsstackUpgrade,
  'wsstack-own-function': wsstackOwnFunction,
  ws: wsUpgrade,
  'ws+bufferutil': wsUpgrade,
  upgrade: upgradeFloor,
  'upgrade-async': upgradeFloorAsync,
  'wsstack-raw': wsstackRaw,
  raw: rawFloor,
};
if (!servers[impl]) throw new Error(`unknown server ${impl}`);
const server = servers[impl]();
server.listen({ port: 0, host: '127.0.0.1', backlog: 1024 }, () => process.send({ port: server.address().port }));

/** Once `expect` connections are open, settles the heap and reports RSS and heapUsed. */
function report(expect) {
  if (accepted < expect) {
    setTimeout(report, 20, expect);
    return;
  }
  for (let i = 0; i < 3; i++) globalThis.gc();
  setTimeout(() => {
    globalThis.gc();
    const { rss, heapUsed, external, arrayBuffers } = process.memoryUsage();
    // Committed memory of each V8 heap space: where RSS beyond the live heap goes.
    const spaces = Object.fromEntries(require('node:v8').getHeapSpaceStatistics().map((s) => [s.space_name, s.physical_space_size]));
    process.send({ mem: { rss, heapUsed, external, arrayBuffers, spaces, accepted } });
  }, 200);
}

process.on('message', (msg) => {
  if (msg.cmd === 'rss') report(msg.expect ?? 0);
  // A heap snapshot of the idle server, to see what a connection holds (MEMORY_SNAPSHOT).
  if (msg.cmd === 'snapshot') process.send({ snapshot: require('node:v8').writeHeapSnapshot(msg.file) });
});
process.on('disconnect', () => process.exit(0));

// One process of the stack suite: echo servers whose sockets are in-memory
// Duplexes, so a round trip runs every line of a server's stack (stream
// events, framing, the message queue or ws's events, the reply write) and no
// system call. The implementations named in argv run in turns of
// BENCH_SLICE_MS within each row, so that the machine's slow and fast spells
// fall on all of them alike. Prints one JSON line: round trips/s per
// implementation and row.
'use strict';
const { Duplex } = require('node:stream');
const { clientFrame } = require('./client-frame');

const warmupMs = Number(process.env.BENCH_WARMUP_MS || 300);
const budgetMs = Number(process.env.BENCH_MS || 1000);
const sliceMs = Number(process.env.BENCH_SLICE_MS || 100);

/** One message in flight, as in e2e's round-trip row; text is what a chat sends, binary skips UTF-8. */
const allRows = [
  { id: '32 B text', size: 32, opcode: 1 },
  { id: '32 B binary', size: 32, opcode: 2 },
  { id: '1 KiB text', size: 1024, opcode: 1 },
  { id: '64 KiB binary', size: 64 * 1024, opcode: 2 },
];
// BENCH_ROWS="32 B,64 KiB": only rows whose id contains one of the parts (a partial run writes no report).
const only = (process.env.BENCH_ROWS || '').split(',').filter(Boolean);
const rows = only.length ? allRows.filter((row) => only.some((part) => row.id.includes(part))) : allRows;

/**
 * The socket: what the server writes is counted and dropped; what the client
 * sends is pushed, which emits 'data' at once as a net.Socket's read does.
 */
class MemorySocket extends Duplex {
  constructor() {
    super();
    this.written = 0;
    this.onWritten = null;
  }
  _read() {}
  _write(chunk, encoding, callback) {
    this.took(chunk.length);
    callback();
  }
  _writev(chunks, callback) {
    let n = 0;
    for (const { chunk } of chunks) n += chunk.length;
    this.took(n);
    callback();
  }
  took(n) {
    this.written += n;
    if (this.onWritten !== null) this.onWritten();
  }
  // What servers call on a net.Socket.
  setNoDelay() {}
  setTimeout() {}
  setKeepAlive() {}
}

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const UPGRADE = `GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n`;

/** The bytes of a server's echo of a `size`-byte message (unmasked); the duplex echo returns the client frame. */
function echoLength(impl, size) {
  const header = size < 126 ? 2 : size < 65536 ? 4 : 10;
  return impl === 'duplex' ? header + 4 + size : header + size;
}

/** Starts an echo server of `impl` on `socket`; resolves once it is open. */
async function startServer(impl, socket) {
  if (impl === 'duplex') {
    socket.on('data', (chunk) => socket.write(chunk));
    return;
  }
  const answered = new Promise((resolve) => (socket.onWritten = resolve));
  if (impl === 'wsstack') {
    const { Server } = require('@wsstack/simple-websocket');
    const accepted = Server.accept(socket, { maxMessageSize: 100 * 1024 * 1024 });
    socket.push(Buffer.from(UPGRADE, 'latin1'));
    const ws = await accepted;
    // The idiom of our README, as in e2e-server.js.
    (async () => {
      for await (const message of ws) await ws.send(message);
    })().catch(() => {});
  } else {
    const { WebSocketServer } = require('ws');
    const wss = new WebSocketServer({ noServer: true, maxPayload: 100 * 1024 * 1024 });
    const req = {
      method: 'GET',
      url: '/',
      headers: { host: '127.0.0.1', upgrade: 'websocket', connection: 'Upgrade', 'sec-websocket-key': KEY, 'sec-websocket-version': '13' },
    };
    wss.handleUpgrade(req, socket, Buffer.alloc(0), (ws) => {
      ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
    });
  }
  await answered;
  socket.onWritten = null;
}

const RING = 8;

/** A client of one echo server: `run(ms)` makes round trips for about `ms` and returns how many. */
async function connect(impl, row) {
  const socket = new MemorySocket();
  await startServer(impl, socket);
  const frame = clientFrame(row.size, row.opcode);
  const reply = echoLength(impl, row.size);
  let target = socket.written;
  let wake = null;
  socket.onWritten = () => {
    if (wake !== null && socket.written >= target) {
      const w = wake;
      wake = null;
      w();
    }
  };
  // The servers unmask received bytes in place, so each round trip pushes a
  // fresh copy of the frame. The copies come from a ring, not the allocator:
  // with a new 64 KiB buffer each time, glibc gave one implementation freshly
  // mapped pages on every trip (16 page faults) and not the other, which
  // measured the allocator's trim heuristics instead of the stack. A buffer
  // is reused only after RING - 1 more trips, long after it was echoed.
  const ring = Array.from({ length: RING }, () => Buffer.allocUnsafeSlow(frame.length));
  let next = 0;
  const pushFrame = () => {
    const copy = ring[next];
    next = (next + 1) % RING;
    frame.copy(copy);
    socket.push(copy);
  };
  // Each frame is pushed from a tick, so that what follows a read on a
  // socket follows it here in the same order: the ticks queued before it
  // (a stream's write callbacks), then the promise jobs. Pushed from a
  // promise job, the whole run was one microtask chain and 98,000 write
  // callbacks piled up unrun; pushed from setImmediate, each trip also paid
  // an event-loop turn (an epoll_wait), the noisiest part on this VM.
  const roundTrip = () =>
    new Promise((resolve) => {
      target += reply;
      wake = resolve;
      process.nextTick(pushFrame);
    });
  const run = async (ms) => {
    let n = 0;
    const end = performance.now() + ms;
    do {
      for (let i = 0; i < 64; i++) await roundTrip();
      n += 64;
    } while (performance.now() < end);
    return n;
  };
  const trips = async (n) => {
    for (let i = 0; i < n; i++) await roundTrip();
  };
  return { impl, run, trips, close: () => socket.destroy() };
}

/** Round trips per second of each implementation in `impls` for one row, measured in alternating turns. */
async function measure(impls, row) {
  const clients = [];
  for (const impl of impls) clients.push(await connect(impl, row));
  for (const client of clients) await client.run(warmupMs);
  const trips = new Map(clients.map((c) => [c, 0]));
  const time = new Map(clients.map((c) => [c, 0]));
  const turns = Math.max(1, Math.round(budgetMs / sliceMs));
  for (let t = 0; t < turns; t++) {
    for (const client of t % 2 === 0 ? clients : [...clients].reverse()) {
      const t0 = performance.now();
      trips.set(client, trips.get(client) + (await client.run(sliceMs)));
      time.set(client, time.get(client) + (performance.now() - t0));
    }
  }
  for (const client of clients) client.close();
  return clients.map((c) => ({ id: row.id, impl: c.impl, rtps: trips.get(c) / (time.get(c) / 1000) }));
}

/** The echo over a MemorySocket, for bench/roundtrip-instr.js (which counts instructions per round trip). */
module.exports = { allRows, connect };

if (require.main === module) main();

function main() {
  // 'wsstack' | 'ws' | 'ws+bufferutil' | 'duplex', comma-separated. ws and
  // ws+bufferutil cannot share a process: ws decides on bufferutil when loaded.
  const impls = process.argv[2].split(',');
  (async () => {
    if (impls.includes('ws+bufferutil') && (process.env.WS_NO_BUFFER_UTIL || require('bufferutil') === require('bufferutil/fallback'))) {
      throw new Error('bufferutil has no native build here: ws+bufferutil would measure the JS fallback');
    }
    if (impls.includes('ws') && process.env.WS_NO_BUFFER_UTIL !== '1') throw new Error('ws without bufferutil needs WS_NO_BUFFER_UTIL=1');
    const results = [];
    for (const row of rows) results.push(...(await measure(impls, row)));
    process.stdout.write(`${JSON.stringify({ results, partial: rows.length < allRows.length })}\n`);
  })().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}

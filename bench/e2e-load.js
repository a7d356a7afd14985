// The load generator of the end-to-end suite: the same code against every
// server. Raw node:net sockets do the upgrade by hand (none for the net
// echo), send pre-built masked client frames and count the echoed frames
// from their headers alone: the net echo returns our masked frames verbatim
// and is parsed the same way, so the generator costs the same whichever
// server answers. Talks to its parent over IPC; exits when the parent goes.
'use strict';
const net = require('node:net');
const { clientFrame } = require('./client-frame');

const [, , portArg, impl, measure] = process.argv;
const port = Number(portArg);
const budgetMs = Number(process.env.BENCH_MS || 1200);
const warmupMs = Number(process.env.BENCH_WARMUP_MS || 500);

/**
 * Counts whole frames in a byte stream, masked or not, reading only the
 * headers and skipping payloads. Calls onFrames(n) once per chunk that
 * completed n > 0 frames. Only a header split across chunks is copied.
 */
function frameCounter(onFrames) {
  let skip = 0; // payload bytes of the current frame still to come
  let head = null; // the start of a header split across chunks
  return (chunk) => {
    const buf = head === null ? chunk : Buffer.concat([head, chunk]);
    head = null;
    const end = buf.length;
    let i = 0;
    let frames = 0;
    while (i < end) {
      if (skip > 0) {
        const take = Math.min(skip, end - i);
        skip -= take;
        i += take;
        if (skip === 0) frames++;
        continue;
      }
      if (end - i < 2) break;
      const b1 = buf[i + 1];
      let len = b1 & 0x7f;
      let h = b1 & 0x80 ? 6 : 2;
      if (len === 126) h += 2;
      else if (len === 127) h += 8;
      if (end - i < h) break;
      if (len === 126) len = buf.readUInt16BE(i + 2);
      else if (len === 127) len = Number(buf.readBigUInt64BE(i + 2));
      i += h;
      if (len === 0) frames++;
      else skip = len;
    }
    if (i < end) head = Buffer.from(buf.subarray(i));
    if (frames > 0) onFrames(frames);
  };
}

const UPGRADE =
  'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';

/** Opens a connection and finishes the WebSocket handshake (none for net). Resolves with bytes that followed the 101. */
function open() {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.setNoDelay(true);
    socket.once('error', reject);
    socket.once('connect', () => {
      if (impl === 'net') return resolve({ socket, rest: Buffer.alloc(0) });
      socket.write(UPGRADE);
      let got = Buffer.alloc(0);
      const onData = (chunk) => {
        got = Buffer.concat([got, chunk]);
        const end = got.indexOf('\r\n\r\n');
        if (end < 0) return;
        socket.off('data', onData);
        if (!/^HTTP\/1\.1 101 /.test(got.toString('latin1', 0, 13))) {
          reject(new Error(`handshake refused: ${got.toString('latin1', 0, end)}`));
          socket.destroy();
          return;
        }
        resolve({ socket, rest: got.subarray(end + 4) });
      };
      socket.on('data', onData);
    });
  });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * `conns` connections, each keeping `window` frames of `size` bytes in
 * flight: every echoed frame is replaced in the same event-loop turn.
 * Counts echoes for budgetMs after a warm-up.
 */
async function echoLoad(conns, window, size, opcode) {
  const frame = clientFrame(size, opcode);
  const batch = Buffer.concat(Array.from({ length: window }, () => frame));
  const sockets = [];
  for (let i = 0; i < conns; i++) sockets.push(await open());
  let echoed = 0;
  let counting = false;
  for (const { socket, rest } of sockets) {
    socket.on('error', (error) => {
      console.error(`e2e-load: ${impl}: ${error.message}`);
      process.exit(1);
    });
    // Echoed frames are replaced in one write per connection per event-loop
    // turn (at once when one frame is in flight), so the generator's cost
    // does not grow with how finely a server splits its writes.
    let owed = 0;
    const refill = () => {
      socket.write(owed === window ? batch : batch.subarray(0, owed * frame.length));
      owed = 0;
    };
    const count = frameCounter((n) => {
      if (counting) echoed += n;
      if (window === 1) return void socket.write(batch);
      if (owed === 0) setImmediate(refill);
      owed += n;
    });
    socket.on('data', count);
    if (rest.length) count(rest);
    socket.write(batch);
  }
  await sleep(warmupMs);
  counting = true;
  process.send({ started: true }); // the parent samples the server's CPU time from here
  const start = performance.now();
  await sleep(budgetMs);
  counting = false;
  const seconds = (performance.now() - start) / 1000;
  for (const { socket } of sockets) socket.destroy();
  return { perSecond: echoed / seconds, bytesPerSecond: (echoed * size) / seconds, echoed };
}

/** Opens `n` idle connections (handshakes 100 at a time), reports, keeps them until told. */
async function idle(n) {
  const sockets = [];
  while (sockets.length < n) {
    const batch = await Promise.all(Array.from({ length: Math.min(100, n - sockets.length) }, () => open()));
    for (const s of batch) s.socket.on('error', () => {}); // a reset at teardown is expected
    sockets.push(...batch);
  }
  process.send({ opened: sockets.length });
  await new Promise((resolve) => process.once('message', resolve));
  for (const { socket } of sockets) socket.destroy();
  return { opened: sockets.length };
}

async function main() {
  let result;
  if (measure === 'roundtrips') result = await echoLoad(1, 1, 32, 1);
  else if (measure === 'messages') result = await echoLoad(50, 32, 32, 1);
  else if (measure === 'bulk') result = await echoLoad(1, 4, 64 * 1024, 2);
  else if (measure === 'idle') result = await idle(Number(process.env.BENCH_IDLE || 5000));
  else throw new Error(`unknown measure ${measure}`);
  process.send({ result });
}

// The parent went away (crash, SIGKILL): do not linger.
process.on('disconnect', () => process.exit(0));
main().catch((error) => {
  console.error(error);
  process.exit(1);
});

// The load generator of the end-to-end suite: the same code against every
// server. Raw node:net sockets do the upgrade by hand, send pre-built masked
// frames and count the echoed frames from their headers, so the generator
// costs the same whichever server answers.
'use strict';
const net = require('node:net');
const { randomFillSync } = require('node:crypto');

const [, , portArg, impl, measure] = process.argv;
const port = Number(portArg);
const budgetMs = Number(process.env.BENCH_MS || 2000);

/** A masked client frame (text for 32 B, binary otherwise). */
function clientFrame(size, opcode) {
  const ext = size < 126 ? 0 : size < 65536 ? 2 : 8;
  const out = Buffer.alloc(2 + ext + 4 + size);
  out[0] = 0x80 | opcode;
  out[1] = 0x80 | (ext === 0 ? size : ext === 2 ? 126 : 127);
  if (ext === 2) out.writeUInt16BE(size, 2);
  if (ext === 8) out.writeBigUInt64BE(BigInt(size), 2);
  const key = randomFillSync(Buffer.alloc(4));
  key.copy(out, 2 + ext);
  const payload = opcode === 1 ? Buffer.alloc(size, 0x61) : randomFillSync(Buffer.alloc(size));
  for (let i = 0; i < size; i++) out[2 + ext + 4 + i] = payload[i] ^ key[i & 3];
  return out;
}

/**
 * Counts whole frames in a byte stream (masked or not: the net echo sends
 * our masked frames back). Calls onFrames(n) once per chunk.
 */
function frameCounter(onFrames) {
  let skip = 0; // payload bytes of the current frame still to come
  let head = Buffer.alloc(0); // a header split across chunks
  return (chunk) => {
    let buf = head.length ? Buffer.concat([head, chunk]) : chunk;
    head = Buffer.alloc(0);
    let i = 0;
    let frames = 0;
    while (i < buf.length) {
      if (skip > 0) {
        const take = Math.min(skip, buf.length - i);
        skip -= take;
        i += take;
        if (skip === 0) frames++;
        continue;
      }
      if (buf.length - i < 2) break;
      const b1 = buf[i + 1];
      let len = b1 & 0x7f;
      let h = 2 + (b1 & 0x80 ? 4 : 0);
      if (len === 126) h += 2;
      else if (len === 127) h += 8;
      if (buf.length - i < h) break;
      if (len === 126) len = buf.readUInt16BE(i + 2);
      else if (len === 127) len = Number(buf.readBigUInt64BE(i + 2));
      i += h;
      if (len === 0) frames++;
      else skip = len;
    }
    if (i < buf.length) head = Buffer.from(buf.subarray(i));
    if (frames > 0) onFrames(frames);
  };
}

/** Opens a connection and finishes the WebSocket handshake (none for net). */
function open() {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.setNoDelay(true);
    socket.once('error', reject);
    socket.once('connect', () => {
      if (impl === 'net') return resolve({ socket, rest: Buffer.alloc(0) });
      socket.write(
        'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
      );
      let got = Buffer.alloc(0);
      const onData = (chunk) => {
        got = Buffer.concat([got, chunk]);
        const end = got.indexOf('\r\n\r\n');
        if (end < 0) return;
        socket.off('data', onData);
        if (!got.subarray(0, 12).toString().includes('101')) return reject(new Error(got.toString()));
        resolve({ socket, rest: got.subarray(end + 4) });
      };
      socket.on('data', onData);
    });
  });
}

/** `conns` connections, each keeping `window` messages of `size` bytes in flight. */
async function echoLoad(conns, window, size, opcode) {
  const frame = clientFrame(size, opcode);
  const batch = Buffer.concat(Array.from({ length: window }, () => frame));
  const sockets = [];
  for (let i = 0; i < conns; i++) sockets.push(await open());
  let echoed = 0;
  let counting = false;
  for (const { socket, rest } of sockets) {
    const count = frameCounter((n) => {
      if (counting) echoed += n;
      // Refill the window: as many frames as came back, in one write.
      socket.write(n === window ? batch : batch.subarray(0, n * frame.length));
    });
    socket.on('data', count);
    if (rest.length) count(rest);
    socket.write(batch);
  }
  await new Promise((resolve) => setTimeout(resolve, Math.min(500, budgetMs / 4))); // warm-up
  counting = true;
  const start = performance.now();
  await new Promise((resolve) => setTimeout(resolve, budgetMs));
  const seconds = (performance.now() - start) / 1000;
  counting = false;
  for (const { socket } of sockets) socket.destroy();
  return { perSecond: echoed / seconds, bytesPerSecond: (echoed * size) / seconds };
}

/** Opens `n` idle connections and keeps them until told to close. */
async function idle(n) {
  const sockets = [];
  for (let i = 0; i < n; i += 100) {
    const batch = await Promise.all(Array.from({ length: Math.min(100, n - i) }, () => open()));
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
  else if (measure === 'messages') result = await echoLoad(50, 1, 32, 1);
  else if (measure === 'bulk') result = await echoLoad(1, 4, 64 * 1024, 2);
  else if (measure === 'idle') result = await idle(Number(process.env.BENCH_IDLE || 5000));
  else throw new Error(`unknown measure ${measure}`);
  process.send({ result });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});

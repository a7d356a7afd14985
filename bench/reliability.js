// `npm run bench reliability`: the attacks of issue 16 against our Server and
// ws, each with its defaults, each server alone in a fresh process: ping
// floods from a peer that never reads, and fragmented messages (4 MiB in
// 64-byte fragments, 1,000,000 one-byte fragments, empty fragments without
// end). For each: what the peer saw (echo, close code, still open) and the
// server's RSS before the attack, after it, and at its peak.
// Writes results/reliability.md.
'use strict';
const { fork } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');

const MiB = 1024 * 1024;
const MASK = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);
const REQUEST =
  'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';

/**
 * `count` masked frames, the first with opcode byte `first`, the rest with
 * `rest`, FIN on the last when `finLast`, each carrying `payload` (< 126
 * bytes), in one buffer.
 */
function frames(count, first, rest, payload, finLast) {
  const size = 6 + payload.length;
  const out = Buffer.alloc(count * size);
  for (let i = 0; i < count; i++) {
    const at = i * size;
    out[at] = (i === 0 ? first : rest) | (finLast && i === count - 1 ? 0x80 : 0);
    out[at + 1] = 0x80 | payload.length;
    MASK.copy(out, at + 2);
    for (let j = 0; j < payload.length; j++) out[at + 6 + j] = payload[j] ^ MASK[j & 3];
  }
  return out;
}

/** Pings are FIN control frames: the same opcode throughout. */
const pings = (count, payloadBytes) => frames(count, 0x89, 0x89, Buffer.alloc(payloadBytes, 0x70), false);

const attacks = [
  { id: 'pings-125', label: '200,000 pings of 125 B, peer never reads', read: false, bytes: () => pings(200_000, 125) },
  { id: 'pings-empty', label: '3,000,000 empty pings, peer never reads', read: false, bytes: () => pings(3_000_000, 0) },
  { id: 'frag-64', label: '4 MiB message in 64-byte fragments', read: true, bytes: () => frames((4 * MiB) / 64, 0x2, 0x0, Buffer.alloc(64, 0x61), true), expect: 4 * MiB },
  { id: 'frag-1', label: '1,000,000 one-byte fragments', read: true, bytes: () => frames(1_000_000, 0x2, 0x0, Buffer.from('x'), false) },
  { id: 'frag-empty', label: 'empty fragments without end (10 s at most)', read: true, endless: true },
];

function reply(child, key, ms) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${key} from the server`)), ms);
    const onMessage = (msg) => {
      if (msg[key] === undefined) return;
      clearTimeout(timer);
      child.off('message', onMessage);
      resolve(msg[key]);
    };
    child.on('message', onMessage);
  });
}

async function memory(server) {
  server.send({ cmd: 'mem' });
  return reply(server, 'mem', 10000);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** The first close frame's code in what the server sent after its 101, if any. */
function closeCode(bytes) {
  let i = bytes.indexOf('\r\n\r\n') + 4;
  while (bytes.length - i >= 2) {
    let len = bytes[i + 1] & 0x7f;
    let off = i + 2;
    if (len === 126) [len, off] = [bytes.readUInt16BE(i + 2), i + 4];
    else if (len === 127) [len, off] = [Number(bytes.readBigUInt64BE(i + 2)), i + 10];
    if (bytes.length < off + len) return undefined;
    if ((bytes[i] & 0x0f) === 0x8) return len >= 2 ? bytes.readUInt16BE(off) : 1005;
    i = off + len;
  }
  return undefined;
}

async function runAttack(impl, attack) {
  const server = fork(path.join(__dirname, 'reliability-server.js'), [impl], {
    execArgv: ['--expose-gc'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  try {
    const port = await reply(server, 'port', 10000);
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => {});
    let closed = false;
    const chunks = [];
    let received = 0;
    socket.on('close', () => (closed = true));
    const onData = (chunk) => {
      chunks.push(chunk);
      received += chunk.length;
    };
    socket.on('data', onData);
    socket.write(REQUEST);
    while (!Buffer.concat(chunks).includes('\r\n\r\n')) await sleep(5);
    const head = Buffer.concat(chunks).indexOf('\r\n\r\n') + 4;
    // A peer that never reads: no more reading from here on.
    if (!attack.read) {
      socket.off('data', onData);
      socket.pause();
    }
    await sleep(200);
    const before = await memory(server);
    const started = Date.now();
    let sentBytes = 0;
    if (attack.endless) {
      const batch = frames(50_000, 0x0, 0x0, Buffer.alloc(0), false);
      socket.write(frames(1, 0x2, 0x2, Buffer.alloc(0), false));
      while (!closed && closeCode(Buffer.concat(chunks)) === undefined && Date.now() - started < 10000) {
        sentBytes += batch.length;
        if (!socket.write(batch)) await new Promise((resolve) => socket.once('drain', resolve).once('close', resolve));
        await new Promise((resolve) => setImmediate(resolve));
      }
    } else {
      const bytes = attack.bytes();
      sentBytes = bytes.length;
      // In 64 KiB writes, so that writableLength shows how much the server took.
      for (let at = 0; at < bytes.length; at += 65536) socket.write(bytes.subarray(at, at + 65536));
    }
    // Over when the connection closed, the echo is back, or the flood stops moving for 3 s.
    let lastLeft = -1;
    let still = 0;
    while (!closed && Date.now() - started < 60000) {
      if (attack.expect !== undefined && received - head >= attack.expect + 10) break;
      if (attack.read && closeCode(Buffer.concat(chunks)) !== undefined) break;
      await sleep(100);
      still = socket.writableLength === lastLeft ? still + 1 : 0;
      lastLeft = socket.writableLength;
      if (still >= 30) break;
    }
    const ms = Date.now() - started;
    const after = await memory(server);
    const code = closeCode(Buffer.concat(chunks));
    let outcome;
    if (attack.expect !== undefined && received - head >= attack.expect + 10) outcome = 'delivered (echoed)';
    else if (code !== undefined) outcome = `close ${code}`;
    else if (closed) outcome = 'dropped (no close frame)';
    else outcome = `open; server stopped reading, ${((sentBytes - socket.writableLength) / MiB).toFixed(1)} of ${(sentBytes / MiB).toFixed(1)} MiB taken`;
    socket.destroy();
    return { outcome, ms, before, after };
  } finally {
    server.kill();
  }
}

async function run() {
  // RELIABILITY_IMPLS=wsstack runs one column (e.g. against an older build of ours).
  const impls = (process.env.RELIABILITY_IMPLS ?? 'wsstack,ws').split(',');
  const rows = [];
  for (const attack of attacks) {
    for (const impl of impls) {
      const r = await runAttack(impl, attack);
      const mb = (n) => (n / MiB).toFixed(0);
      const row = `| ${attack.label} | ${impl} | ${r.outcome} | ${r.ms} | ${mb(r.before.rss)} | ${mb(r.after.rss)} | ${mb(r.after.peak)} | ${mb(r.before.heapUsed)} → ${mb(r.after.heapUsed)} |`;
      console.log(row);
      rows.push(row);
    }
  }
  const report = [
    `# Reliability: attacks of issue 16, ours and ws with their defaults`,
    '',
    `node ${process.version}, ${new Date().toISOString().slice(0, 10)}. Each server alone in a fresh process; RSS after a GC.`,
    '',
    '| attack | server | outcome | ms | RSS before (MiB) | RSS after (MiB) | peak RSS (MiB) | heap used (MiB) |',
    '|---|---|---|---:|---:|---:|---:|---:|',
    ...rows,
    '',
  ].join('\n');
  fs.mkdirSync(path.join(__dirname, 'results'), { recursive: true });
  fs.writeFileSync(path.join(__dirname, 'results', 'reliability.md'), report);
}

module.exports = { run };
if (require.main === module) run().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});

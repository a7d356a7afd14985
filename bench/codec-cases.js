// The rows of the codec benchmark and the frames they feed: binary messages
// of each size, masked as a client sends them (so a server decodes them).
'use strict';
const { randomFillSync } = require('node:crypto');

const sizes = [
  ['16 B', 16],
  ['125 B', 125],
  ['1 KiB', 1024],
  ['64 KiB', 64 * 1024],
  ['1 MiB', 1024 * 1024],
];

const rows = [];
for (const [label, size] of sizes) {
  rows.push({ id: `decode ${label} whole`, kind: 'decode', feed: 'whole', size, label });
  rows.push({ id: `decode ${label} 1460 B chunks`, kind: 'decode', feed: 'chunked', size, label });
}
for (const [label, size] of sizes) rows.push({ id: `encode ${label} masked (client)`, kind: 'encode-masked', size, label });
for (const [label, size] of sizes) rows.push({ id: `encode ${label} unmasked (server)`, kind: 'encode', size, label });

// BENCH_ROWS="1 MiB 1460,64 KiB": only rows whose id contains one of the parts (a partial run writes no report).
const only = (process.env.BENCH_ROWS || '').split(',').filter(Boolean);
if (only.length) rows.splice(0, rows.length, ...rows.filter((row) => only.some((part) => row.id.includes(part))));
const partial = only.length > 0;

/** One binary frame, FIN set, masked with a random key when `masked`. */
function frame(payload, masked) {
  const len = payload.length;
  const ext = len < 126 ? 0 : len < 65536 ? 2 : 8;
  const head = 2 + ext + (masked ? 4 : 0);
  const out = Buffer.alloc(head + len);
  out[0] = 0x82;
  out[1] = (masked ? 0x80 : 0) | (ext === 0 ? len : ext === 2 ? 126 : 127);
  if (ext === 2) out.writeUInt16BE(len, 2);
  if (ext === 8) out.writeBigUInt64BE(BigInt(len), 2);
  if (masked) {
    const key = randomFillSync(Buffer.alloc(4));
    key.copy(out, 2 + ext);
    for (let i = 0; i < len; i++) out[head + i] = payload[i] ^ key[i & 3];
  } else {
    payload.copy(out, head);
  }
  return out;
}

/** About 1 MiB of back-to-back frames of `size` (at least 1, at most 4096). */
function makeFrames(size, masked) {
  const count = Math.max(1, Math.min(4096, Math.floor((1 << 20) / size)));
  const payload = randomFillSync(Buffer.alloc(size));
  const perMessage = [];
  for (let i = 0; i < count; i++) perMessage.push(frame(payload, masked));
  return { count, perMessage, stream: Buffer.concat(perMessage) };
}

/** Views of `buf` in `size`-byte pieces, as TCP would deliver it. */
function splitChunks(buf, size) {
  const out = [];
  for (let i = 0; i < buf.length; i += size) out.push(buf.subarray(i, Math.min(buf.length, i + size)));
  return out;
}

module.exports = { rows, partial, makeFrames, splitChunks };

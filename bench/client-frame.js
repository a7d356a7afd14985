// The frames a WebSocket client sends, built once before a run: what the
// load generator writes and what the stack suite pushes.
'use strict';
const { randomFillSync } = require('node:crypto');

/** A masked client frame: text (all 'a', valid UTF-8) or binary (random bytes). */
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

module.exports = { clientFrame };

// The test peer's wire format, written byte by byte from RFC 6455 5.2 so it
// can also break the rules on purpose (reserved bits and opcodes, long
// lengths for short payloads, fragmented control frames).
'use strict';
const zlib = require('node:zlib');
const { randomFillSync } = require('node:crypto');

/**
 * One frame. `mask`: true when the peer plays the client. `rsv` is the
 * 3-bit RSV field (4 = RSV1). `length`: lie about the length encoding with
 * 'long16' or 'long64'.
 */
function frame({ opcode, payload = Buffer.alloc(0), fin = true, rsv = 0, mask, length }) {
  const data = typeof payload === 'string' ? Buffer.from(payload) : Buffer.from(payload);
  const len = data.length;
  const ext = length === 'long64' || len > 65535 ? 8 : length === 'long16' || len > 125 ? 2 : 0;
  const head = Buffer.alloc(2 + ext + (mask ? 4 : 0));
  head[0] = (fin ? 0x80 : 0) | ((rsv & 7) << 4) | opcode;
  head[1] = (mask ? 0x80 : 0) | (ext === 0 ? len : ext === 2 ? 126 : 127);
  if (ext === 2) head.writeUInt16BE(len, 2);
  if (ext === 8) head.writeBigUInt64BE(BigInt(len), 2);
  if (mask) {
    const key = randomFillSync(Buffer.alloc(4));
    key.copy(head, 2 + ext);
    for (let i = 0; i < len; i++) data[i] ^= key[i & 3];
  }
  return Buffer.concat([head, data]);
}

/** A close frame's payload: the code, then the reason bytes. */
function closePayload(code, reason = Buffer.alloc(0)) {
  const out = Buffer.alloc(2 + reason.length);
  out.writeUInt16BE(code, 0);
  Buffer.from(reason).copy(out, 2);
  return out;
}

/**
 * Reads frames from a byte stream into events: 'message' (opcode, data,
 * compressed), 'ping', 'pong', 'close' (code, reason, valid), 'error'.
 * Accepts masked and unmasked frames, whichever role the peer plays.
 */
class FrameReader {
  constructor(onEvent) {
    this.onEvent = onEvent;
    this.buf = Buffer.alloc(0);
    this.parts = null;
  }

  push(chunk) {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    for (;;) {
      const b = this.buf;
      if (b.length < 2) return;
      let len = b[1] & 0x7f;
      let off = 2;
      if (len === 126) {
        if (b.length < 4) return;
        len = b.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (b.length < 10) return;
        len = Number(b.readBigUInt64BE(2));
        off = 10;
      }
      const masked = (b[1] & 0x80) !== 0;
      if (b.length < off + (masked ? 4 : 0) + len) return;
      let data = Buffer.from(b.subarray(off + (masked ? 4 : 0), off + (masked ? 4 : 0) + len));
      if (masked) {
        const key = b.subarray(off, off + 4);
        for (let i = 0; i < len; i++) data[i] ^= key[i & 3];
      }
      this.buf = b.subarray(off + (masked ? 4 : 0) + len);
      this.frame(b[0] & 0x80, (b[0] >> 4) & 7, b[0] & 0x0f, data);
    }
  }

  frame(fin, rsv, opcode, data) {
    if (opcode === 0x9) return this.onEvent({ type: 'ping', data });
    if (opcode === 0xa) return this.onEvent({ type: 'pong', data });
    if (opcode === 0x8) {
      const code = data.length >= 2 ? data.readUInt16BE(0) : 1005;
      return this.onEvent({ type: 'close', code, reason: data.subarray(2) });
    }
    if (opcode !== 0) this.parts = { opcode, compressed: (rsv & 4) !== 0, chunks: [] };
    if (this.parts === null) return this.onEvent({ type: 'error', message: 'continuation without a message' });
    this.parts.chunks.push(data);
    if (fin) {
      const { opcode: op, compressed, chunks } = this.parts;
      this.parts = null;
      this.onEvent({ type: 'message', opcode: op, compressed, data: Buffer.concat(chunks) });
    }
  }
}

const TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);

/**
 * RFC 7692 7.2.1 for the peer: raw DEFLATE with a sync flush, the trailing
 * 00 00 ff ff removed; context kept between messages unless told otherwise.
 * Streams, so one object per direction and connection.
 */
class Deflater {
  constructor(windowBits, noContext) {
    this.windowBits = windowBits;
    this.noContext = noContext;
    this.stream = null;
  }

  compress(data) {
    if (this.stream === null || this.noContext) this.stream = zlib.createDeflateRaw({ windowBits: this.windowBits });
    const stream = this.stream;
    return new Promise((resolve, reject) => {
      const out = [];
      const onData = (chunk) => out.push(chunk);
      stream.on('data', onData);
      stream.write(data);
      stream.flush(zlib.constants.Z_SYNC_FLUSH, () => {
        stream.off('data', onData);
        const all = Buffer.concat(out);
        if (!all.subarray(-4).equals(TAIL)) return reject(new Error('deflate output lacks the sync flush tail'));
        resolve(all.subarray(0, -4));
      });
    });
  }
}

class Inflater {
  constructor(noContext) {
    this.noContext = noContext;
    this.stream = null;
  }

  decompress(data) {
    if (this.stream === null || this.noContext) this.stream = zlib.createInflateRaw({ windowBits: 15 });
    const stream = this.stream;
    return new Promise((resolve, reject) => {
      const out = [];
      const onData = (chunk) => out.push(chunk);
      stream.on('data', onData);
      stream.once('error', reject);
      stream.write(Buffer.concat([data, TAIL]));
      stream.flush(zlib.constants.Z_SYNC_FLUSH, () => {
        stream.off('data', onData);
        stream.off('error', reject);
        resolve(Buffer.concat(out));
      });
    });
  }
}

module.exports = { frame, closePayload, FrameReader, Deflater, Inflater };

// What the inspector shows of a frame: its bytes as they crossed, cut into
// the fields of RFC 6455 5.2 (FIN, RSV, opcode, MASK, length, masking key,
// payload), each with what it means. The trace gives the bytes; this only
// names them, for display. It reads every header, valid or not, because the
// lab's frames break the rules on purpose.
'use strict';

const OPCODES = { 0: 'continuation', 1: 'text', 2: 'binary', 8: 'close', 9: 'ping', 10: 'pong' };
/** The most payload bytes shown; the rest is counted. */
const SHOWN = 48;

const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');

/** UTF-8 as text, or why it is not. */
function text(bytes, whole) {
  try {
    return JSON.stringify(new TextDecoder('utf-8', { fatal: true }).decode(bytes, { stream: !whole }));
  } catch {
    return 'not valid UTF-8';
  }
}

/** What a payload says, by opcode: text, a close code and reason, a byte count. */
function meaning(opcode, payload, whole) {
  if (opcode === 1) return text(payload, whole);
  if (opcode === 8) {
    if (payload.length === 0) return 'no code (1005 to the application)';
    if (payload.length === 1) return 'a one-byte close payload (not allowed)';
    const code = (payload[0] << 8) | payload[1];
    return `code ${code}${payload.length > 2 ? `, reason ${text(payload.subarray(2), whole)}` : ''}`;
  }
  if (opcode === 2) return whole ? `${payload.length} bytes of binary` : 'binary';
  // Control payloads and continuations: text when they read as text.
  const asText = text(payload, whole);
  const readable = asText !== 'not valid UTF-8' ? asText : `${payload.length} bytes`;
  return opcode === 0 ? `continues the message: ${readable}` : readable;
}

/**
 * The fields of the frame at the start of `bytes` (which may hold only the
 * start of its payload). Returns `[{ hex, field, value }]`, or null when
 * there are not even two bytes.
 */
function labelFrame(bytes) {
  if (bytes.length < 2) return null;
  const b0 = bytes[0];
  const b1 = bytes[1];
  const opcode = b0 & 0x0f;
  const masked = (b1 & 0x80) !== 0;
  const rsv = ((b0 >> 4) & 7).toString(2).padStart(3, '0');
  const fields = [
    { hex: hex([b0]), field: 'FIN, RSV1-3, opcode', value: `FIN=${b0 >> 7} RSV=${rsv} opcode=0x${opcode.toString(16)} (${OPCODES[opcode] ?? 'reserved'})` },
  ];
  let length = b1 & 0x7f;
  const seven = length < 126 ? `length=${length}` : `length=${length}: a ${length === 126 ? 16 : 64}-bit length follows`;
  fields.push({ hex: hex([b1]), field: 'MASK, length', value: `MASK=${masked ? 1 : 0} ${seven}` });
  let at = 2;
  const extra = length === 126 ? 2 : length === 127 ? 8 : 0;
  if (extra > 0) {
    if (bytes.length < 2 + extra) return fields;
    const ext = bytes.subarray(2, 2 + extra);
    length = ext.reduce((n, b) => n * 256 + b, 0);
    fields.push({ hex: hex(ext), field: 'extended length', value: `${length} bytes` });
    at += extra;
  }
  let key = null;
  if (masked) {
    if (bytes.length < at + 4) return fields;
    key = bytes.subarray(at, at + 4);
    fields.push({ hex: hex(key), field: 'masking key', value: 'payload byte i is XORed with key byte i % 4' });
    at += 4;
  }
  const here = bytes.subarray(at, at + Math.min(length, SHOWN));
  const payload = key === null ? here : here.map((b, i) => b ^ key[i % 4]);
  const whole = here.length === length;
  const cut = whole ? '' : ` (shown: the first ${here.length} of ${length} bytes)`;
  if (length > 0) {
    fields.push({
      hex: hex(here),
      field: key === null ? 'payload' : 'payload, masked',
      value: `${key === null ? '' : `unmasked: ${hex(payload)} = `}${meaning(opcode, payload, whole)}${cut}`,
    });
  }
  return fields;
}

/** An HTTP head as text, when `bytes` start one (a request or a status line). */
function httpHead(bytes) {
  const start = Buffer.from(bytes.subarray(0, 5)).toString('latin1');
  if (start !== 'HTTP/' && !start.startsWith('GET ')) return null;
  const head = Buffer.from(bytes).toString('latin1');
  const end = head.indexOf('\r\n\r\n');
  return end < 0 ? head : head.slice(0, end + 4);
}

module.exports = { labelFrame, httpHead, hex };

// The cases, by Autobahn family number, written from RFC 6455 and RFC 7692.
// Each says what it checks (RFC section) and what must happen: the messages
// echoed back, or a close frame with one of the listed codes followed by the
// TCP close. The same list runs against our Server and our Client.
'use strict';
const { randomFillSync } = require('node:crypto');
const { closePayload } = require('./wire');

const TEXT = 0x1;
const BINARY = 0x2;
const CLOSE = 0x8;
const PING = 0x9;
const PONG = 0xa;

const text = (payload, more = {}) => ({ opcode: TEXT, payload: Buffer.from(payload), ...more });
const binary = (payload, more = {}) => ({ opcode: BINARY, payload, ...more });
const cont = (payload, more = {}) => ({ opcode: 0, payload: Buffer.from(payload), ...more });
const ping = (payload = Buffer.alloc(0), more = {}) => ({ opcode: PING, payload, ...more });
const pong = (payload = Buffer.alloc(0)) => ({ opcode: PONG, payload });
const close = (payload) => ({ opcode: CLOSE, payload });
const random = (n) => randomFillSync(Buffer.alloc(n));
const msg = (opcode, data) => ({ opcode, data: Buffer.from(data) });

/** Splits `payload` into frames of `size` bytes: first `opcode`, then continuations. */
function fragments(opcode, payload, size, more = {}) {
  const out = [];
  for (let i = 0; i < payload.length || i === 0; i += size) {
    out.push({ opcode: i === 0 ? opcode : 0, payload: payload.subarray(i, i + size), fin: i + size >= payload.length, ...more });
    if (payload.length === 0) break;
  }
  if (more.rsv) for (let i = 1; i < out.length; i++) out[i].rsv = 0;
  return out;
}

const cases = [];
/** Registers a case; `send` is one step or a list of steps. */
function add(family, id, section, desc, send, expect, extra = {}) {
  const steps = Array.isArray(send) ? send : [send];
  cases.push({ family, id, section, desc, steps, expect, ...extra });
}
const echoes = (...messages) => ({ messages });
const closes = (...codes) => ({ close: codes });

// 1 Framing ----------------------------------------------------------------
const lengths = [0, 1, 125, 126, 127, 128, 65535, 65536, 65537, 1 << 20];
lengths.forEach((n, i) => {
  const t = Buffer.alloc(n, 0x2a);
  add(1, `1.1.${i + 1}`, '5.2, 5.6', `text, ${n} bytes`, { frames: [text(t)] }, echoes(msg(TEXT, t)));
});
lengths.forEach((n, i) => {
  const b = random(n);
  add(1, `1.2.${i + 1}`, '5.2, 5.6', `binary, ${n} bytes`, { frames: [binary(b)] }, echoes(msg(BINARY, b)));
});
{
  const t = Buffer.from('x'.repeat(200));
  add(1, '1.3.1', '5.2', 'text 200 bytes delivered 1 byte at a time', { frames: [text(t)], chunk: 1 }, echoes(msg(TEXT, t)));
  const b = random(70000);
  add(1, '1.3.2', '5.2', 'binary 70000 bytes in 997-byte chunks', { frames: [binary(b)], chunk: 997 }, echoes(msg(BINARY, b)));
  const many = Array.from({ length: 100 }, (_, i) => text(`m${i}`));
  add(1, '1.3.3', '5.2', '100 messages in one write', { frames: many }, echoes(...many.map((f) => msg(TEXT, f.payload))));
  add(1, '1.3.4', '5.2', 'payload length 5 sent with a 16-bit length', { frames: [text('hello', { length: 'long16' })] }, closes(1002));
  add(1, '1.3.5', '5.2', 'payload length 200 sent with a 64-bit length', { frames: [text('x'.repeat(200), { length: 'long64' })] }, closes(1002));
}

// 2 Ping/pong --------------------------------------------------------------
[0, 1, 10, 125].forEach((n, i) => {
  const p = random(n);
  add(2, `2.${i + 1}`, '5.5.2, 5.5.3', `ping with ${n} payload bytes gets the same pong`, { frames: [ping(p)] }, { messages: [], pongs: [p] });
});
add(2, '2.5', '5.5', 'ping with 126 payload bytes', { frames: [ping(random(126))] }, closes(1002));
add(2, '2.6', '5.5.3', 'unsolicited pong is ignored', { frames: [pong(Buffer.from('x')), text('after')] }, echoes(msg(TEXT, 'after')));
add(2, '2.7', '5.4, 5.5.2', 'ping between fragments is answered, the message continues',
  { frames: [text('Hel', { fin: false }), ping(Buffer.from('p')), cont('lo')] }, { messages: [msg(TEXT, 'Hello')], pongs: [Buffer.from('p')] });
{
  const pings = Array.from({ length: 10 }, (_, i) => Buffer.from(`ping ${i}`));
  add(2, '2.8', '5.5.2', '10 pings in a row get 10 pongs in order', { frames: pings.map((p) => ping(p)) }, { messages: [], pongs: pings });
}
add(2, '2.9', '5.5.2', 'ping delivered 1 byte at a time', { frames: [ping(Buffer.from('slow ping'))], chunk: 1 }, { messages: [], pongs: [Buffer.from('slow ping')] });

// 3 Reserved bits ----------------------------------------------------------
[1, 2, 3, 4, 5, 6, 7].forEach((rsv, i) => {
  add(3, `3.${i + 1}`, '5.2', `text with RSV=${rsv} and no extension`, { frames: [text('hi', { rsv })] }, closes(1002));
});
add(3, '3.8', '5.2', 'ping with RSV1 set', { frames: [ping(Buffer.from('p'), { rsv: 4 })] }, closes(1002));
add(3, '3.9', '5.2', 'a valid message, then one with RSV2', { frames: [text('ok'), text('bad', { rsv: 2 })] }, { messages: [msg(TEXT, 'ok')], close: [1002] });

// 4 Opcodes ----------------------------------------------------------------
[3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf].forEach((op, i) => {
  add(4, `4.${i + 1}`, '5.2', `reserved opcode 0x${op.toString(16)}`, { frames: [{ opcode: op, payload: Buffer.from('x') }] }, closes(1002));
});
add(4, '4.11', '5.2', 'a valid message, then reserved opcode 0x5', { frames: [text('ok'), { opcode: 5 }] }, { messages: [msg(TEXT, 'ok')], close: [1002] });

// 5 Fragmentation ----------------------------------------------------------
add(5, '5.1', '5.4', 'text in 2 fragments', { frames: [text('Hel', { fin: false }), cont('lo')] }, echoes(msg(TEXT, 'Hello')));
add(5, '5.2', '5.4', 'binary in 3 fragments', { frames: fragments(BINARY, Buffer.from([1, 2, 3, 4, 5, 6]), 2) }, echoes(msg(BINARY, [1, 2, 3, 4, 5, 6])));
add(5, '5.3', '5.4', 'empty fragments around data', { frames: [text('', { fin: false }), cont('a', { fin: false }), cont('', { fin: false }), cont('')] }, echoes(msg(TEXT, 'a')));
add(5, '5.4', '5.4', 'text in 100 one-byte fragments', { frames: fragments(TEXT, Buffer.from('f'.repeat(100)), 1) }, echoes(msg(TEXT, 'f'.repeat(100))));
add(5, '5.5', '5.4', 'continuation without a message', { frames: [cont('x')] }, closes(1002));
add(5, '5.6', '5.4', 'final continuation without a message, after a message', { frames: [text('ok'), cont('x')] }, { messages: [msg(TEXT, 'ok')], close: [1002] });
add(5, '5.7', '5.4', 'a new text frame while a message is open', { frames: [text('a', { fin: false }), text('b')] }, closes(1002));
add(5, '5.8', '5.4', 'a new binary frame while a text message is open', { frames: [text('a', { fin: false }), binary(Buffer.from('b'))] }, closes(1002));
add(5, '5.9', '5.5', 'fragmented ping', { frames: [ping(Buffer.from('a'), { fin: false }), cont('b')] }, closes(1002));
add(5, '5.10', '5.5', 'fragmented close', { frames: [{ opcode: CLOSE, payload: closePayload(1000), fin: false }] }, closes(1002));
add(5, '5.11', '5.4', 'pong and ping between fragments', { frames: [text('a', { fin: false }), pong(Buffer.from('u')), ping(Buffer.from('q')), cont('b')] }, { messages: [msg(TEXT, 'ab')], pongs: [Buffer.from('q')] });
add(5, '5.12', '5.4', 'fragments delivered 1 byte at a time', { frames: fragments(TEXT, Buffer.from('chunked fragments'), 4), chunk: 1 }, echoes(msg(TEXT, 'chunked fragments')));

// 6 UTF-8 ------------------------------------------------------------------
{
  const greek = Buffer.from('κόσμε 𝄞 €', 'utf8');
  for (let cut = 1; cut < greek.length; cut++) {
    add(6, `6.1.${cut}`, '5.6, 8.1', `valid UTF-8 split after byte ${cut}`, { frames: [text(greek.subarray(0, cut), { fin: false }), cont(greek.subarray(cut))] }, echoes(msg(TEXT, greek)));
  }
  const bad = [
    ['overlong NUL c0 80', [0xc0, 0x80]],
    ['overlong slash e0 80 af', [0xe0, 0x80, 0xaf]],
    ['surrogate ed a0 80', [0xed, 0xa0, 0x80]],
    ['above U+10FFFF f4 90 80 80', [0xf4, 0x90, 0x80, 0x80]],
    ['lone continuation 80', [0x80]],
    ['fe', [0xfe]],
    ['ff', [0xff]],
    ['truncated at the end e2 82', [0x41, 0xe2, 0x82]],
  ];
  bad.forEach(([name, bytes], i) => {
    add(6, `6.2.${i + 1}`, '8.1', `invalid UTF-8: ${name}`, { frames: [text(Buffer.from(bytes))] }, closes(1007));
  });
  bad.slice(0, 7).forEach(([name, bytes], i) => {
    add(6, `6.3.${i + 1}`, '8.1', `fail fast: ${name} in the first fragment closes before the last is sent`,
      [{ frames: [text(Buffer.concat([Buffer.from('ok '), Buffer.from(bytes)]), { fin: false })], waitClose: 1007 }, { frames: [cont('rest')] }], closes(1007));
  });
  add(6, '6.4', '8.1', 'invalid byte in a later fragment', { frames: [text('fine', { fin: false }), cont(Buffer.from([0xff]))] }, closes(1007));
  add(6, '6.5', '8.1', 'a message ending inside a code point (split over fragments)', { frames: [text(Buffer.from([0xe2]), { fin: false }), cont(Buffer.from([0x82]))] }, closes(1007));
}

// 7 Closing ----------------------------------------------------------------
add(7, '7.1', '5.5.1', 'close with no body', { frames: [close(Buffer.alloc(0))] }, { close: [1000, 1005] });
[1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999].forEach((code, i) => {
  add(7, `7.2.${i + 1}`, '7.4.1', `close with valid code ${code} is echoed`, { frames: [close(closePayload(code))] }, closes(code));
});
[0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535].forEach((code, i) => {
  add(7, `7.3.${i + 1}`, '7.4.1', `close with invalid code ${code}`, { frames: [close(closePayload(code))] }, closes(1002));
});
add(7, '7.4', '5.5.1', 'close with a 1-byte body', { frames: [close(Buffer.from([0x03]))] }, closes(1002));
add(7, '7.5', '5.5', 'close with a 123-byte reason', { frames: [close(closePayload(1000, Buffer.alloc(123, 0x72)))] }, closes(1000));
add(7, '7.6', '5.5.1, 8.1', 'close reason that is not UTF-8', { frames: [close(closePayload(1000, Buffer.from([0xce, 0xba, 0xff])))] }, closes(1007));
add(7, '7.7', '5.5.1', 'data after the close is ignored', { frames: [close(closePayload(1000)), text('late')] }, { messages: [], close: [1000] });
add(7, '7.8', '5.5.1', 'a second close after the close', { frames: [close(closePayload(1000)), close(closePayload(1001))] }, { messages: [], close: [1000] });
add(7, '7.9', '5.5.1', 'a message, then close: the message is echoed first', { frames: [text('last words'), close(closePayload(1000))] }, { messages: [msg(TEXT, 'last words')], close: [1000] });
add(7, '7.10', '5.5.1', 'close in the middle of a fragmented message', { frames: [text('half', { fin: false }), close(closePayload(1000))] }, { messages: [], close: [1000] });

// 9 Limits -----------------------------------------------------------------
for (const [label, n] of [['64 KiB', 1 << 16], ['256 KiB', 1 << 18], ['1 MiB', 1 << 20], ['4 MiB', 1 << 22], ['16 MiB', 1 << 24]]) {
  const t = Buffer.alloc(n, 0x57);
  add(9, `9.1 ${label}`, '5.6', `text of ${label}`, { frames: [text(t)] }, echoes(msg(TEXT, t)), { timed: true });
  const b = random(n);
  add(9, `9.2 ${label}`, '5.6', `binary of ${label}`, { frames: [binary(b)] }, echoes(msg(BINARY, b)), { timed: true });
}
{
  const b = random(1 << 20);
  add(9, '9.3.1', '5.4', '1 MiB binary in 4 KiB fragments', { frames: fragments(BINARY, b, 4096) }, echoes(msg(BINARY, b)), { timed: true });
  const s = random(1 << 18);
  add(9, '9.3.2', '5.4', '256 KiB binary in 64-byte fragments (4,096)', { frames: fragments(BINARY, s, 64) }, echoes(msg(BINARY, s)), { timed: true });
  const m = random(1 << 22);
  add(9, '9.3.3', '5.4, 10.4', '4 MiB binary in 64-byte fragments (65,536): fragments are limited in bytes, not by count', { frames: fragments(BINARY, m, 64) }, echoes(msg(BINARY, m)), { timed: true });
  add(9, '9.3.4', '10.4', 'one-byte fragments past the byte budget (each counts 128 B; 1 MiB limit)', { frames: fragments(BINARY, random(20000), 1) }, closes(1009), { options: { maxMessageSize: 1 << 20 } });
  add(9, '9.4.1', '10.4', 'a message over maxMessageSize (1 MiB + 1 with a 1 MiB limit)', { frames: [binary(random((1 << 20) + 1))] }, closes(1009), { options: { maxMessageSize: 1 << 20 } });
  add(9, '9.4.2', '10.4', 'fragments adding up past maxMessageSize', { frames: fragments(BINARY, random((1 << 20) + 10), 65536) }, closes(1009), { options: { maxMessageSize: 1 << 20 } });
  const many = Array.from({ length: 1000 }, (_, i) => binary(Buffer.from([i & 0xff, i >> 8])));
  add(9, '9.5', '5.6', '1,000 small messages in one write', { frames: many }, echoes(...many.map((f) => msg(BINARY, f.payload))), { timed: true });
}

// 12/13 permessage-deflate ---------------------------------------------------
const pmd = [
  ['default', {}, 'permessage-deflate'],
  ['client_no_context_takeover', { clientNoContextTakeover: true }, 'permessage-deflate; client_no_context_takeover'],
  ['server_no_context_takeover', { serverNoContextTakeover: true }, 'permessage-deflate; server_no_context_takeover'],
  ['both no_context_takeover', { clientNoContextTakeover: true, serverNoContextTakeover: true }, 'permessage-deflate; client_no_context_takeover; server_no_context_takeover'],
  ...[9, 12, 15].map((bits) => [`client_max_window_bits=${bits}`, { clientMaxWindowBits: bits }, `permessage-deflate; client_max_window_bits=${bits}`]),
  ...[9, 12, 15].map((bits) => [`server_max_window_bits=${bits}`, { serverMaxWindowBits: bits }, `permessage-deflate; server_max_window_bits=${bits}`]),
];
pmd.forEach(([name, options, header], p) => {
  // Server role: the peer offers `header`; client role: the peer answers with it.
  const extra = { options: { perMessageDeflate: options }, offer: header, response: header };
  const compressible = Buffer.from('All work and no play makes Jack a dull boy. '.repeat(100));
  const family = p < 4 ? 12 : 13;
  add(family, `${family}.${p + 1}.1`, '7692 7.2', `${name}: compressible text echoed`, { frames: [text(compressible, { compress: true })] }, echoes(msg(TEXT, compressible)), extra);
  const b = random(65536);
  add(family, `${family}.${p + 1}.2`, '7692 7.2', `${name}: random 64 KiB binary`, { frames: [binary(b, { compress: true })] }, echoes(msg(BINARY, b)), extra);
  const series = Array.from({ length: 10 }, (_, i) => Buffer.from(`message ${i}: ${'context takeover pays off when messages repeat. '.repeat(40)}`));
  add(family, `${family}.${p + 1}.3`, '7692 7.2.3', `${name}: 10 similar messages (context across messages)`, { frames: series.map((s) => text(s, { compress: true })) }, echoes(...series.map((s) => msg(TEXT, s))), extra);
  add(family, `${family}.${p + 1}.4`, '7692 6.1', `${name}: uncompressed message on a deflate connection`, { frames: [text('plain')] }, echoes(msg(TEXT, 'plain')), extra);
  add(family, `${family}.${p + 1}.5`, '7692 6.1', `${name}: compressed empty message`, { frames: [text('', { compress: true })] }, echoes(msg(TEXT, '')), extra);
});
{
  const extra = { options: { perMessageDeflate: {} }, offer: 'permessage-deflate', response: 'permessage-deflate' };
  const long = Buffer.from('fragmented and compressed. '.repeat(500));
  add(12, '12.9.1', '7692 6.1', 'a compressed message in fragments, ping between', {
    frames: [{ ...text(long, { compress: true }), split: [100, 1000] }],
  }, { messages: [msg(TEXT, long)], pongs: [Buffer.from('between')] }, extra);
  add(12, '12.9.2', '7692 6.1', 'RSV1 on a continuation frame', { frames: [text('a', { fin: false }), cont('b', { rsv: 4 })] }, closes(1002), extra);
  add(12, '12.9.3', '7692 6.1', 'RSV1 on a ping', { frames: [ping(Buffer.from('p'), { rsv: 4 })] }, closes(1002), extra);
  add(12, '12.9.4', '7692 8', 'a compressed message that inflates past maxMessageSize (zip bomb)', { frames: [binary(Buffer.alloc(8 << 20), { compress: true })] }, closes(1009),
    { options: { perMessageDeflate: {}, maxMessageSize: 1 << 20 }, offer: 'permessage-deflate', response: 'permessage-deflate' });
  add(12, '12.9.5', '7692 7.2.2', 'compressed data that is not valid DEFLATE', { frames: [binary(Buffer.from([0xff, 0xff, 0xff, 0xff]), { rsv: 4 })] }, closes(1007, 1002), extra);
}

module.exports = { cases, TEXT, BINARY };

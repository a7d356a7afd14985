// One implementation's side of the codec benchmark, run in its own process
// so that `ws` loads with or without bufferutil (WS_NO_BUFFER_UTIL) and the
// JIT state of one codec never colours another's. Prints one JSON line.
'use strict';
const { performance } = require('node:perf_hooks');
const { rows, makeFrames, splitChunks } = require('./codec-cases');

const impl = process.argv[2]; // 'wsstack' | 'ws' | 'ws+bufferutil'
const budgetMs = Number(process.env.BENCH_MS || 400);

/** Runs `fn` repeatedly for about budgetMs after a warm-up; returns ops/s. */
function time(fn) {
  for (let i = 0; i < 20; i++) fn();
  let ops = 0;
  const start = performance.now();
  let now = start;
  while (now - start < budgetMs) {
    fn();
    ops++;
    now = performance.now();
  }
  return (ops * 1000) / (now - start);
}

function wsstackDecoder() {
  const { Connection, ConnectionType } = require('@wsstack/wsproto');
  const conn = new Connection({ type: ConnectionType.SERVER, maxMessageSize: 1 << 30 });
  let received = 0;
  let pieces = [];
  return {
    feed(chunk) {
      conn.receiveData(chunk);
      for (const ev of conn.events()) {
        if (ev.type !== 'BytesMessage') throw new Error(`unexpected ${ev.type}`);
        // Assemble whole messages, as the socket layer does: no copy for one piece.
        if (ev.messageFinished && pieces.length === 0) {
          received += ev.data.length;
        } else {
          pieces.push(ev.data);
          if (ev.messageFinished) {
            received += Buffer.concat(pieces).length;
            pieces = [];
          }
        }
      }
    },
    get received() {
      return received;
    },
  };
}

function wsDecoder() {
  const Receiver = require('ws').Receiver;
  const receiver = new Receiver({ isServer: true, maxPayload: 0 });
  let received = 0;
  receiver.on('message', (data) => {
    received += data.length;
  });
  receiver.on('error', (err) => {
    throw err;
  });
  return {
    feed(chunk) {
      receiver.write(chunk);
    },
    get received() {
      return received;
    },
  };
}

function wsstackEncoder(client) {
  const { Connection, ConnectionType, BytesMessage } = require('@wsstack/wsproto');
  const conn = new Connection({ type: client ? ConnectionType.CLIENT : ConnectionType.SERVER });
  // The public sendParts, as a socket layer writes a large message: the
  // server's payload is not copied (ws's Sender.frame does the same).
  return (payload) => conn.sendParts(new BytesMessage({ data: payload })).length;
}

function wsEncoder(client) {
  const Sender = require('ws').Sender;
  return (payload) => {
    const parts = Sender.frame(payload, { fin: true, opcode: 2, mask: client, readOnly: true, rsv1: false });
    return parts.length;
  };
}

const results = [];
for (const row of rows) {
  const frames = makeFrames(row.size, row.kind === 'decode'); // masked when a server decodes
  let opsPerSec;
  let bytesPerOp;
  let messagesPerOp;
  if (row.kind === 'decode') {
    const chunks = row.feed === 'whole' ? frames.perMessage : splitChunks(frames.stream, 1460);
    const dec = impl === 'wsstack' ? wsstackDecoder() : wsDecoder();
    opsPerSec = time(() => {
      for (let i = 0; i < chunks.length; i++) dec.feed(chunks[i]);
    });
    const expected = frames.count * row.size;
    const before = dec.received;
    for (let i = 0; i < chunks.length; i++) dec.feed(chunks[i]);
    if (dec.received - before !== expected) throw new Error(`${impl} decoded ${dec.received - before} of ${expected} bytes`);
    bytesPerOp = expected;
    messagesPerOp = frames.count;
  } else {
    const client = row.kind === 'encode-masked';
    const enc = impl === 'wsstack' ? wsstackEncoder(client) : wsEncoder(client);
    const payload = Buffer.alloc(row.size, 0x61);
    const n = frames.count;
    opsPerSec = time(() => {
      for (let i = 0; i < n; i++) enc(payload);
    });
    bytesPerOp = n * row.size;
    messagesPerOp = n;
  }
  results.push({
    id: row.id,
    mbps: (opsPerSec * bytesPerOp) / 1e6,
    msgps: opsPerSec * messagesPerOp,
  });
}
process.stdout.write(JSON.stringify({ impl, results }) + '\n');

// Subscribers for `bench/topics.js`: `count` ws clients to the server, each
// reading everything (or, for the stalled ones, nothing at all).
'use strict';
const { WebSocket } = require('ws');

const [port, count] = process.argv.slice(2).map(Number);
const clients = [];
let received = 0;

async function main() {
  // A few hundred handshakes at a time: the listen backlog stays short.
  for (let i = 0; i < count; i += 200) {
    const batch = [];
    for (let j = i; j < Math.min(count, i + 200); j++) {
      batch.push(
        new Promise((resolve, reject) => {
          const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: false });
          ws.on('message', () => received++);
          ws.on('error', () => {});
          ws.once('open', () => resolve(ws));
          ws.once('error', reject);
        }),
      );
    }
    clients.push(...(await Promise.all(batch)));
  }
  process.send({ ready: clients.length });
}

process.on('message', (msg) => {
  if (msg.cmd === 'stall') {
    // Every 1/fraction-th client stops reading its socket for good.
    const step = Math.round(1 / msg.fraction);
    let stalled = 0;
    for (let i = 0; i < clients.length; i += step) {
      clients[i]._socket.pause();
      stalled++;
    }
    process.send({ stall: stalled });
  } else if (msg.cmd === 'received') {
    process.send({ received });
  }
});

main().catch((error) => {
  console.error(error);
  process.exit(1);
});

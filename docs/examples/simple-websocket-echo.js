// The socket layer without Express: an HTTP server hands upgrades to
// Server.accept, and our own Client talks to it.
'use strict';
const http = require('node:http');
const { Server, Client } = require('@wsstack/simple-websocket');

/** Starts an echo server on a free port, round-trips one message with Client, and stops. */
async function main() {
  const server = http.createServer((req, res) => res.end('a WebSocket server\n'));
  server.on('upgrade', async (req, socket, head) => {
    let ws;
    try {
      ws = await Server.accept(req, socket, head);
    } catch {
      return; // a bad request: already answered (400/426/...) and closed
    }
    for await (const message of ws) await ws.send(message);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));

  const ws = await Client.connect(`ws://127.0.0.1:${server.address().port}/echo?x=1`);
  await ws.send('hello, socket layer');
  const echoed = await ws.receive({ timeout: 5000 });
  await ws.close(1000, 'done');
  server.close();
  return { echoed, code: ws.closeCode };
}

module.exports = { main };
if (require.main === module) main().then((result) => console.log(result));

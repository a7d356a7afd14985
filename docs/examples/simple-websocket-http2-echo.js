// WebSockets over HTTP/2 (RFC 8441): an http2 server hands CONNECT streams
// to Server.accept, and our own Client opens two WebSockets on one session.
'use strict';
const http2 = require('node:http2');
const { Server, Client } = require('@wsstack/simple-websocket');

/** Starts an h2c echo server on a free port, round-trips one message on each of two sockets, and stops. */
async function main() {
  // Extended CONNECT must be enabled in the server's SETTINGS, or clients may not use it.
  const server = http2.createServer({ settings: { enableConnectProtocol: true } });
  const sessions = new Set();
  server.on('session', (session) => sessions.add(session));
  server.on('stream', async (stream, headers) => {
    if (headers[':method'] !== 'CONNECT') {
      stream.respond({ ':status': 200 });
      stream.end('a WebSocket server\n');
      return;
    }
    let ws;
    try {
      ws = await Server.accept(stream, headers);
    } catch {
      return; // a bad request: already answered (400/405/...) and the stream ended
    }
    for await (const message of ws) await ws.send(message);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));

  const url = `ws://127.0.0.1:${server.address().port}/echo`;
  const first = await Client.connect(url, { http2: true });
  const second = await Client.connect(url, { http2: true }); // the same session, a second stream
  await first.send('hello over HTTP/2');
  await second.send('and again');
  const echoed = [await first.receive({ timeout: 5000 }), await second.receive({ timeout: 5000 })];
  await Promise.all([first.close(1000, 'done'), second.close(1000, 'done')]);
  for (const session of sessions) session.close();
  server.close();
  return { echoed, code: first.closeCode, sessions: sessions.size };
}

module.exports = { main };
if (require.main === module) main().then((result) => console.log(result));

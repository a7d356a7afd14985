// An echo server on a bare node:net socket, with the sans-IO core doing all
// the protocol work: this file does the I/O, WSConnection says what it means.
'use strict';
const net = require('node:net');
const {
  WSConnection, ConnectionType, Request, AcceptConnection, RejectConnection,
  TextMessage, BytesMessage, Ping, CloseConnection, RemoteProtocolError,
} = require('@wsstack/wsproto');

function handle(socket) {
  const ws = new WSConnection(ConnectionType.SERVER);
  socket.on('data', (chunk) => {
    try {
      ws.receiveData(chunk);
    } catch (error) {
      // A bad handshake: the core says which HTTP refusal to send.
      if (error instanceof RemoteProtocolError && error.eventHint instanceof RejectConnection) {
        socket.end(ws.send(error.eventHint));
      } else socket.destroy();
      return;
    }
    for (const event of ws.events()) {
      if (event instanceof Request) socket.write(ws.send(new AcceptConnection()));
      else if (event instanceof TextMessage || event instanceof BytesMessage) socket.write(ws.send(event));
      else if (event instanceof Ping) socket.write(ws.send(event.response()));
      else if (event instanceof CloseConnection) {
        socket.end(ws.send(event.response()));
        return;
      }
    }
  });
  socket.on('end', () => ws.receiveData(null));
  socket.on('error', () => socket.destroy());
}

/** Starts the server on a free port, echoes one message for a `ws` client, and stops. */
async function main() {
  const server = net.createServer(handle);
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { WebSocket } = require('ws');
  const client = new WebSocket(`ws://127.0.0.1:${server.address().port}/`);
  await new Promise((resolve, reject) => client.once('open', resolve).once('error', reject));
  const reply = new Promise((resolve) => client.once('message', (data) => resolve(String(data))));
  client.send('hello, core');
  const echoed = await reply;
  const closed = new Promise((resolve) => client.once('close', resolve));
  client.close(1000);
  const code = await closed;
  server.close();
  return { echoed, code };
}

module.exports = { main, handle };
if (require.main === module) main().then((result) => console.log(result));

// The bytes and the trace of docs/callstack.md, made again: the demo's /echo
// on 127.0.0.1, and a client that is the sans-IO core on a bare socket with
// RFC 6455's own examples for its random bytes: the nonce "the sample nonce"
// (Sec-WebSocket-Key dGhlIHNhbXBsZSBub25jZQ==, section 4.2.2) and the masking
// key 37 fa 21 3d (section 5.7). Same key, same bytes, every run:
//
//   npm run build && node docs/examples/callstack-trace.js
//
// PORT=3000 makes the Host header the walkthrough's too.
'use strict';
const net = require('node:net');
const { WSConnection, ConnectionType, Request, TextMessage, CloseConnection } = require('@wsstack/wsproto');
const { enableTrace, disableTrace } = require('@wsstack/express-sock');
const { createApp } = require('../../examples/demo/app.js');

/** RFC 6455's example random bytes: 16 for the nonce, 4 for each mask key. */
function rfcExamples(buffer) {
  buffer.set(buffer.length === 16 ? Buffer.from('the sample nonce') : [0x37, 0xfa, 0x21, 0x3d]);
}

/** Resolves once `test` holds for one of the lines, checked as each arrives. */
function waitFor(lines, test) {
  return new Promise((resolve) => {
    const poll = () => (lines.some(test) ? resolve() : setImmediate(poll));
    poll();
  });
}

/** Runs handshake, `Hello` and back, and the client's close 1000 `bye`; returns the trace, phase by phase. */
async function main(port = Number(process.env.PORT || 0)) {
  const server = createApp().listen(port, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const lines = [];
  enableTrace((line) => lines.push(line));

  const ws = new WSConnection(ConnectionType.CLIENT, { random: rfcExamples });
  const socket = net.connect(server.address().port, '127.0.0.1');
  const events = [];
  socket.on('data', (chunk) => {
    ws.receiveData(chunk);
    for (const event of ws.events()) events.push(event);
  });
  const next = (type) => waitFor(events, (e) => e.type === type).then(() => events.splice(0));
  const phases = [];
  const phase = (name) => phases.push(`--- ${name}`, ...lines.splice(0));

  socket.write(ws.send(new Request({ host: `127.0.0.1:${server.address().port}`, target: '/echo' })));
  await next('AcceptConnection');
  phase('handshake');

  socket.write(ws.send(new TextMessage({ data: 'Hello' })));
  await next('TextMessage');
  phase('message');

  socket.write(ws.send(new CloseConnection({ code: 1000, reason: 'bye' })));
  await next('CloseConnection');
  socket.end(); // the server's close answered ours: the closing handshake is done
  await waitFor(lines, (line) => line.startsWith('server') && line.includes('SocketConnection.onClose'));
  phase('close');

  disableTrace();
  await new Promise((resolve) => server.close(resolve));
  return phases;
}

module.exports = { main, rfcExamples };
if (require.main === module) main().then((phases) => console.log(phases.join('\n')));

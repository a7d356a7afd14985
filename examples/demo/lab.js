// The lab: frames a browser's WebSocket API cannot send (a fragmented
// message, a ping, invalid UTF-8, a message over the size limit, a close
// with any code, an unmasked frame), sent to the demo's own /echo by a raw
// client on a bare socket, so a visitor can watch what each layer of the
// server makes of them. The client is the sans-IO core where it plays by
// the rules, and bytes written by hand where it must not.
'use strict';
const net = require('node:net');
const { randomFillSync } = require('node:crypto');
const { WSConnection, ConnectionType, ConnectionState, Request, TextMessage, Ping, CloseConnection, isValidCloseCode } = require('@wsstack/wsproto');
const { DEFAULTS } = require('@wsstack/simple-websocket');

/** How long a case may take before its socket is dropped. */
const CASE_TIMEOUT = 5000;

/**
 * A client frame written by hand (RFC 6455 5.2): FIN and opcode, MASK and
 * the length (7, 16 or 64 bits), a fresh masking key, the payload XORed
 * with it. `announce` claims a length other than the payload's.
 */
function handFrame(opcode, payload, { mask = true, announce = payload.length } = {}) {
  const lengthBytes = announce < 126 ? 0 : announce < 65536 ? 2 : 8;
  const head = Buffer.alloc(2 + lengthBytes + (mask ? 4 : 0));
  head[0] = 0x80 | opcode;
  head[1] = (mask ? 0x80 : 0) | (lengthBytes === 0 ? announce : lengthBytes === 2 ? 126 : 127);
  if (lengthBytes === 2) head.writeUInt16BE(announce, 2);
  if (lengthBytes === 8) head.writeBigUInt64BE(BigInt(announce), 2);
  const body = Buffer.from(payload);
  if (mask) {
    const key = randomFillSync(head.subarray(head.length - 4));
    for (let i = 0; i < body.length; i++) body[i] ^= key[i % 4];
  }
  return Buffer.concat([head, body]);
}

/** Each case: a title for the page, and what the client does once the connection is open. */
const CASES = {
  fragmented: {
    title: 'a text message in three frames',
    async run(lab) {
      lab.note('sends "Hello, fragmented world" as three frames: text with FIN=0, continuation FIN=0, continuation FIN=1');
      lab.send(new TextMessage({ data: 'Hello, ', messageFinished: false }));
      lab.send(new TextMessage({ data: 'fragmented ', messageFinished: false }));
      lab.send(new TextMessage({ data: 'world', messageFinished: true }));
      await lab.next('TextMessage');
      lab.send(new CloseConnection({ code: 1000, reason: 'done' }));
    },
  },
  ping: {
    title: 'a ping',
    async run(lab) {
      lab.note('sends a ping; RFC 6455 5.5.2 says the server must answer with a pong carrying the same payload');
      lab.send(new Ping({ payload: Buffer.from('are you there?') }));
      await lab.next('Pong');
      lab.send(new CloseConnection({ code: 1000, reason: 'done' }));
    },
  },
  'invalid-utf8': {
    title: 'a text frame that is not UTF-8',
    async run(lab) {
      // "κόσμε" then ed a0 80: the UTF-8 form of a UTF-16 surrogate, which UTF-8 forbids.
      const payload = Buffer.from('cebae1bdb9cf83cebcceb5eda080', 'hex');
      lab.write(handFrame(0x1, payload), 'writes by hand a text frame whose payload is "κόσμε" and then ed a0 80, a surrogate that UTF-8 forbids (the core would never send it)');
      await lab.closed;
    },
  },
  oversized: {
    title: 'a message over the size limit',
    async run(lab) {
      const limit = DEFAULTS.maxMessageSize;
      lab.write(
        handFrame(0x2, Buffer.alloc(16), { announce: limit + 1 }),
        `writes by hand a binary frame header that announces ${limit + 1} bytes, one over the server's maxMessageSize, and 16 bytes of it`,
      );
      await lab.closed;
    },
  },
  unmasked: {
    title: 'an unmasked frame',
    async run(lab) {
      lab.write(handFrame(0x1, Buffer.from('Hello'), { mask: false }), 'writes by hand a text frame with MASK=0: RFC 6455 5.1 says a client must mask every frame');
      await lab.closed;
    },
  },
  close: {
    title: 'a close with a code',
    async run(lab, code) {
      const reason = 'the lab closes';
      if (isValidCloseCode(code)) {
        lab.note(`closes with code ${code}`);
        lab.send(new CloseConnection({ code, reason }));
      } else {
        const payload = Buffer.alloc(2 + Buffer.byteLength(reason));
        payload.writeUInt16BE(code, 0);
        payload.write(reason, 2);
        lab.closedByHand = true;
        lab.write(handFrame(0x8, payload), `writes by hand a close frame with code ${code}, which the core refuses to send (RFC 6455 7.4 does not allow it on the wire)`);
      }
      await lab.closed;
    },
  },
};

/**
 * Runs one case against ws://host:port/echo. `cookie` goes with the
 * handshake (the inspector files the server's side of it under the
 * visitor's session); `onClient(ws, socket)` sees the client's core before
 * it sends anything; `note(ws, detail, bytes)` tells the page what the lab
 * does. Resolves with what came back.
 */
async function runLab(name, { host, port, cookie, code = 4000, onClient = () => {}, note = () => {} }) {
  const spec = CASES[name];
  if (spec === undefined) throw new Error(`no lab case ${JSON.stringify(name)}`);
  const ws = new WSConnection(ConnectionType.CLIENT);
  const socket = net.connect(port, host);
  onClient(ws, socket);
  const seen = [];
  let wake = () => {};
  let closeEvent = null;
  const lab = {
    closedByHand: false,
    closed: new Promise((resolve) => socket.once('close', resolve)),
    note: (detail, bytes) => note(ws, detail, bytes),
    send: (event) => socket.write(ws.send(event)),
    write(bytes, detail) {
      note(ws, detail, bytes);
      socket.write(bytes);
    },
    /** Resolves at the next event of `type`; rejects if the connection closes first. */
    next: (type) =>
      new Promise((resolve, reject) => {
        wake = () => {
          const event = seen.find((e) => e.type === type);
          if (event) resolve(event);
          else if (closeEvent || socket.destroyed) reject(new Error(`closed before a ${type} came`));
        };
        wake();
      }),
  };
  socket.on('data', (chunk) => {
    try {
      ws.receiveData(chunk);
    } catch {
      socket.destroy(); // a handshake reply the core rejects: nothing to say back
      return;
    }
    for (const event of ws.events()) {
      seen.push(event);
      if (event.type !== 'CloseConnection') continue;
      closeEvent = event;
      // The server closed first (or answered ours): reply if we owe it, then end.
      if (ws.state === ConnectionState.REMOTE_CLOSING && !lab.closedByHand) socket.write(ws.send(event.response()));
      socket.end();
    }
    wake();
  });
  socket.on('error', () => {});
  socket.on('close', () => wake());
  const timer = setTimeout(() => socket.destroy(), CASE_TIMEOUT);
  try {
    const authority = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`; // an IPv6 address goes in brackets
    socket.write(ws.send(new Request({ host: authority, target: '/echo', extraHeaders: [['Cookie', cookie]] })));
    await lab.next('AcceptConnection');
    await spec.run(lab, code);
    await lab.closed;
  } finally {
    clearTimeout(timer);
    socket.destroy();
  }
  const replies = seen.filter((e) => e.type === 'TextMessage' || e.type === 'BytesMessage' || e.type === 'Pong');
  return {
    name,
    title: spec.title,
    replies: replies.map((e) => (e.type === 'TextMessage' ? `TextMessage ${JSON.stringify(e.data)}` : `${e.type} ${Buffer.from(e.data ?? e.payload).toString()}`)),
    close: closeEvent === null ? null : { code: closeEvent.code, reason: closeEvent.reason },
  };
}

module.exports = { runLab, handFrame, CASES };

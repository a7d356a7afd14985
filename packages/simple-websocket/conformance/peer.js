// The two arrangements a case runs in, over 127.0.0.1: the peer plays the
// client against our Server, or the server against our Client. Around ours
// sits the same application: echo every message until the close.
'use strict';
const net = require('node:net');
const crypto = require('node:crypto');
const { Server, Client } = require('@wsstack/simple-websocket');
const { frame, FrameReader, Deflater, Inflater } = require('./wire');

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

async function echo(ws) {
  try {
    for await (const message of ws) await ws.send(message);
  } catch {
    // abnormal closes are what many cases provoke; the peer checks the wire
  }
}

/** Parses `permessage-deflate; a; b=1` into { a: true, b: '1' }. */
function params(header) {
  const out = {};
  for (const part of header.split(';').slice(1)) {
    const [k, v] = part.trim().split('=');
    if (k) out[k] = v === undefined ? true : v.replace(/"/g, '');
  }
  return out;
}

/** One connection from the peer's side: frames out, events in. */
class PeerConnection {
  constructor(socket, role, rest) {
    this.socket = socket;
    this.role = role; // 'server' when we test our Server (the peer masks)
    this.events = [];
    this.waiters = [];
    this.deflate = null;
    this.reader = new FrameReader((event) => this.onFrame(event));
    this.closed = new Promise((resolve) => socket.once('close', () => {
      this.push({ type: 'end' });
      resolve();
    }));
    socket.on('error', () => {});
    socket.on('data', (chunk) => this.reader.push(chunk));
    if (rest.length) this.reader.push(rest);
    this.inflating = Promise.resolve();
  }

  /** RFC 7692 state once negotiated: what we compress with, what we expect. */
  useDeflate({ peerWindowBits = 15, peerNoContext = false, oursNoContext = false }) {
    this.deflate = { out: new Deflater(peerWindowBits, peerNoContext), in: new Inflater(oursNoContext) };
  }

  onFrame(event) {
    if (event.type === 'message' && event.compressed) {
      // Keep order: later events wait for this message's inflation.
      const inflater = this.deflate?.in;
      this.inflating = this.inflating.then(async () => {
        if (!inflater) return this.push({ type: 'error', message: 'RSV1 without permessage-deflate' });
        try {
          this.push({ ...event, data: await inflater.decompress(event.data) });
        } catch (error) {
          this.push({ type: 'error', message: `inflate failed: ${error.message}` });
        }
      });
      return;
    }
    this.inflating = this.inflating.then(() => this.push(event));
  }

  push(event) {
    this.events.push(event);
    for (const w of this.waiters.splice(0)) w();
  }

  /** Resolves when `test(events)` holds, or after `ms` (then returns false). */
  async until(test, ms) {
    const deadline = Date.now() + ms;
    while (!test(this.events)) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return true;
  }

  /** Builds the frames of one step (compressing where asked) into bytes. */
  async encode(specs) {
    const out = [];
    for (const spec of specs) {
      if (Buffer.isBuffer(spec)) {
        out.push(spec);
        continue;
      }
      let { payload = Buffer.alloc(0), rsv = 0 } = spec;
      if (spec.compress && spec.split) {
        // One compressed message cut into frames at the given offsets, a ping after the first.
        const body = await this.deflate.out.compress(Buffer.from(payload));
        const cuts = [0, ...spec.split, body.length];
        for (let i = 0; i + 1 < cuts.length; i++) {
          const last = i + 2 === cuts.length;
          out.push(frame({ opcode: i === 0 ? spec.opcode : 0, payload: body.subarray(cuts[i], cuts[i + 1]), fin: last, rsv: i === 0 ? 4 : 0, mask: this.role === 'server' }));
          if (i === 0) out.push(frame({ opcode: 0x9, payload: Buffer.from('between'), mask: this.role === 'server' }));
        }
        continue;
      }
      if (spec.compress) {
        payload = await this.deflate.out.compress(Buffer.from(payload));
        rsv |= 4;
      }
      out.push(frame({ ...spec, payload, rsv, mask: this.role === 'server' }));
    }
    return Buffer.concat(out);
  }

  /** Writes bytes whole, or in `chunk`-byte pieces with a pause between. */
  async write(bytes, chunk, pauseMs = 0) {
    if (!chunk) {
      this.socket.write(bytes);
      return;
    }
    for (let i = 0; i < bytes.length; i += chunk) {
      this.socket.write(bytes.subarray(i, i + chunk));
      if (pauseMs) await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  }

  destroy() {
    this.socket.destroy();
  }
}

/**
 * Role 'server': our Server behind a net server; the peer connects and
 * plays the client. `offer` is the Sec-WebSocket-Extensions it sends.
 */
async function againstOurServer(options, offer) {
  const server = net.createServer(async (socket) => {
    let ws;
    try {
      ws = await Server.accept(socket, options);
    } catch {
      return;
    }
    await echo(ws);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const socket = net.connect(server.address().port, '127.0.0.1');
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  socket.write(
    `GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n` +
      (offer ? `Sec-WebSocket-Extensions: ${offer}\r\n` : '') +
      '\r\n',
  );
  const { head, rest } = await readHead(socket);
  if (!/^HTTP\/1\.1 101 /.test(head)) throw new Error(`handshake refused: ${head.split('\r\n')[0]}`);
  const peer = new PeerConnection(socket, 'server', rest);
  const ext = /sec-websocket-extensions: *([^\r]*)/i.exec(head)?.[1];
  if (offer && !ext) throw new Error('permessage-deflate was not accepted');
  if (ext) {
    const p = params(ext);
    peer.useDeflate({
      peerWindowBits: p.client_max_window_bits ? Number(p.client_max_window_bits) : 15,
      peerNoContext: !!p.client_no_context_takeover,
      oursNoContext: !!p.server_no_context_takeover,
    });
  }
  return { peer, stop: () => new Promise((resolve) => server.close(resolve)) };
}

/**
 * Role 'client': the peer is a bare net server that answers our Client's
 * handshake by hand with `response` as its Sec-WebSocket-Extensions.
 */
async function againstOurClient(options, response) {
  let accepted;
  const got = new Promise((resolve) => (accepted = resolve));
  const server = net.createServer(async (socket) => {
    const { head, rest } = await readHead(socket);
    const key = /sec-websocket-key: *([^\r]*)/i.exec(head)?.[1] ?? '';
    const accept = crypto.createHash('sha1').update(key + GUID).digest('base64');
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n` +
        (response ? `Sec-WebSocket-Extensions: ${response}\r\n` : '') +
        '\r\n',
    );
    accepted(new PeerConnection(socket, 'client', rest));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const connecting = Client.connect(`ws://127.0.0.1:${server.address().port}/`, options).then(echo, () => {});
  const peer = await got;
  if (response) {
    const p = params(response);
    peer.useDeflate({
      peerWindowBits: p.server_max_window_bits ? Number(p.server_max_window_bits) : 15,
      peerNoContext: !!p.server_no_context_takeover,
      oursNoContext: !!p.client_no_context_takeover,
    });
  }
  return { peer, stop: () => Promise.all([connecting, new Promise((resolve) => server.close(resolve))]) };
}

/** Reads up to the blank line; returns the head and what came after it. */
function readHead(socket) {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const onData = (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      resolve({ head: buf.subarray(0, end).toString('latin1'), rest: buf.subarray(end + 4) });
    };
    socket.on('data', onData);
    socket.once('close', () => reject(new Error('closed during the handshake')));
  });
}

module.exports = { againstOurServer, againstOurClient };

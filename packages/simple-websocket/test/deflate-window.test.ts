/**
 * The Client's permessage-deflate offer (issue 16, item 6): like browsers
 * and `ws`, it offers `client_max_window_bits` without a value, so a server
 * may choose a smaller client window instead of refusing the extension.
 * Against `ws` servers that answer `client_max_window_bits=9` and
 * `server_max_window_bits=9`, and against our own Server, with compressed
 * messages both ways.
 */
import type { WebSocket } from 'ws';
import { Client, type Server } from '../src';
import { randomPayload, response101, startHandServer, startOurServer, startWsServer, type Closable } from './helpers';

/**
 * Messages that need the negotiated windows: the same 1 KiB twice, so the
 * second can point 1,024 bytes back (outside a 9-bit, 512-byte window), and
 * text over the compression threshold.
 */
function messages(): Array<string | Buffer> {
  const block = randomPayload(1024);
  return [block, Buffer.from(block), 'compressible text, '.repeat(200), Buffer.concat([block, block, block])];
}

function same(a: string | Uint8Array | undefined, b: string | Buffer): boolean {
  return typeof b === 'string' ? a === b : a instanceof Uint8Array && Buffer.from(a).equals(b);
}

describe('permessage-deflate window negotiation', () => {
  const closables: Closable[] = [];
  afterEach(async () => {
    for (const c of closables.splice(0)) await c.close();
  });

  test('the default offer carries client_max_window_bits without a value', async () => {
    const server = await startHandServer((socket, request) => socket.end(response101(request)));
    closables.push(server);
    const client = await Client.connect(server.url, { perMessageDeflate: true });
    expect(server.requests[0]).toMatch(/\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n/);
    client.socket.destroy();
  });

  test.each([
    ['client_max_window_bits=9', { clientMaxWindowBits: 9 }],
    ['server_max_window_bits=9', { serverMaxWindowBits: 9 }],
  ] as const)('a ws server that answers %s: negotiated, messages compressed both ways', async (answer, deflate) => {
    const server = await startWsServer({ perMessageDeflate: { ...deflate, threshold: 0 } });
    closables.push(server);
    const response = new Promise<string[]>((resolve) => server.wss.once('headers', (headers: string[]) => resolve([...headers])));
    const closes: number[] = [];
    server.wss.on('connection', (peer: WebSocket) => {
      peer.on('message', (data: Buffer, isBinary: boolean) => peer.send(isBinary ? data : data.toString()));
      peer.on('close', (code: number) => closes.push(code));
    });
    const client = await Client.connect(server.url, { perMessageDeflate: true });
    expect((await response).find((h) => /^sec-websocket-extensions:/i.test(h))).toBe(`Sec-WebSocket-Extensions: permessage-deflate; ${answer}`);
    // Compressed on the wire both ways (RSV1 on what arrives).
    let compressedIn = 0;
    client.socket.on('data', (chunk: Buffer) => {
      if ((chunk[0] & 0x40) !== 0) compressedIn++;
    });
    for (const message of messages()) {
      await client.send(message);
      expect(same(await client.receive({ timeout: 5000 }), message)).toBe(true);
    }
    expect(compressedIn).toBeGreaterThan(0);
    // ws inflates our messages with the window it granted and never failed the connection.
    expect(closes).toEqual([]);
    await client.close();
  });

  test('our Server with clientMaxWindowBits 9 grants it to our Client: messages both ways', async () => {
    let accepted!: (ws: Server) => void;
    const serverWs = new Promise<Server>((resolve) => (accepted = resolve));
    const server = await startOurServer('raw', async (ws) => {
      accepted(ws);
      for await (const message of ws) await ws.send(message);
    }, { perMessageDeflate: { clientMaxWindowBits: 9, threshold: 0 } });
    closables.push(server);
    const client = await Client.connect(server.url, { perMessageDeflate: { threshold: 0 } });
    expect((await serverWs).request.extensions).toEqual(['permessage-deflate; client_max_window_bits']);
    for (const message of messages()) {
      await client.send(message);
      expect(same(await client.receive({ timeout: 5000 }), message)).toBe(true);
    }
    await client.close();
  });
});

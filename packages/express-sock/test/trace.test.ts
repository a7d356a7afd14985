/**
 * The trace shows the call stack of docs/callstack.md running: one echo
 * round trip through app.ws lists each layer crossing in the documented
 * order, every line names its connection and role, and the steps the
 * walkthrough describes (a 404 for an unrouted upgrade, the client's checks
 * of the 101) are there. Real sockets on 127.0.0.1.
 */
import type { Server as HttpServer } from 'node:http';
import express from 'express';
import { Client, type Server } from '@wsstack/simple-websocket';
import { Sock, enableTrace, disableTrace, traceId, type TraceRecord } from '../src/index';
import { close, closed, connect, listening, nextMessage, port } from './helpers';

/** A line's connection, `server#3`. */
const who = (line: string): string => line.slice(0, line.indexOf(' '));
/** `layer function` of each line, the connection and the detail dropped. */
const steps = (lines: string[]): string[] => lines.map((line) => line.slice(line.indexOf(' ') + 1, line.indexOf(':')));
const hex = (bytes: Uint8Array | null): string => Buffer.from(bytes ?? []).toString('hex');

/** True when `want` appears in `have` in order (other steps may come between). */
function inOrder(have: string[], want: string[]): boolean {
  let i = 0;
  for (const step of have) if (step === want[i]) i++;
  return i === want.length;
}

async function until(ok: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !ok(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
}

describe('the trace', () => {
  let server: HttpServer;
  let url: string;
  const lines: string[] = [];
  const records: TraceRecord[] = [];
  /** The handler's side of each /echo connection, as it started. */
  const accepted: Server[] = [];

  beforeAll(async () => {
    const app = express();
    new Sock(app);
    app.ws('/echo', async (ws) => {
      accepted.push(ws);
      for await (const message of ws) await ws.send(message);
    });
    app.ws('/private', (_req, res, next) => {
      if (_req.headers.authorization === undefined) res.status(401).send('who are you?');
      else next();
    }, async () => {});
    server = await listening(app.listen(0, '127.0.0.1'));
    url = `ws://127.0.0.1:${port(server)}`;
  });
  afterAll(async () => {
    disableTrace();
    await close(server);
  });
  beforeEach(() => {
    lines.length = 0;
    records.length = 0;
    enableTrace((line, record) => {
      lines.push(line);
      records.push(record);
    });
  });
  afterEach(() => disableTrace());

  test('one echo round trip crosses the layers in the documented order', async () => {
    const ws = await connect(`${url}/echo`);
    const handshake = lines.splice(0);
    ws.send('Hello');
    expect(await nextMessage(ws)).toBe('Hello');
    const messageLines = lines.splice(0);
    ws.close(1000, 'bye');
    expect((await closed(ws)).code).toBe(1000);
    // The server side finishes its close after the client saw the echo.
    await until(() => lines.some((l) => l.includes('simple-websocket SocketConnection.onClose')));
    const closing = lines.splice(0);
    disableTrace();

    // One connection, the server's end of it (the peer is `ws`, which we do not trace).
    const name = who(handshake[0]);
    expect(name).toMatch(/^server#\d+$/);
    for (const line of [...handshake, ...messageLines, ...closing]) expect(who(line)).toBe(name);
    expect(name).toBe(`server#${traceId(accepted[accepted.length - 1])}`);

    expect(inOrder(steps(handshake), [
      'express-sock dispatch',
      'simple-websocket Server.accept',
      'wsproto WSConnection.initiateUpgradeConnection',
      'wsproto Handshake.acceptRequest',
      'simple-websocket Base.handleEvent',
      'wsproto WSConnection.send',
      'wsproto generateAcceptToken',
      'wsproto Handshake.sendAccept',
      'simple-websocket SocketWriter.writeNow',
      'express-sock Sock.run',
    ])).toBe(true);
    expect(inOrder(steps(messageLines), [
      'simple-websocket SocketConnection.onData',
      'wsproto WSConnection.receiveData',
      'wsproto FrameDecoder.readHeader',
      'wsproto Connection.nextEvent',
      'simple-websocket Base.handleEvent',
      'simple-websocket MessageQueue.push',
      'simple-websocket Base.send',
      'wsproto WSConnection.send',
      'wsproto FrameProtocol.sendData',
      'simple-websocket SocketWriter.write',
    ])).toBe(true);
    expect(inOrder(steps(closing), [
      'simple-websocket SocketConnection.onData',
      'wsproto WSConnection.receiveData',
      'wsproto FrameDecoder.readHeader',
      'wsproto Connection.nextEvent',
      'simple-websocket Base.handleEvent',
      'wsproto WSConnection.send',
      'wsproto FrameProtocol.close',
      'simple-websocket SocketWriter.write',
      'simple-websocket SocketConnection.onClose',
    ])).toBe(true);
    // The lines carry what crossed: the parsed header and the server's frame bytes.
    expect(messageLines).toContain(`${name} wsproto FrameDecoder.readHeader: FIN=1 RSV=0 opcode=1 MASK=1 length=5`);
    expect(messageLines).toContain(`${name} wsproto FrameProtocol.sendData: 7 B 81 05 48 65 6c 6c 6f`);
    expect(closing).toContain(`${name} wsproto Connection.nextEvent: CloseConnection 1000 "bye"`);
  });

  test('two ends in one process: each line names its connection and role', async () => {
    const client = await Client.connect(`${url}/echo`);
    await client.send('Hello');
    expect(await client.receive()).toBe('Hello');
    await client.close();
    await until(() => records.filter((r) => r.fn === 'SocketConnection.onClose').length === 2);
    const serverEnd = accepted[accepted.length - 1];

    const clientId = traceId(client);
    const serverId = traceId(serverEnd);
    expect(clientId).not.toBe(serverId);
    // Every record is one of the two, and the role goes with the id.
    for (const record of records) {
      expect([clientId, serverId]).toContain(record.conn);
      expect(record.role).toBe(record.conn === clientId ? 'client' : 'server');
    }
    for (const line of lines) expect(who(line)).toMatch(new RegExp(`^(client#${clientId}|server#${serverId})$`));
    // The mask bit is no longer the only way to tell the directions apart.
    const headers = records.filter((r) => r.fn === 'FrameDecoder.readHeader' && r.detail.includes('opcode=1'));
    expect(headers.map((r) => [r.role, r.detail.includes('MASK=1')])).toEqual([['server', true], ['client', false]]);
  });

  test('records carry the bytes that crossed, copied before the core unmasks them', async () => {
    const client = await Client.connect(`${url}/echo`);
    records.length = 0;
    await client.send('Hello');
    expect(await client.receive()).toBe('Hello');
    const serverId = traceId(accepted[accepted.length - 1]);
    const mine = (fn: string, conn: number) => records.find((r) => r.fn === fn && r.conn === conn)!;

    const written = mine('SocketWriter.write', traceId(client));
    expect(written.bytes!.length).toBe(11); // 2 header bytes, a 4-byte key, 5 masked bytes
    // The server saw the same masked bytes (its chunk was unmasked in place afterwards).
    expect(hex(mine('SocketConnection.onData', serverId).bytes)).toBe(hex(written.bytes));
    expect(hex(mine('FrameDecoder.readHeader', serverId).bytes)).toBe(hex(written.bytes));
    expect(mine('FrameDecoder.readHeader', serverId).size).toBe(11);
    expect(hex(mine('FrameProtocol.sendData', serverId).bytes)).toBe('810548656c6c6f');
    await client.close();
  });

  test('an upgrade no route takes is traced: the 404, and the socket ending', async () => {
    await expect(connect(`${url}/nowhere`)).rejects.toMatchObject({ statusCode: 404 });
    await until(() => lines.some((l) => l.includes('answered HTTP 404')));
    const mine = lines.filter((l) => l.includes('express-sock dispatch'));
    expect(mine.map((l) => l.slice(l.indexOf(':') + 2))).toEqual([
      'upgrade GET /nowhere through Express',
      'no route took /nowhere: 404 Not Found',
      'answered HTTP 404 instead of upgrading; the socket ends',
    ]);
    expect(new Set(mine.map(who)).size).toBe(1);
  });

  test("a middleware's refusal is traced with its status", async () => {
    await expect(connect(`${url}/private`)).rejects.toMatchObject({ statusCode: 401 });
    await until(() => lines.some((l) => l.includes('answered HTTP 401')));
    expect(lines.some((l) => /^server#\d+ express-sock dispatch: answered HTTP 401 instead of upgrading/.test(l))).toBe(true);
  });

  test("the Client's checks of the server's reply are traced", async () => {
    const client = await Client.connect(`${url}/echo`);
    const id = traceId(client);
    const mine = lines.filter((l) => who(l) === `client#${id}`);
    expect(inOrder(steps(mine), [
      // The request is planned (and every option checked) before any I/O.
      'wsproto WSConnection.send',
      'wsproto Handshake.sendRequest',
      'simple-websocket Client.connect',
      'simple-websocket SocketWriter.writeNow',
      'simple-websocket SocketConnection.onData',
      'wsproto WSConnection.receiveData',
      'wsproto Handshake.receiveResponse',
      'wsproto Handshake.acceptResponse',
      'simple-websocket Client.handleHandshakeEvent',
    ])).toBe(true);
    const sent = mine.find((l) => l.includes('Handshake.sendRequest'))!;
    const token = /must answer (\S+)/.exec(sent)![1];
    expect(mine).toContain(`client#${id} wsproto Handshake.acceptResponse: checkResponse passes RFC 6455 4.1: Sec-WebSocket-Accept ${token} answers our key; subprotocol none`);
    expect(mine).toContain(`client#${id} simple-websocket Client.handleHandshakeEvent: AcceptConnection: connect() resolves`);
    await client.close();
  });

  test('a refused Client traces the refusal it read', async () => {
    await expect(Client.connect(`${url}/nowhere`)).rejects.toMatchObject({ statusCode: 404 });
    expect(lines.some((l) => /^client#\d+ wsproto Handshake\.receiveResponse: HTTP 404/.test(l))).toBe(true);
    expect(lines.some((l) => /^client#\d+ simple-websocket Client\.handleHandshakeEvent: RejectConnection 404: refused/.test(l))).toBe(true);
  });

  test('with no sink installed, nothing is traced', async () => {
    disableTrace();
    const ws = await connect(`${url}/echo`);
    ws.send('quiet');
    expect(await nextMessage(ws)).toBe('quiet');
    ws.close();
    await closed(ws);
    expect(lines).toEqual([]);
  });
});

/**
 * The trace shows the call stack of docs/callstack.md running: one echo
 * round trip through app.ws lists each layer crossing in the documented order.
 */
import type { Server as HttpServer } from 'node:http';
import express from 'express';
import { Sock, enableTrace, disableTrace } from '../src/index';
import { close, closed, connect, listening, nextMessage, port } from './helpers';

/** `layer function` of each line, the detail dropped. */
const steps = (lines: string[]): string[] => lines.map((line) => line.slice(0, line.indexOf(':')));

/** True when `want` appears in `have` in order (other steps may come between). */
function inOrder(have: string[], want: string[]): boolean {
  let i = 0;
  for (const step of have) if (step === want[i]) i++;
  return i === want.length;
}

describe('the trace', () => {
  let server: HttpServer;
  const lines: string[] = [];

  beforeAll(async () => {
    const app = express();
    new Sock(app);
    app.ws('/echo', async (ws) => {
      for await (const message of ws) await ws.send(message);
    });
    server = await listening(app.listen(0, '127.0.0.1'));
  });
  afterAll(async () => {
    disableTrace();
    await close(server);
  });

  test('one echo round trip crosses the layers in the documented order', async () => {
    enableTrace((line) => lines.push(line));
    const ws = await connect(`ws://127.0.0.1:${port(server)}/echo`);
    const handshake = steps(lines.splice(0));
    ws.send('Hello');
    expect(await nextMessage(ws)).toBe('Hello');
    const messageLines = lines.splice(0);
    const message = steps(messageLines);
    ws.close(1000, 'bye');
    expect((await closed(ws)).code).toBe(1000);
    // The server side finishes its close after the client saw the echo.
    for (let i = 0; i < 100 && !lines.some((l) => l.startsWith('simple-websocket SocketConnection.onClose')); i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const closing = steps(lines.splice(0));
    disableTrace();

    expect(inOrder(handshake, [
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
    expect(inOrder(message, [
      'simple-websocket SocketConnection.onData',
      'wsproto WSConnection.receiveData',
      'wsproto FrameDecoder.readHeader',
      'wsproto Connection.nextEvent',
      'simple-websocket Base.handleEvent',
      'simple-websocket Base.send',
      'wsproto WSConnection.sendv',
      'wsproto FrameProtocol.sendDataParts',
      'simple-websocket SocketWriter.write',
    ])).toBe(true);
    expect(inOrder(closing, [
      'simple-websocket SocketConnection.onData',
      'wsproto WSConnection.receiveData',
      'wsproto FrameDecoder.readHeader',
      'wsproto Connection.nextEvent',
      'simple-websocket Base.handleEvent',
      'wsproto WSConnection.send',
      'simple-websocket SocketWriter.write',
      'simple-websocket SocketConnection.onClose',
    ])).toBe(true);
    // The lines carry what crossed: the parsed header and the server's frame bytes.
    expect(messageLines).toContain('wsproto FrameDecoder.readHeader: FIN=1 RSV=0 opcode=1 MASK=1 length=5');
    expect(messageLines).toContain('wsproto FrameProtocol.sendDataParts: 7 B 81 05 48 65 6c 6c 6f');
  });

  test('with no sink installed, nothing is traced', async () => {
    disableTrace();
    const before = lines.length;
    const ws = await connect(`ws://127.0.0.1:${port(server)}/echo`);
    ws.send('quiet');
    expect(await nextMessage(ws)).toBe('quiet');
    ws.close();
    await closed(ws);
    expect(lines.length).toBe(before);
  });
});

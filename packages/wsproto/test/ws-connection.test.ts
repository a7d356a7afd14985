import * as net from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import {
  AcceptConnection,
  BytesMessage,
  CloseConnection,
  ConnectionState,
  ConnectionType,
  LocalProtocolError,
  Opcode,
  Ping,
  RejectConnection,
  RejectData,
  RemoteProtocolError,
  Request,
  TextMessage,
  WSConnection,
  pairHeaders,
  type Event,
} from '@wsstack/wsproto';
import { clientFrame, concat, fixedRandom } from './helpers/frames';

/** Hands `bytes` to `to` (a copy: connections unmask in place) and collects its events. */
function deliver(to: WSConnection, bytes: Uint8Array | null): Event[] {
  to.receiveData(bytes === null ? null : Uint8Array.from(bytes));
  return [...to.events()];
}

/** A client and a server WSConnection with the handshake done in memory. */
function pair(): { client: WSConnection; server: WSConnection } {
  const client = new WSConnection(ConnectionType.CLIENT, { random: fixedRandom([1, 2, 3, 4]) });
  const server = new WSConnection(ConnectionType.SERVER);
  const requestBytes = client.send(new Request({ host: 'example.com', target: '/echo?x=1', subprotocols: ['v1.echo'] }));
  const serverEvents = deliver(server, requestBytes);
  expect(serverEvents).toHaveLength(1);
  const request = serverEvents[0] as Request;
  expect(request).toMatchObject({ host: 'example.com', target: '/echo?x=1', subprotocols: ['v1.echo'] });
  const response = server.send(new AcceptConnection({ subprotocol: 'v1.echo' }));
  expect(server.state).toBe(ConnectionState.OPEN);
  const clientEvents = deliver(client, response);
  expect(clientEvents).toEqual([expect.objectContaining({ type: 'AcceptConnection', subprotocol: 'v1.echo' })]);
  expect(client.state).toBe(ConnectionState.OPEN);
  return { client, server };
}

describe('WSConnection: a client and a server in memory', () => {
  test('handshake, a message each way, and a close started by the client', () => {
    const { client, server } = pair();

    expect(deliver(server, client.send(new TextMessage({ data: 'hello, server' })))).toEqual([
      new TextMessage({ data: 'hello, server' }),
    ]);
    const payload = Uint8Array.of(0, 1, 2, 255);
    expect(deliver(client, server.send(new BytesMessage({ data: payload })))).toEqual([new BytesMessage({ data: payload })]);

    const close = deliver(server, client.send(new CloseConnection({ code: 1000, reason: 'bye' })));
    expect(client.state).toBe(ConnectionState.LOCAL_CLOSING);
    expect(close).toEqual([new CloseConnection({ code: 1000, reason: 'bye' })]);
    expect(server.state).toBe(ConnectionState.REMOTE_CLOSING);
    const reply = server.send((close[0] as CloseConnection).response());
    expect(server.state).toBe(ConnectionState.CLOSED);
    expect(deliver(client, reply)).toEqual([new CloseConnection({ code: 1000, reason: 'bye' })]);
    expect(client.state).toBe(ConnectionState.CLOSED);
  });

  test('a close started by the server, and a ping answered on the way', () => {
    const { client, server } = pair();
    const ping = deliver(client, server.send(new Ping({ payload: Uint8Array.of(7) })));
    expect(ping).toEqual([new Ping({ payload: Uint8Array.of(7) })]);
    expect(deliver(server, client.send((ping[0] as Ping).response()))).toEqual([
      expect.objectContaining({ type: 'Pong', payload: Uint8Array.of(7) }),
    ]);

    const close = deliver(client, server.send(new CloseConnection({ code: 1001, reason: 'going away' })));
    expect(server.state).toBe(ConnectionState.LOCAL_CLOSING);
    expect(close).toEqual([new CloseConnection({ code: 1001, reason: 'going away' })]);
    expect(client.state).toBe(ConnectionState.REMOTE_CLOSING);
    expect(deliver(server, client.send((close[0] as CloseConnection).response()))).toEqual([
      new CloseConnection({ code: 1001, reason: 'going away' }),
    ]);
    expect(client.state).toBe(ConnectionState.CLOSED);
    expect(server.state).toBe(ConnectionState.CLOSED);
  });

  test('frames in the same chunk as the request arrive after Request, from the same events() loop', () => {
    const client = new WSConnection(ConnectionType.CLIENT, { random: fixedRandom([9, 9, 9, 9]) });
    const server = new WSConnection(ConnectionType.SERVER);
    const chunk = concat([
      client.send(new Request({ host: 'h', target: '/' })),
      clientFrame({ opcode: Opcode.TEXT, payload: 'first' }),
      clientFrame({ opcode: Opcode.TEXT, payload: 'second' }),
    ]);
    server.receiveData(chunk);
    const seen: Event[] = [];
    let response: Uint8Array | null = null;
    for (const event of server.events()) {
      seen.push(event);
      if (event instanceof Request) response = server.send(new AcceptConnection());
    }
    expect(seen.map((e) => e.type)).toEqual(['Request', 'TextMessage', 'TextMessage']);
    expect(seen.slice(1)).toEqual([new TextMessage({ data: 'first' }), new TextMessage({ data: 'second' })]);
    expect(deliver(client, response)).toEqual([expect.objectContaining({ type: 'AcceptConnection' })]);
  });

  test('frames in the same chunk as the 101 arrive after AcceptConnection', () => {
    const client = new WSConnection(ConnectionType.CLIENT);
    const server = new WSConnection(ConnectionType.SERVER);
    deliver(server, client.send(new Request({ host: 'h', target: '/' })));
    const chunk = concat([server.send(new AcceptConnection()), server.send(new TextMessage({ data: 'welcome' }))]);
    const events = deliver(client, chunk);
    expect(events.map((e) => e.type)).toEqual(['AcceptConnection', 'TextMessage']);
    expect(events[1]).toEqual(new TextMessage({ data: 'welcome' }));
  });

  test('frame events cannot be sent during the handshake; handshake events cannot after it', () => {
    const server = new WSConnection(ConnectionType.SERVER);
    expect(() => server.send(new TextMessage({ data: 'too early' }))).toThrow(LocalProtocolError);
    const { client, server: open } = pair();
    expect(() => client.send(new Request({ host: 'h', target: '/' }))).toThrow(LocalProtocolError);
    // Once open (and its handshake released), a second request is refused, not parsed.
    let refused: unknown;
    try {
      open.initiateUpgradeConnection(pairHeaders(['Host', 'h']), '/');
    } catch (error) {
      refused = error;
    }
    expect(refused).toBeInstanceOf(LocalProtocolError);
    expect((refused as LocalProtocolError).code).toBe('WS_BAD_STATE');
    expect(open.state).toBe(ConnectionState.OPEN);
  });

  test('a refused handshake: the server sends a 403 with a body, the client reads it', () => {
    const client = new WSConnection(ConnectionType.CLIENT);
    const server = new WSConnection(ConnectionType.SERVER);
    deliver(server, client.send(new Request({ host: 'h', target: '/private' })));
    const body = new TextEncoder().encode('go away');
    const head = server.send(
      new RejectConnection({ statusCode: 403, headers: [['Content-Length', String(body.length)]], hasBody: true }),
    );
    expect(server.state).toBe(ConnectionState.REJECTING);
    const data = server.send(new RejectData({ data: body }));
    expect(server.state).toBe(ConnectionState.CLOSED);
    const events = deliver(client, concat([head, data]));
    expect(events).toEqual([
      new RejectConnection({ statusCode: 403, headers: [['content-length', '7'], ['connection', 'close']], hasBody: true }),
      new RejectData({ data: body, bodyFinished: true }),
    ]);
    expect(client.state).toBe(ConnectionState.CLOSED);
  });

  test('a bad request: RemoteProtocolError from receiveData, state REJECTING, the hint closes it', () => {
    const server = new WSConnection(ConnectionType.SERVER);
    let hint: RejectConnection | undefined;
    try {
      server.receiveData(new TextEncoder().encode('GET / HTTP/1.1\r\nHost: h\r\n\r\n'));
    } catch (error) {
      expect(error).toBeInstanceOf(RemoteProtocolError);
      hint = (error as RemoteProtocolError).eventHint;
    }
    expect(hint?.statusCode).toBe(400);
    expect(server.state).toBe(ConnectionState.REJECTING);
    server.send(hint as RejectConnection);
    expect(server.state).toBe(ConnectionState.CLOSED);
  });

  test('initiateUpgradeConnection, then frames from the HTTP layer’s head buffer', () => {
    const server = new WSConnection(ConnectionType.SERVER);
    server.initiateUpgradeConnection(
      pairHeaders([
        'Host', 'h',
        'Upgrade', 'websocket',
        'Connection', 'Upgrade',
        'Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25jZQ==',
        'Sec-WebSocket-Version', '13',
      ]),
      '/chat?room=7',
    );
    server.receiveData(clientFrame({ opcode: Opcode.TEXT, payload: 'hi' }));
    const events: Event[] = [];
    for (const event of server.events()) {
      events.push(event);
      if (event instanceof Request) server.send(new AcceptConnection());
    }
    expect(events[0]).toMatchObject({ type: 'Request', target: '/chat?room=7' });
    expect(events.slice(1)).toEqual([new TextMessage({ data: 'hi' })]);
    expect(server.state).toBe(ConnectionState.OPEN);
  });

  test('EOF after the handshake gives the Connection’s 1006 close', () => {
    const { client } = pair();
    expect(deliver(client, null)).toEqual([new CloseConnection({ code: 1006 })]);
    expect(client.state).toBe(ConnectionState.CLOSED);
  });
});

describe('WSConnection against the ws library over a real socket (127.0.0.1)', () => {
  test('a ws client: handshake with a subprotocol, an echo, a close', async () => {
    const server = net.createServer((socket) => {
      const conn = new WSConnection(ConnectionType.SERVER);
      socket.on('data', (chunk: Buffer) => {
        conn.receiveData(chunk);
        for (const event of conn.events()) {
          if (event instanceof Request) socket.write(conn.send(new AcceptConnection({ subprotocol: event.subprotocols[1] })));
          else if (event instanceof TextMessage) socket.write(conn.send(new TextMessage({ data: `echo: ${event.data}` })));
          else if (event instanceof CloseConnection) {
            socket.end(conn.send(event.response()));
          }
        }
      });
      socket.on('error', () => socket.destroy());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    try {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/path?q=1`, ['p1', 'p2'], { perMessageDeflate: false });
      const reply = await new Promise<string>((resolve, reject) => {
        ws.on('open', () => ws.send('hi'));
        ws.on('message', (data: Buffer) => resolve(data.toString()));
        ws.on('error', reject);
      });
      expect(ws.protocol).toBe('p2');
      expect(reply).toBe('echo: hi');
      const closed = await new Promise<[number, string]>((resolve) => {
        ws.on('close', (code: number, reason: Buffer) => resolve([code, reason.toString()]));
        ws.close(1000, 'done');
      });
      expect(closed).toEqual([1000, 'done']);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  test('a ws server: the client handshake, a message, a close started by the client', async () => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
    wss.on('connection', (ws) => {
      ws.send('welcome');
      ws.on('message', (data: Buffer) => ws.send(`got ${data.toString()}`));
    });
    await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
    const { port } = wss.address() as net.AddressInfo;
    const socket = net.connect(port, '127.0.0.1');
    try {
      const conn = new WSConnection(ConnectionType.CLIENT);
      const seen: string[] = [];
      await new Promise<void>((resolve, reject) => {
        socket.on('connect', () => socket.write(conn.send(new Request({ host: `127.0.0.1:${port}`, target: '/' }))));
        socket.on('error', reject);
        socket.on('end', () => {
          conn.receiveData(null);
          for (const event of conn.events()) seen.push(event.type);
        });
        socket.on('close', () => resolve());
        socket.on('data', (chunk: Buffer) => {
          conn.receiveData(chunk);
          for (const event of conn.events()) {
            seen.push(event instanceof TextMessage ? event.data : event.type);
            if (event instanceof AcceptConnection) socket.write(conn.send(new TextMessage({ data: 'ping?' })));
            if (event instanceof TextMessage && event.data === 'got ping?') {
              socket.write(conn.send(new CloseConnection({ code: 1000, reason: 'bye' })));
            }
          }
        });
      });
      expect(seen).toEqual(['AcceptConnection', 'welcome', 'got ping?', 'CloseConnection']);
      expect(conn.state).toBe(ConnectionState.CLOSED);
    } finally {
      socket.destroy();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    }
  });
});

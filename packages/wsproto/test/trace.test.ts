/**
 * The trace hook of the core: records name their connection and role, carry
 * the bytes as they crossed, and cost nothing (not even an id) while no sink
 * is installed. In memory, with RFC 6455's own example nonce and mask key.
 */
import {
  AcceptConnection,
  BytesMessage,
  ConnectionType,
  FrameProtocol,
  RemoteProtocolError,
  Request,
  TextMessage,
  WSConnection,
  setTraceSink,
  traceId,
  type TraceRecord,
} from '@wsstack/wsproto';
import { TRACE_BYTES_MAX } from '@wsstack/wsproto/internal';
import { hex, toHex } from './helpers/frames';

/** RFC 6455's examples: the nonce "the sample nonce" (4.2.2) and the key 37 fa 21 3d (5.7). */
const rfcRandom = (buffer: Uint8Array): void => {
  buffer.set(buffer.length === 16 ? Buffer.from('the sample nonce') : [0x37, 0xfa, 0x21, 0x3d]);
};

const lines: string[] = [];
const records: TraceRecord[] = [];
beforeEach(() => {
  lines.length = 0;
  records.length = 0;
  setTraceSink((line, record) => {
    lines.push(line);
    records.push(record);
  });
});
afterEach(() => setTraceSink(null));

/** Bytes from one end to the other: a copy, as a socket would give. */
function pass(bytes: Uint8Array, to: WSConnection): void {
  to.receiveData(Uint8Array.from(bytes));
  for (let e = to.nextEvent(); e !== null; e = to.nextEvent()) if (e instanceof Request) pass(to.send(new AcceptConnection()), other.get(to)!);
}
const other = new Map<WSConnection, WSConnection>();

function pair(): { client: WSConnection; server: WSConnection } {
  const client = new WSConnection(ConnectionType.CLIENT, { random: rfcRandom });
  const server = new WSConnection(ConnectionType.SERVER);
  other.set(server, client).set(client, server);
  pass(client.send(new Request({ host: '127.0.0.1:3000', target: '/echo' })), server);
  return { client, server };
}

test('each WSConnection traces as its own connection, with its role', () => {
  const { client, server } = pair();
  pass(client.send(new TextMessage({ data: 'Hello' })), server);
  const c = traceId(client);
  const s = traceId(server);
  expect(c).not.toBe(s);
  for (const record of records) {
    expect(record.conn === c || record.conn === s).toBe(true);
    expect(record.role).toBe(record.conn === c ? 'client' : 'server');
  }
  expect(lines).toContain(`client#${c} wsproto FrameProtocol.sendData: 11 B 81 85 37 fa 21 3d 7f 9f 4d 51 58`);
  expect(lines).toContain(`server#${s} wsproto FrameDecoder.readHeader: FIN=1 RSV=0 opcode=1 MASK=1 length=5`);
});

test("the handshake's steps name the key, the token and the client's check of it", () => {
  const { client, server } = pair();
  const c = traceId(client);
  const s = traceId(server);
  expect(lines).toEqual(expect.arrayContaining([
    `client#${c} wsproto Handshake.sendRequest: GET /echo, key dGhlIHNhbXBsZSBub25jZQ== (generateNonce); the 101 must answer s3pPLMBiTxaQ9kYGzzhZRbK+xOo=`,
    `server#${s} wsproto Handshake.acceptRequest: GET /echo passes RFC 6455 4.2.1`,
    `server#${s} wsproto generateAcceptToken: dGhlIHNhbXBsZSBub25jZQ== -> s3pPLMBiTxaQ9kYGzzhZRbK+xOo=`,
    `client#${c} wsproto Handshake.receiveResponse: HTTP 101, 3 headers`,
    `client#${c} wsproto Handshake.acceptResponse: checkResponse passes RFC 6455 4.1: Sec-WebSocket-Accept s3pPLMBiTxaQ9kYGzzhZRbK+xOo= answers our key; subprotocol none`,
  ]));
  // The request's bytes and the 101's travel with their records.
  expect(Buffer.from(records.find((r) => r.fn === 'Handshake.sendRequest')!.bytes!).toString()).toMatch(/^GET \/echo HTTP\/1\.1\r\n/);
  expect(Buffer.from(records.find((r) => r.fn === 'Handshake.sendAccept')!.bytes!).toString()).toMatch(/^HTTP\/1\.1 101 Switching Protocols\r\n/);
});

test('a 101 with the wrong accept token: the failed check is traced', () => {
  const client = new WSConnection(ConnectionType.CLIENT, { random: rfcRandom });
  client.send(new Request({ host: 'h', target: '/' }));
  const reply = 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n';
  expect(() => client.receiveData(Buffer.from(reply))).toThrow(RemoteProtocolError);
  expect(lines).toContain(`client#${traceId(client)} wsproto Handshake.acceptResponse: checkResponse fails RFC 6455 4.1: the Sec-WebSocket-Accept token is wrong`);
});

test('a frame record holds the bytes as they came, masked, though the core unmasks its chunk in place', () => {
  const { client, server } = pair();
  const small = hex('81 85 37 fa 21 3d 7f 9f 4d 51 58');
  server.receiveData(small);
  expect(server.nextEvent()).toMatchObject({ data: 'Hello' });
  expect(toHex(records.find((r) => r.fn === 'FrameDecoder.readHeader')!.bytes!)).toBe('818537fa213d7f9f4d5158');
  expect(records.find((r) => r.fn === 'FrameDecoder.readHeader')!.size).toBe(11);
  // A payload past 64 bytes is unmasked in place, in the very chunk given.
  const chunk = client.send(new TextMessage({ data: 'x'.repeat(100) }));
  const wire = toHex(chunk);
  records.length = 0;
  server.receiveData(chunk);
  expect(server.nextEvent()).toMatchObject({ data: 'x'.repeat(100) });
  expect(toHex(chunk)).not.toBe(wire);
  expect(toHex(records.find((r) => r.fn === 'FrameDecoder.readHeader')!.bytes!)).toBe(wire);
});

test('a large frame is cut to TRACE_BYTES_MAX bytes, its size kept whole', () => {
  const { client, server } = pair();
  records.length = 0;
  pass(client.send(new BytesMessage({ data: new Uint8Array(5000).fill(7) })), server);
  const header = records.find((r) => r.fn === 'FrameDecoder.readHeader')!;
  expect(header.bytes!.length).toBe(TRACE_BYTES_MAX);
  expect(header.size).toBe(5000 + 8); // 2 + 2 length bytes + 4 key bytes
  expect(toHex(header.bytes!.subarray(0, 8))).toBe('82fe138837fa213d');
});

test('a sink that takes only the line still fits', () => {
  const only: string[] = [];
  setTraceSink((line) => only.push(line));
  pair();
  expect(only.length).toBeGreaterThan(5);
  expect(only[0]).toMatch(/^client#\d+ wsproto WSConnection\.send: Request \/echo$/);
});

test('after a WSConnection call throws, core classes driven on their own trace as no connection', () => {
  const server = new WSConnection(ConnectionType.SERVER);
  expect(() => server.receiveData(Buffer.from('POST / HTTP/1.1\r\nHost: h\r\n\r\n'))).toThrow(RemoteProtocolError);
  expect(lines.some((l) => l.startsWith(`server#${traceId(server)} wsproto Handshake.acceptRequest: POST / fails RFC 6455 4.2.1`))).toBe(true);
  records.length = 0;
  const proto = new FrameProtocol({ client: false });
  proto.receiveBytes(hex('81 85 37 fa 21 3d 7f 9f 4d 51 58'));
  expect(proto.nextFrame()).toMatchObject({ payload: 'Hello' });
  expect(records.map((r) => [r.conn, r.role])).toEqual([[0, null]]);
});

test('while no sink is installed a connection gets no id', () => {
  const before = pair().client;
  const first = traceId(before);
  setTraceSink(null);
  const untraced = pair(); // runs a whole handshake and more with the trace off
  pass(untraced.client.send(new TextMessage({ data: 'quiet' })), untraced.server);
  setTraceSink(() => {});
  const after = new WSConnection(ConnectionType.SERVER);
  after.receiveData(null);
  // Ids are handed out in order: the untraced pair took none.
  expect(traceId(after)).toBe(first + 2);
});

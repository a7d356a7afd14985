/**
 * A message framed once for many connections: one frame per encoding, shared
 * by every connection with that encoding, and a connection that keeps its
 * compression context stays in step with its peer after a shared frame.
 */
import { Connection, ConnectionType } from '../src/connection';
import { BytesMessage, TextMessage, type Event } from '../src/events';
import { PerMessageDeflate } from '../src/permessage-deflate';
import { PreparedMessage } from '../src/prepared-message';

/** A server-side extension as negotiated against a browser-like offer. */
function serverDeflate(init: ConstructorParameters<typeof PerMessageDeflate>[0] = {}, offer = 'client_max_window_bits'): PerMessageDeflate {
  const ext = new PerMessageDeflate(init);
  const answer = ext.accept(offer);
  if (answer === null) throw new Error('offer declined');
  return ext;
}

/** A client connection that inflates what such a server sends. */
function clientFor(response: string): Connection {
  const ext = new PerMessageDeflate();
  ext.finalize(response);
  return new Connection({ type: ConnectionType.CLIENT, extensions: [ext] });
}

function receive(conn: Connection, bytes: Uint8Array): Event[] {
  conn.receiveData(bytes);
  return [...conn.events()];
}

const text = 'the quick brown fox jumps over the lazy dog; '.repeat(60);

describe('PreparedMessage', () => {
  it('builds one plain frame, the same bytes a connection would send', () => {
    const message = new PreparedMessage('hello');
    const conn = new Connection({ type: ConnectionType.SERVER });
    expect(message.frameFor(null)).toBe(message.plain());
    expect(Buffer.from(message.plain())).toEqual(Buffer.from(conn.send(new TextMessage({ data: 'hello' }))));
    expect(message.encodings).toBe(1);
  });

  it('keeps binary binary and text text', () => {
    const client = new Connection({ type: ConnectionType.CLIENT });
    const events = receive(client, Buffer.concat([new PreparedMessage(new Uint8Array([1, 2, 3])).plain(), new PreparedMessage('é').plain()]));
    expect(events[0]).toBeInstanceOf(BytesMessage);
    expect([...(events[0] as BytesMessage).data]).toEqual([1, 2, 3]);
    expect(events[1]).toBeInstanceOf(TextMessage);
    expect((events[1] as TextMessage).data).toBe('é');
  });

  it('compresses once per (window bits, level) and shares the frame between connections', () => {
    const message = new PreparedMessage(text);
    const a = serverDeflate();
    const b = serverDeflate();
    const narrow = serverDeflate({}, 'server_max_window_bits=10');
    const frameA = message.frameFor(a);
    expect(message.frameFor(b)).toBe(frameA);
    const frameNarrow = message.frameFor(narrow);
    expect(frameNarrow).not.toBe(frameA);
    expect(frameA[0] & 0x40).toBe(0x40); // RSV1: compressed
    expect(frameA.length).toBeLessThan(text.length / 4);
    expect(message.encodings).toBe(2);
    for (const [frame, response] of [
      [frameA, 'client_max_window_bits=15'],
      [frameNarrow, 'server_max_window_bits=10'],
    ] as const) {
      const [event] = receive(clientFor(response), frame);
      expect((event as TextMessage).data).toBe(text);
    }
  });

  it('sends a message under the threshold plain to a deflate connection', () => {
    const message = new PreparedMessage('short');
    expect(message.frameFor(serverDeflate())).toBe(message.plain());
  });

  it.each([false, true])('keeps a connection in step with its peer around a shared frame (no context takeover: %s)', (reset) => {
    const ext = serverDeflate({ serverNoContextTakeover: reset });
    const server = new Connection({ type: ConnectionType.SERVER, extensions: [ext] });
    const client = clientFor(reset ? 'server_no_context_takeover' : '');
    const own = 'our own message, said twice over the same window: '.repeat(40);
    const published = 'a published message in between, nothing like the others 0123456789 '.repeat(30);
    const bytes = Buffer.concat([
      server.send(new TextMessage({ data: own })),
      new PreparedMessage(published).frameFor(ext),
      // Compressed against a window that must now hold the published text too.
      server.send(new TextMessage({ data: own })),
    ]);
    const events = receive(client, bytes);
    expect(events.map((event) => (event as TextMessage).data)).toEqual([own, published, own]);
  });
});

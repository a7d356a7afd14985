/**
 * The encoder's fast paths: gathered sends (`sendParts`) that never copy an
 * unmasked payload, and mask keys drawn from a pooled random source.
 */
import { Connection, ConnectionType } from '../src/connection';
import { BytesMessage, Ping, TextMessage } from '../src/events';

const concat = (parts: Uint8Array[]) => Buffer.concat(parts);

describe('Connection.sendParts', () => {
  it.each([
    [16, [0x82, 16]],
    [16384, [0x82, 126, 0x40, 0x00]],
    [70000, [0x82, 127, 0, 0, 0, 0, 0, 0x01, 0x11, 0x70]],
  ])('returns an unmasked %i-byte payload beside its header, without copying it', (size, header) => {
    const server = new Connection({ type: ConnectionType.SERVER });
    const payload = new Uint8Array(size).fill(7);
    const parts = server.sendParts(new BytesMessage({ data: payload }));
    expect(parts).toHaveLength(2);
    expect(parts[1]).toBe(payload);
    expect([...parts[0]]).toEqual(header);
  });

  it('reuses a header only within its own connection, and only for the same kind, flags and length', () => {
    const server = new Connection({ type: ConnectionType.SERVER });
    const other = new Connection({ type: ConnectionType.SERVER });
    const a = server.sendParts(new BytesMessage({ data: new Uint8Array(1000) }))[0];
    expect(server.sendParts(new BytesMessage({ data: new Uint8Array(1000).fill(1) }))[0]).toBe(a);
    expect(other.sendParts(new BytesMessage({ data: new Uint8Array(1000) }))[0]).not.toBe(a);
    expect(server.sendParts(new BytesMessage({ data: new Uint8Array(1001) }))[0]).not.toBe(a);
    expect(server.sendParts(new TextMessage({ data: 'x'.repeat(30000) }))[0]).not.toBe(a);
    // The first header still says what it said.
    expect([...a]).toEqual([0x82, 126, 0x03, 0xe8]);
    for (let n = 1; n < 126; n++) {
      expect([...server.sendParts(new BytesMessage({ data: new Uint8Array(n) }))[0]]).toEqual([0x82, n]);
    }
  });

  it('writes FIN, the continuation opcode and the length form into each header (RFC 6455 5.2, 5.4)', () => {
    const server = new Connection({ type: ConnectionType.SERVER });
    const header = (event: BytesMessage | TextMessage) => [...server.sendParts(event)[0]];
    expect(header(new BytesMessage({ data: new Uint8Array(7), messageFinished: false }))).toEqual([0x02, 7]);
    expect(header(new BytesMessage({ data: new Uint8Array(7) }))).toEqual([0x80, 7]);
    expect(header(new BytesMessage({ data: new Uint8Array(1001) }))).toEqual([0x82, 126, 0x03, 0xe9]);
    expect(header(new BytesMessage({ data: new Uint8Array(1001), messageFinished: false }))).toEqual([0x02, 126, 0x03, 0xe9]);
    expect(header(new BytesMessage({ data: new Uint8Array(1001) }))).toEqual([0x80, 126, 0x03, 0xe9]);
    expect(header(new TextMessage({ data: 'x'.repeat(30000) }))).toEqual([0x81, 126, 0x75, 0x30]);
    expect(header(new BytesMessage({ data: new Uint8Array(70000) }))).toEqual([0x82, 127, 0, 0, 0, 0, 0, 0x01, 0x11, 0x70]);
  });

  it('writes the same bytes as send, for every size and both roles', () => {
    for (const size of [0, 1, 3, 4, 5, 63, 64, 65, 125, 126, 16383, 16384, 65535, 65536, 200000]) {
      const payload = Uint8Array.from({ length: size }, (_, i) => i & 0xff);
      for (const type of [ConnectionType.SERVER, ConnectionType.CLIENT]) {
        const fixed = (b: Uint8Array) => b.set([1, 2, 3, 4]);
        const a = new Connection({ type, random: fixed });
        const b = new Connection({ type, random: fixed });
        // Buffer.equals: toEqual walks a 200 KB buffer element by element.
        const gathered = concat(a.sendParts(new BytesMessage({ data: payload })));
        expect(gathered.equals(b.send(new BytesMessage({ data: payload })))).toBe(true);
      }
    }
  });

  it('keeps short text, empty payloads, control frames and all masked frames in one part', () => {
    const server = new Connection({ type: ConnectionType.SERVER });
    expect(server.sendParts(new TextMessage({ data: 'hi' }))).toHaveLength(1);
    expect(server.sendParts(new BytesMessage({ data: new Uint8Array(0) }))).toHaveLength(1);
    expect(server.sendParts(new Ping({ payload: new Uint8Array(5) }))).toHaveLength(1);
    const client = new Connection({ type: ConnectionType.CLIENT });
    for (const size of [1, 63, 64, 32768]) {
      expect(client.sendParts(new BytesMessage({ data: new Uint8Array(size) }))).toHaveLength(1);
    }
  });

  it("masks short and long client payloads byte-exactly, leaving the caller's bytes alone", () => {
    for (const size of [1, 2, 3, 4, 5, 7, 63, 64, 65, 1000]) {
      const payload = Uint8Array.from({ length: size }, (_, i) => (i * 7 + 1) & 0xff);
      const copy = Uint8Array.from(payload);
      const client = new Connection({ type: ConnectionType.CLIENT, random: (b) => b.set([0x37, 0xfa, 0x21, 0x3d]) });
      const [frame] = client.sendParts(new BytesMessage({ data: payload }));
      const headerSize = (size < 126 ? 2 : 4) + 4;
      expect([...frame.subarray(headerSize - 4, headerSize)]).toEqual([0x37, 0xfa, 0x21, 0x3d]);
      const key = [0x37, 0xfa, 0x21, 0x3d];
      expect([...frame.subarray(headerSize)]).toEqual([...payload].map((b, i) => b ^ key[i & 3]));
      expect(payload).toEqual(copy);
    }
  });
});

describe('mask keys from the default random source', () => {
  it('differ from frame to frame across pool refills, and the frames still decode', () => {
    const client = new Connection({ type: ConnectionType.CLIENT });
    const server = new Connection({ type: ConnectionType.SERVER });
    const keys = new Set<string>();
    const frames: Uint8Array[] = [];
    for (let i = 0; i < 3000; i++) {
      const frame = client.send(new TextMessage({ data: `m${i}` }));
      keys.add(Buffer.from(frame.subarray(2, 6)).toString('hex'));
      frames.push(frame);
    }
    // 3000 keys span three refills of the 4 KiB pool; collisions of 32-bit keys are rare.
    expect(keys.size).toBeGreaterThan(2990);
    server.receiveData(Buffer.concat(frames));
    const texts = [...server.events()].map((e) => (e as TextMessage).data);
    expect(texts).toEqual(Array.from({ length: 3000 }, (_, i) => `m${i}`));
  });
});

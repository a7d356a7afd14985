/**
 * The encoder's fast paths: gathered sends that never copy a large unmasked
 * payload, and mask keys drawn from a pooled random source.
 */
import { Connection, ConnectionType } from '../src/connection';
import { BytesMessage, TextMessage } from '../src/events';
import { GATHER_MIN } from '../src/frame-protocol';

const concat = (parts: Uint8Array[]) => Buffer.concat(parts);

describe('Connection.sendv', () => {
  it('returns a large unmasked payload beside its header, without copying it', () => {
    const server = new Connection({ type: ConnectionType.SERVER });
    const payload = new Uint8Array(GATHER_MIN).fill(7);
    const parts = server.sendv(new BytesMessage({ data: payload }));
    expect(parts).toHaveLength(2);
    expect(parts[1]).toBe(payload);
    expect(Buffer.from(parts[0])).toEqual(Buffer.from([0x82, 126, GATHER_MIN >> 8, GATHER_MIN & 0xff]));
  });

  it('writes the same bytes as send, for every size and both roles', () => {
    for (const size of [0, 125, 126, GATHER_MIN - 1, GATHER_MIN, 65535, 65536, 200000]) {
      const payload = Uint8Array.from({ length: size }, (_, i) => i & 0xff);
      for (const type of [ConnectionType.SERVER, ConnectionType.CLIENT]) {
        const fixed = (b: Uint8Array) => b.set([1, 2, 3, 4]);
        const a = new Connection({ type, random: fixed });
        const b = new Connection({ type, random: fixed });
        expect(concat(a.sendv(new BytesMessage({ data: payload })))).toEqual(Buffer.from(b.send(new BytesMessage({ data: payload }))));
      }
    }
  });

  it('keeps small frames and all masked frames in one part', () => {
    expect(new Connection({ type: ConnectionType.SERVER }).sendv(new TextMessage({ data: 'hi' }))).toHaveLength(1);
    const client = new Connection({ type: ConnectionType.CLIENT });
    expect(client.sendv(new BytesMessage({ data: new Uint8Array(GATHER_MIN * 2) }))).toHaveLength(1);
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

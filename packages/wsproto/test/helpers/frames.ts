/**
 * Test helpers: hex bytes, fixed random sources, a raw frame builder that can
 * break any rule, and collectors for connection events.
 */
import {
  BytesMessage,
  CloseConnection,
  Connection,
  LocalProtocolError,
  ConnectionType,
  TextMessage,
  type Event,
  type RandomSource,
} from '@wsstack/wsproto';

/** Bytes from hex, spaces allowed: `hex('81 05 48')`. */
export function hex(text: string): Uint8Array {
  const clean = text.replace(/\s+/g, '');
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** Hex of bytes, no spaces. */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('hex');
}

/** A random source that always gives the same 4-byte key (repeated to fill). */
export function fixedRandom(key: number[]): RandomSource {
  return (buffer) => {
    for (let i = 0; i < buffer.length; i++) buffer[i] = key[i % key.length];
  };
}

/** Concatenates byte arrays. */
export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Fields of a raw frame; every rule can be broken. */
export interface RawFrame {
  fin?: boolean;
  rsv?: number;
  opcode: number;
  payload?: Uint8Array | string;
  /** A 4-byte mask key, or undefined for an unmasked frame. */
  mask?: number[];
  /** Force the length encoding: 7, 16 or 64 bits (may be non-minimal). */
  lengthBits?: 7 | 16 | 64;
  /** Override the announced length (the payload bytes are still written). */
  announcedLength?: number;
}

/** Builds a frame byte by byte, independently of the code under test. */
export function rawFrame(frame: RawFrame): Uint8Array {
  const payload = typeof frame.payload === 'string' ? new TextEncoder().encode(frame.payload) : (frame.payload ?? new Uint8Array(0));
  const length = frame.announcedLength ?? payload.length;
  const bits = frame.lengthBits ?? (length < 126 ? 7 : length < 65536 ? 16 : 64);
  const head: number[] = [((frame.fin ?? true) ? 0x80 : 0) | (frame.rsv ?? 0) | frame.opcode];
  const maskBit = frame.mask ? 0x80 : 0;
  if (bits === 7) head.push(maskBit | length);
  else if (bits === 16) head.push(maskBit | 126, (length >> 8) & 0xff, length & 0xff);
  else {
    head.push(maskBit | 127);
    const big = BigInt(length);
    for (let i = 7; i >= 0; i--) head.push(Number((big >> BigInt(i * 8)) & 0xffn));
  }
  const body = Uint8Array.from(payload);
  if (frame.mask) {
    head.push(...frame.mask);
    for (let i = 0; i < body.length; i++) body[i] ^= frame.mask[i & 3];
  }
  return concat([Uint8Array.from(head), body]);
}

/** A frame as a client sends it (masked with a fixed key). */
export function clientFrame(frame: Omit<RawFrame, 'mask'>): Uint8Array {
  return rawFrame({ ...frame, mask: [0x37, 0xfa, 0x21, 0x3d] });
}

/** Feeds bytes (copied, since the connection unmasks in place) and collects the events. */
export function feed(conn: Connection, ...chunks: Uint8Array[]): Event[] {
  const out: Event[] = [];
  for (const chunk of chunks) {
    conn.receiveData(Uint8Array.from(chunk));
    for (const e of conn.events()) out.push(e);
  }
  return out;
}

/** A received message, its pieces joined. */
export type Message = { text: string } | { bytes: number[] } | { close: number; reason: string } | { ping: number[] } | { pong: number[] };

/** Joins message pieces into whole messages, for comparing chunkings. */
export function joinMessages(events: Event[]): Message[] {
  const out: Message[] = [];
  let text: string | null = null;
  let bytes: number[] | null = null;
  for (const e of events) {
    if (e instanceof TextMessage) {
      text = (text ?? '') + e.data;
      if (e.messageFinished) {
        out.push({ text });
        text = null;
      }
    } else if (e instanceof BytesMessage) {
      bytes ??= [];
      for (const b of e.data) bytes.push(b);
      if (e.messageFinished) {
        out.push({ bytes });
        bytes = null;
      }
    } else if (e instanceof CloseConnection) out.push({ close: e.code, reason: e.reason });
    else if (e.type === 'Ping') out.push({ ping: Array.from(e.payload) });
    else if (e.type === 'Pong') out.push({ pong: Array.from(e.payload) });
  }
  return out;
}

/** A server-side connection (expects masked frames). */
export function server(options: Partial<ConstructorParameters<typeof Connection>[0]> = {}): Connection {
  return new Connection({ type: ConnectionType.SERVER, ...options });
}

/** A client-side connection with a fixed mask key. */
export function client(options: Partial<ConstructorParameters<typeof Connection>[0]> = {}): Connection {
  return new Connection({ type: ConnectionType.CLIENT, random: fixedRandom([0x37, 0xfa, 0x21, 0x3d]), ...options });
}

/** Asserts `fn` throws a LocalProtocolError with `code`. */
export function expectLocalError(fn: () => unknown, code: string): void {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(LocalProtocolError);
  expect((caught as LocalProtocolError).code).toBe(code);
}

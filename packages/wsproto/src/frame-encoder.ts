/**
 * Frames out (RFC 6455 5.2): a header, the mask key on the client side, the
 * payload masked or not. {@link FrameProtocol} decides what to send; this
 * module only writes it.
 *
 * @module
 */
import { allocFrame } from './bytes';
import { copyMasked, maskBytes } from './mask';
import { Opcode } from './opcode';
import { defaultRandom, type RandomSource } from './utilities';

/** The first header bytes and the length; returns the header size without the mask key. */
function writeHeader(out: Uint8Array, opcode: Opcode, rsv: number, fin: boolean, length: number): number {
  out[0] = (fin ? 0x80 : 0) | rsv | opcode;
  if (length < 126) {
    out[1] = length;
    return 2;
  }
  if (length < 65536) {
    out[1] = 126;
    out[2] = length >>> 8;
    out[3] = length & 0xff;
    return 4;
  }
  out[1] = 127;
  const high = Math.floor(length / 0x100000000);
  out[2] = high >>> 24;
  out[3] = (high >>> 16) & 0xff;
  out[4] = (high >>> 8) & 0xff;
  out[5] = high & 0xff;
  out[6] = length >>> 24;
  out[7] = (length >>> 16) & 0xff;
  out[8] = (length >>> 8) & 0xff;
  out[9] = length & 0xff;
  return 10;
}

/** Header bytes for a payload of `length`, without the mask key. */
function headerSizeOf(length: number): number {
  return length < 126 ? 2 : length < 65536 ? 4 : 10;
}

/** The payload length an unmasked header written by {@link writeHeader} gives. */
function headerLength(header: Uint8Array): number {
  const n = header[1];
  if (n < 126) return header.length === 2 ? n : -1;
  if (n === 126) return header.length === 4 ? (header[2] << 8) | header[3] : -1;
  if (header.length !== 10) return -1;
  const high = ((header[2] << 24) | (header[3] << 16) | (header[4] << 8) | header[5]) >>> 0;
  const low = ((header[6] << 24) | (header[7] << 16) | (header[8] << 8) | header[9]) >>> 0;
  return high * 0x100000000 + low;
}

/**
 * Random bytes fetched at once for mask keys, shared by every client
 * connection that uses the default source: one large `getRandomValues` call
 * (64 KiB is the most it gives) makes a key cost next to nothing, where a
 * call per key costs more than masking a small frame.
 */
const KEY_POOL_SIZE = 65536;
const keyPool = new Uint8Array(KEY_POOL_SIZE);
let keyPoolPos = KEY_POOL_SIZE;
/** The key being used, for one synchronous call. */
const sharedKey = new Uint8Array(4);

const textEncoder = new TextEncoder();
/** Where short text is encoded before it is copied into its frame: 41 UTF-16 units make at most 123 bytes. */
const textScratch = new Uint8Array(123);
/** The same for up to 21845 units (at most 65535 bytes, a 16-bit length); made on first use. */
let wideTextScratch: Uint8Array | null = null;

/**
 * Writes frames for one side of a connection: masked with fresh keys on the
 * client side, as they are on the server side. It holds no state of a
 * connection, so connections with the same side and key source share one
 * (see {@link frameEncoder}).
 */
export class FrameEncoder {
  /**
   * @param client - true on the client side: every frame is masked
   * @param random - the source of mask keys. With the default, keys come
   *   from a shared pool; any other source is asked per key, so tests stay exact.
   */
  constructor(
    /** True on the client side. */
    readonly client: boolean,
    private readonly random: RandomSource = defaultRandom,
  ) {}

  /** Header and payload in one allocation; the payload masked straight into it on the client side. */
  frame(opcode: Opcode, rsv: number, fin: boolean, payload: Uint8Array): Uint8Array {
    const length = payload.length;
    const headerSize = headerSizeOf(length) + (this.client ? 4 : 0);
    // Every byte is written below, so uninitialised (pooled) memory is safe.
    const out = allocFrame(headerSize + length);
    writeHeader(out, opcode, rsv, fin, length);
    if (!this.client) out.set(payload, headerSize);
    else copyMasked(payload, out, headerSize, this.nextKey(out, headerSize));
    return out;
  }

  /**
   * A frame as parts to write in order, for a gathered write: on the server
   * side a non-empty payload comes back as `[header, payload]`, where
   * `payload` is the caller's own array (never copied); on the client side
   * (the payload must be masked, so it is copied anyway) and for an empty
   * payload, one part from {@link frame}.
   *
   * @param previous - the header of the connection's last such frame: used
   *   again when it says the same (kind, flags, length), else a new one is made
   */
  parts(opcode: Opcode, rsv: number, fin: boolean, payload: Uint8Array, previous: Uint8Array | null): Uint8Array[] {
    const length = payload.length;
    if (this.client || length === 0) return [this.frame(opcode, rsv, fin, payload)];
    const b0 = (fin ? 0x80 : 0) | rsv | opcode;
    if (previous !== null && previous[0] === b0 && headerLength(previous) === length) return [previous, payload];
    const header = new Uint8Array(headerSizeOf(length));
    writeHeader(header, opcode, rsv, fin, length);
    return [header, payload];
  }

  /**
   * A text frame for up to 21845 UTF-16 units (at most 65535 bytes, a 16-bit
   * length), in one exact-size allocation; null for longer text, which the
   * caller encodes first.
   */
  text(opcode: Opcode, fin: boolean, text: string): Uint8Array | null {
    const units = text.length;
    if (units < 42) return this.shortText(opcode, fin, text);
    if (units > 21845) return null;
    // Encoded into scratch, then copied into a frame of its exact size.
    // Encoding straight into a worst-case frame (3 bytes a unit) used up
    // Node's Buffer pool and needed slow views; TextEncoder's allocating
    // encode() was slower still (bench/results/design-notes.md).
    const scratch = (wideTextScratch ??= new Uint8Array(65535));
    const { written } = textEncoder.encodeInto(text, scratch);
    const headerSize = (written < 126 ? 2 : 4) + (this.client ? 4 : 0);
    const out = allocFrame(headerSize + written);
    writeHeader(out, opcode, 0, fin, written);
    const encoded = scratch.subarray(0, written);
    if (this.client) copyMasked(encoded, out, headerSize, this.nextKey(out, headerSize));
    else out.set(encoded, headerSize);
    return out;
  }

  /**
   * A text frame of at most 123 bytes: encoded into shared scratch, then
   * copied (and masked) into a frame of its exact size. One allocation; the
   * copy is cheaper than the views an in-place encode needs.
   */
  private shortText(opcode: Opcode, fin: boolean, text: string): Uint8Array {
    const length = text.length === 0 ? 0 : textEncoder.encodeInto(text, textScratch).written;
    const headerSize = this.client ? 6 : 2;
    const out = allocFrame(headerSize + length);
    out[0] = (fin ? 0x80 : 0) | opcode;
    out[1] = length;
    if (!this.client) {
      for (let i = 0; i < length; i++) out[2 + i] = textScratch[i];
    } else {
      maskBytes(textScratch, 0, out, 6, length, this.nextKey(out, headerSize));
    }
    return out;
  }

  /**
   * Draws a fresh mask key, sets the MASK bit and writes the key just before
   * the payload (at `headerSize - 4`); returns the key.
   */
  private nextKey(out: Uint8Array, headerSize: number): Uint8Array {
    const key = sharedKey;
    if (this.random !== defaultRandom) {
      this.random(key);
    } else {
      if (keyPoolPos === KEY_POOL_SIZE) {
        defaultRandom(keyPool);
        keyPoolPos = 0;
      }
      const i = keyPoolPos;
      key[0] = keyPool[i];
      key[1] = keyPool[i + 1];
      key[2] = keyPool[i + 2];
      key[3] = keyPool[i + 3];
      keyPoolPos = i + 4;
    }
    out[1] |= 0x80;
    const at = headerSize - 4;
    out[at] = key[0];
    out[at + 1] = key[1];
    out[at + 2] = key[2];
    out[at + 3] = key[3];
    return key;
  }
}

const serverEncoder = new FrameEncoder(false);
const clientEncoder = new FrameEncoder(true);

/** The encoder for one side: shared for the default key source, a new one for a caller's own. */
export function frameEncoder(client: boolean, random: RandomSource = defaultRandom): FrameEncoder {
  if (random !== defaultRandom) return new FrameEncoder(client, random);
  return client ? clientEncoder : serverEncoder;
}

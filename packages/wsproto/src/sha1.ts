/**
 * SHA-1 (FIPS 180-4), synchronous and dependency-free.
 *
 * The handshake needs one SHA-1 per connection. Web Crypto's digest is async,
 * and the core must stay synchronous and runnable outside Node, so it carries
 * its own. Not a general-purpose hash: it only serves `Sec-WebSocket-Accept`.
 * Scratch space is shared, so a hash of a handshake-sized input allocates
 * nothing (a burst of handshakes is where a server's garbage comes from).
 *
 * @module
 */

/** The message schedule, reused by every block. */
const w = new Uint32Array(80);
/** The running state; {@link sha1Words} returns it. */
const h = new Uint32Array(5);
/** Padded input of up to two blocks (messages up to 119 bytes: a key and the GUID are 60). */
const scratch = new Uint8Array(128);
const scratchView = new DataView(scratch.buffer);

/**
 * Hashes the first `length` bytes of `message`. Returns the digest as five
 * big-endian words in a shared array: read it before the next call.
 */
export function sha1Words(message: Uint8Array, length = message.length): Uint32Array {
  // Message + 0x80 + zero padding + 64-bit length, rounded up to 64-byte blocks.
  const size = Math.ceil((length + 9) / 64) * 64;
  let padded = scratch;
  let view = scratchView;
  if (size > scratch.length) {
    padded = new Uint8Array(size);
    view = new DataView(padded.buffer);
  } else {
    padded.fill(0, length, size);
  }
  if (length === message.length) padded.set(message);
  else for (let i = 0; i < length; i++) padded[i] = message[i]; // a view would be an allocation
  padded[length] = 0x80;
  const bitLength = length * 8;
  view.setUint32(size - 8, Math.floor(bitLength / 0x100000000));
  view.setUint32(size - 4, bitLength >>> 0);

  h[0] = 0x67452301;
  h[1] = 0xefcdab89;
  h[2] = 0x98badcfe;
  h[3] = 0x10325476;
  h[4] = 0xc3d2e1f0;
  for (let offset = 0; offset < size; offset += 64) compress(view, offset);
  return h;
}

/** Returns the 20-byte SHA-1 digest of `message`. */
export function sha1(message: Uint8Array): Uint8Array {
  const words = sha1Words(message);
  const out = new Uint8Array(20);
  const outView = new DataView(out.buffer);
  for (let i = 0; i < 5; i++) outView.setUint32(i * 4, words[i]);
  return out;
}

/** One 64-byte block into the state {@link h}. */
function compress(view: DataView, offset: number): void {
  for (let i = 0; i < 16; i++) w[i] = view.getUint32(offset + i * 4);
  for (let i = 16; i < 80; i++) {
    const x = w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16];
    w[i] = (x << 1) | (x >>> 31);
  }
  let a = h[0];
  let b = h[1];
  let c = h[2];
  let d = h[3];
  let e = h[4];
  for (let i = 0; i < 80; i++) {
    let f: number;
    let k: number;
    if (i < 20) {
      f = (b & c) | (~b & d);
      k = 0x5a827999;
    } else if (i < 40) {
      f = b ^ c ^ d;
      k = 0x6ed9eba1;
    } else if (i < 60) {
      f = (b & c) | (b & d) | (c & d);
      k = 0x8f1bbcdc;
    } else {
      f = b ^ c ^ d;
      k = 0xca62c1d6;
    }
    const temp = (((a << 5) | (a >>> 27)) + f + e + k + w[i]) >>> 0;
    e = d;
    d = c;
    c = (b << 30) | (b >>> 2);
    b = a;
    a = temp;
  }
  h[0] = h[0] + a;
  h[1] = h[1] + b;
  h[2] = h[2] + c;
  h[3] = h[3] + d;
  h[4] = h[4] + e;
}

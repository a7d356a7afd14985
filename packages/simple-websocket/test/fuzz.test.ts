/**
 * Fuzzing at the socket level (fast-check): random bytes after a valid
 * handshake, random splits of valid traffic, random malformed handshakes.
 * Whatever arrives, nothing escapes the library, no socket is left open,
 * and the answer is a documented close code or HTTP status.
 */
import fc from 'fast-check';
import type { Server } from '../src';
import { clientFrame, closeCodeOf, handshakeRequest, rawConnect, serverFrames, startOurServer, until, type OurServer } from './helpers';

async function echo(ws: Server): Promise<void> {
  try {
    for await (const message of ws) await ws.send(message);
  } catch {
    // abnormal closes are what these inputs provoke
  }
}

/** Close codes a server may answer garbage with (RFC 6455 7.4.1), or 1000 for a clean close frame. */
const DOCUMENTED_CLOSE = [1000, 1002, 1007, 1009];
const DOCUMENTED_STATUS = [400, 405, 426, 431];

describe('fuzzing our Server over real sockets', () => {
  let server: OurServer;
  const escaped: unknown[] = [];
  const record = (error: unknown): void => {
    escaped.push(error);
  };

  beforeAll(async () => {
    process.on('uncaughtException', record);
    process.on('unhandledRejection', record);
    server = await startOurServer('raw', echo, { handshakeTimeout: 2000, closeTimeout: 500 });
  });
  afterAll(async () => {
    process.off('uncaughtException', record);
    process.off('unhandledRejection', record);
    await server.close();
  });
  afterEach(() => {
    expect(escaped).toEqual([]);
  });

  test('random bytes after the handshake: a documented close code or none, and no socket left open', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 600 }), async (junk) => {
        const peer = await rawConnect(server.port);
        peer.socket.write(handshakeRequest());
        await until(() => peer.received().includes('\r\n\r\n'), 5000, '101');
        const headEnd = peer.received().indexOf('\r\n\r\n') + 4;
        peer.socket.write(junk);
        // Give the server a moment to answer, then hang up as a vanishing peer would.
        await new Promise((resolve) => setTimeout(resolve, 5));
        peer.socket.end();
        await peer.closed;
        const code = closeCodeOf(serverFrames(peer.received().subarray(headEnd)));
        if (code !== undefined) expect(DOCUMENTED_CLOSE).toContain(code);
      }),
      { numRuns: 80 },
    );
    await until(() => server.openSockets() === 0, 5000, 'every server socket closed');
  });

  test('valid traffic split at random points gives the same echoes, pong and clean close', async () => {
    const frames = [
      clientFrame(0x1, Buffer.from('first ✓')),
      clientFrame(0x2, Buffer.from([0, 1, 2, 3, 250])),
      clientFrame(0x1, Buffer.from('frag-'), false),
      clientFrame(0x9, Buffer.from('mid')),
      clientFrame(0x0, Buffer.from('mented')),
      clientFrame(0x2, Buffer.alloc(300, 7)),
    ];
    const traffic = Buffer.concat([Buffer.from(handshakeRequest()), ...frames]);
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(fc.integer({ min: 1, max: traffic.length - 1 }), { maxLength: 12 }), async (cuts) => {
        const points = [0, ...cuts.sort((a, b) => a - b), traffic.length];
        const peer = await rawConnect(server.port);
        peer.socket.setNoDelay(true);
        for (let i = 0; i + 1 < points.length; i++) {
          peer.socket.write(traffic.subarray(points[i], points[i + 1]));
          await new Promise((resolve) => setImmediate(resolve));
        }
        const frames = (): ReturnType<typeof serverFrames> => {
          const all = peer.received();
          return serverFrames(all.subarray(all.indexOf('\r\n\r\n') + 4));
        };
        await until(() => frames().length === 5, 5000, 'the echoes');
        // The close goes last: one that arrives with the messages is answered at
        // once (RFC 6455 5.5.1), and no echo may follow it.
        peer.socket.write(clientFrame(0x8, Buffer.from([0x03, 0xe8])));
        await peer.closed;
        expect(peer.received().toString('latin1')).toMatch(/^HTTP\/1\.1 101 /);
        const got = frames().map((f) => [f.opcode, f.opcode === 0x1 ? f.payload.toString() : f.payload.toString('hex')]);
        // The pong is the protocol's own answer, written at once; the echoes come from the application.
        expect(got.filter(([op]) => op === 0xa)).toEqual([[0xa, Buffer.from('mid').toString('hex')]]);
        expect(got.filter(([op]) => op !== 0xa)).toEqual([
          [0x1, 'first ✓'],
          [0x2, '00010203fa'],
          [0x1, 'frag-mented'],
          [0x2, Buffer.alloc(300, 7).toString('hex')],
          [0x8, '03e8'],
        ]);
      }),
      { numRuns: 60 },
    );
  });

  test('malformed handshakes get a documented status and a closed socket; only a valid one gets 101', async () => {
    const valid = handshakeRequest('/fuzz');
    const lines = valid.split('\r\n').filter((l) => l !== '');
    const mutations: Array<fc.Arbitrary<{ request: string; valid: boolean }>> = [
      fc.constant({ request: valid, valid: true }),
      fc.integer({ min: 1, max: lines.length - 1 }).filter((i) => !lines[i].startsWith('Host')).map((i) => ({
        request: [...lines.slice(0, i), ...lines.slice(i + 1)].join('\r\n') + '\r\n\r\n',
        valid: false,
      })),
      fc.constantFrom('POST', 'PUT', 'DELETE', 'HEAD').map((m) => ({ request: valid.replace(/^GET/, m), valid: false })),
      fc.integer({ min: 0, max: 99 }).filter((v) => v !== 13).map((v) => ({ request: valid.replace('Version: 13', `Version: ${v}`), valid: false })),
      fc.stringMatching(/^[A-Za-z0-9+/]{1,40}={0,2}$/).filter((k) => Buffer.from(k, 'base64').length !== 16).map((k) => ({
        request: valid.replace('dGhlIHNhbXBsZSBub25jZQ==', k),
        valid: false,
      })),
      fc.constant({ request: valid.replace('HTTP/1.1', 'HTTP/1.0'), valid: false }),
      fc.integer({ min: 20000, max: 40000 }).map((n) => ({ request: valid.replace('\r\n\r\n', `\r\nX-Big: ${'a'.repeat(n)}\r\n\r\n`), valid: false })),
      fc.uint8Array({ minLength: 1, maxLength: 200 }).map((bytes) => ({ request: Buffer.from(bytes).toString('latin1') + '\r\n\r\n', valid: false })),
    ];
    await fc.assert(
      fc.asyncProperty(fc.oneof(...mutations), async ({ request, valid: ok }) => {
        const peer = await rawConnect(server.port);
        peer.socket.write(Buffer.from(request, 'latin1'));
        if (ok) {
          await until(() => peer.received().includes('\r\n\r\n'), 5000, '101');
          expect(peer.received().toString('latin1')).toMatch(/^HTTP\/1\.1 101 /);
          peer.socket.destroy();
          return;
        }
        await peer.closed;
        const status = /^HTTP\/1\.1 (\d{3}) /.exec(peer.received().toString('latin1'))?.[1];
        // Bytes llhttp cannot even read as HTTP may get no answer, only the close.
        if (status !== undefined) expect(DOCUMENTED_STATUS).toContain(Number(status));
      }),
      { numRuns: 120 },
    );
    await until(() => server.openSockets() === 0, 5000, 'every server socket closed');
  });
});

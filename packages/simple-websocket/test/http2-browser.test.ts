/**
 * Chromium (Debian's, driven by playwright-core) opens WebSockets over
 * HTTP/2 to our Server: the page comes from an HTTPS server that speaks h2
 * and HTTP/1.1 and enables extended CONNECT, and the test checks that the
 * browser took the h2 road: the page's session carried the CONNECT streams,
 * and no HTTP/1.1 upgrade ever arrived. The certificate is self-signed, made
 * by openssl for this run; Chromium runs with --ignore-certificate-errors.
 */
import { existsSync } from 'node:fs';
import * as http2 from 'node:http2';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { chromium, type Browser, type Page } from 'playwright-core';
import { Server } from '../src';
import { makeCertificate, until } from './helpers';

const CHROMIUM = '/usr/bin/chromium';

/** The page: a WebSocket helper the test drives with page.evaluate. */
const PAGE = `<!doctype html><meta charset="utf-8"><title>h2 WebSocket</title>
<script>
  window.openSocket = (path) => new Promise((resolve, reject) => {
    const ws = new WebSocket('wss://' + location.host + path, ['chat']);
    ws.onopen = () => resolve(ws);
    ws.onerror = () => reject(new Error('WebSocket error'));
  });
  window.roundTrip = (ws, text) => new Promise((resolve) => {
    ws.addEventListener('message', (e) => resolve(e.data), { once: true });
    ws.send(text);
  });
  window.whenClosed = (ws) => new Promise((resolve) => ws.addEventListener('close', (e) => resolve([e.code, e.reason]), { once: true }));
</script>`;

describe('Chromium opens WebSockets over HTTP/2 (RFC 8441)', () => {
  const { key, cert } = makeCertificate();
  let server: http2.Http2SecureServer;
  let browser: Browser;
  let origin: string;
  /** What the server saw. */
  const pages: Array<{ httpVersion: string; session: http2.Http2Session | undefined }> = [];
  const connects: Array<{ protocol: string | undefined; session: http2.Http2Session | undefined }> = [];
  const upgrades: string[] = [];
  const accepted: Server[] = [];

  // Starting Chromium on a loaded 2-core machine can take longer than a test's 30 s.
  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`${CHROMIUM} is missing: install it with \`apt-get install chromium\` (.ci/run does)`);
    }
    server = http2.createSecureServer({ key, cert, allowHTTP1: true, settings: { enableConnectProtocol: true } }, (req, res) => {
      pages.push({ httpVersion: req.httpVersion, session: req.stream?.session });
      if (req.url === '/') res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE);
      else res.writeHead(404).end();
    });
    // With a request listener, node:http2 hands CONNECT streams to 'connect' (the compatibility API).
    server.on('connect', (req: http2.Http2ServerRequest) => {
      connects.push({ protocol: req.headers[':protocol'], session: req.stream.session });
      void Server.accept(req.stream, req.rawHeaders, { subprotocols: ['chat'] }).then(serve, () => {});
    });
    // The HTTP/1.1 road, open but expected unused: if the browser took it, the test says so.
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      upgrades.push(req.url ?? '/');
      void Server.accept(req, socket, head, { subprotocols: ['chat'] }).then(serve, () => {});
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--ignore-certificate-errors'],
    });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    if (server) await new Promise((resolve) => server.close(resolve));
  });

  async function serve(ws: Server): Promise<void> {
    accepted.push(ws);
    try {
      for await (const message of ws) await ws.send(`echo ${String(message)}`);
    } catch {
      // A page torn down mid-conversation: 1006, nothing to answer.
    }
  }

  async function openPage(): Promise<Page> {
    const page = await browser.newPage();
    await page.goto(`${origin}/`);
    return page;
  }

  test('the page and its WebSockets share one h2 session; no HTTP/1.1 upgrade happens', async () => {
    const page = await openPage();
    expect(await page.evaluate('performance.getEntriesByType("navigation")[0].nextHopProtocol')).toBe('h2');
    expect(await page.evaluate('(async () => { window.a = await openSocket("/one"); return window.a.protocol; })()')).toBe('chat');
    expect(await page.evaluate('roundTrip(window.a, "über h2 ✓")')).toBe('echo über h2 ✓');
    expect(await page.evaluate('(async () => { window.b = await openSocket("/two?x=1"); return roundTrip(window.b, "second"); })()')).toBe('echo second');

    const page0 = pages.find((p) => p.httpVersion === '2.0');
    expect(page0?.session).toBeDefined();
    expect(connects.map((c) => c.protocol)).toEqual(['websocket', 'websocket']);
    for (const connect of connects) expect(connect.session).toBe(page0!.session);
    expect(upgrades).toEqual([]);
    expect(accepted.map((ws) => ws.request.path)).toEqual(['/one', '/two?x=1']);
    expect(accepted.every((ws) => ws.request.headers.some(([name, value]) => name === ':protocol' && value === 'websocket'))).toBe(true);

    // The page closes one: the close handshake runs over the stream, the other socket is untouched.
    expect(await page.evaluate('(async () => { const done = whenClosed(window.a); window.a.close(4000, "bye"); return done; })()')).toEqual([4000, 'bye']);
    await until(() => accepted[0].closeCode !== undefined, 5000, 'the server to see the close');
    expect([accepted[0].closeCode, accepted[0].closeReason]).toEqual([4000, 'bye']);
    expect(await page.evaluate('roundTrip(window.b, "still open")')).toBe('echo still open');

    // The server closes the other: the page sees its code.
    // The page listens before the server closes: an evaluate still in flight could miss the event.
    await page.evaluate('window.bClosed = whenClosed(window.b), 0');
    await accepted[1].close(4001, 'server done');
    expect(await page.evaluate('window.bClosed')).toEqual([4001, 'server done']);
    await page.close();
  });
});

/**
 * The demo's inspector in a real browser (Debian's Chromium, driven by
 * playwright-core): a message sent from the page shows up in the inspector
 * as the layer steps it took, with its frame's bytes labelled and each step
 * linked to its lines; a hard case from the lab shows its close code; one
 * visitor never sees another's traffic; the page reads on a phone without
 * console errors. Screenshots go to test-output/browser/ (not in the repo).
 */
import { existsSync, mkdirSync } from 'node:fs';
import type { Server as HttpServer } from 'node:http';
import { join } from 'node:path';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { close, listening, port } from './helpers';

/* eslint-disable @typescript-eslint/no-require-imports */
const { createApp } = require('../../../examples/demo/app.js') as {
  createApp: (options?: { inspector?: boolean }) => import('express').Express;
};
const { definitionsOf } = require('../../../docs/test/definitions.js') as {
  definitionsOf: (name: string) => Array<[string, [number, number]]>;
};
/* eslint-enable @typescript-eslint/no-require-imports */

const CHROMIUM = '/usr/bin/chromium';
const SHOTS = join(__dirname, '..', '..', '..', 'test-output', 'browser');

describe('the inspector in Chromium', () => {
  let app: import('express').Express;
  let server: HttpServer;
  let browser: Browser;
  let url: string;
  /** Console errors and uncaught page errors, per page. */
  const errors = new Map<Page, string[]>();

  // Starting Chromium on a loaded 2-core machine can take longer than a test's 30 s.
  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`${CHROMIUM} is missing: install it with \`apt-get install chromium\` (.ci/run does)`);
    }
    mkdirSync(SHOTS, { recursive: true });
    app = createApp({ inspector: true });
    server = await listening(app.listen(0, '127.0.0.1'));
    url = `http://127.0.0.1:${port(server)}/`;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
    });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    (app?.locals.inspector as { stop(): void } | undefined)?.stop();
    if (server) await close(server);
  });

  /** A visitor of their own (a fresh browser context: its own cookie), with the page live. */
  async function visit(viewport = { width: 1280, height: 900 }): Promise<Page> {
    const page = await browser.newPage({ viewport });
    const seen: string[] = [];
    errors.set(page, seen);
    page.on('console', (message) => {
      if (message.type() === 'error') seen.push(message.text());
    });
    page.on('pageerror', (error) => seen.push(String(error)));
    await page.goto(url);
    await page.locator('#inspector-state').filter({ hasText: /^live$/ }).waitFor({ timeout: 10000 });
    await page.locator('#echo-state').filter({ hasText: /^open$/ }).waitFor({ timeout: 10000 });
    return page;
  }

  /** The crossing (a card in the inspector) whose summary matches `title`. */
  function crossing(page: Page, title: RegExp) {
    return page.locator('#inspector-log .crossing').filter({ has: page.locator('summary', { hasText: title }) }).last();
  }

  /** The texts of parallel locators (one match each per row), row by row. */
  async function zip(...columns: Locator[]): Promise<string[][]> {
    const texts = await Promise.all(columns.map((column) => column.allTextContents()));
    return texts[0].map((_, i) => texts.map((column) => column[i]));
  }

  async function send(page: Page, text: string): Promise<void> {
    await page.fill('#echo-input', text);
    await page.click('#echo-form button');
  }

  test('a message sent from the page shows its steps through the layers and its frame bytes, labelled', async () => {
    const page = await visit();
    const handshake = crossing(page, /opening handshake/);
    await handshake.waitFor();
    expect(await handshake.locator('.step .fn').allTextContents()).toEqual(
      expect.arrayContaining(['dispatch', 'Server.accept', 'Handshake.acceptRequest', 'generateAcceptToken', 'Handshake.sendAccept', 'Sock.run']),
    );
    expect(await handshake.locator('.http').first().textContent()).toMatch(/^HTTP\/1\.1 101 Switching Protocols\nUpgrade: websocket\n/);

    await send(page, 'Hello');
    const card = crossing(page, /received TextMessage "Hello" · sent TextMessage "Hello"/);
    await card.waitFor({ timeout: 10000 });
    // The steps, in the order they ran, each under its layer.
    const steps = await zip(card.locator('.step .layer'), card.locator('.step .fn'));
    expect(steps.map((step) => step.join(' '))).toEqual([
      'simple-websocket SocketConnection.onData',
      'wsproto WSConnection.receiveData',
      'wsproto FrameDecoder.readHeader',
      'wsproto Connection.nextEvent',
      'simple-websocket Base.handleEvent',
      'simple-websocket MessageQueue.push',
      'simple-websocket Base.send',
      'wsproto WSConnection.send',
      'wsproto FrameProtocol.sendData',
      'simple-websocket SocketWriter.write',
    ]);
    // The browser's frame as it arrived: masked with the browser's own key.
    const received = card.locator('.step', { has: page.locator('.fn', { hasText: 'FrameDecoder.readHeader' }) });
    const rows = await zip(received.locator('.field .bytes'), received.locator('.field .name'), received.locator('.field .value'));
    expect(rows[0]).toEqual(['81', 'FIN, RSV1-3, opcode', 'FIN=1 RSV=000 opcode=0x1 (text)']);
    expect(rows[1]).toEqual(['85', 'MASK, length', 'MASK=1 length=5']);
    expect(rows[2][0]).toMatch(/^[0-9a-f]{2}( [0-9a-f]{2}){3}$/);
    expect(rows[2][1]).toBe('masking key');
    expect(rows[3][1]).toBe('payload, masked');
    expect(rows[3][2]).toBe('unmasked: 48 65 6c 6c 6f = "Hello"');
    // The server's echo, unmasked, byte for byte as docs/callstack.md shows it.
    const sent = card.locator('.step', { has: page.locator('.fn', { hasText: 'FrameProtocol.sendData' }) });
    expect(await sent.locator('.field .bytes').allTextContents()).toEqual(['81', '05', '48 65 6c 6c 6f']);

    // Each step links to the lines that define its function; the link opens them, marked.
    const [[file, [start, end]]] = definitionsOf('FrameDecoder.readHeader');
    const link = received.locator('a.fn');
    expect(await link.getAttribute('href')).toBe(`/source/${file}#L${start}-L${end}`);
    expect(await received.locator('.at').textContent()).toBe(`frame-decoder.ts:${start}`);
    await card.screenshot({ path: join(SHOTS, 'inspector-hello.png') });
    const [source] = await Promise.all([page.context().waitForEvent('page'), link.click()]);
    await source.waitForLoadState();
    expect(await source.locator('.line.hit').count()).toBe(end - start + 1);
    expect(await source.locator(`#L${start}`).textContent()).toMatch(/readHeader\(\): boolean \{/);
    await source.screenshot({ path: join(SHOTS, 'inspector-source.png') });
    await page.screenshot({ path: join(SHOTS, 'inspector.png'), fullPage: true });
    expect(errors.get(page)).toEqual([]);
    await page.context().close();
  });

  test('a hard case from the lab: invalid UTF-8 is refused with 1007, and each layer shows its part', async () => {
    const page = await visit();
    await page.click('[data-lab="invalid-utf8"]');
    await page.locator('#lab-result').filter({ hasText: /closed with 1007/ }).waitFor({ timeout: 10000 });
    expect(await page.textContent('#lab-result')).toBe('a text frame that is not UTF-8: closed with 1007 "text message is not valid UTF-8".');
    const server = crossing(page, /^server#\d+.*received CloseConnection 1007/);
    await server.waitFor();
    const details = (await zip(server.locator('.step .fn'), server.locator('.step .detail'))).map((step) => step.join(': '));
    expect(details).toEqual(
      expect.arrayContaining([
        'Connection.nextEvent: CloseConnection 1007 "text message is not valid UTF-8"',
        'Base.handleEvent: CloseConnection 1007 "text message is not valid UTF-8"',
        'Sock.run: handler threw ConnectionClosed 1007: the connection is closed',
      ]),
    );
    expect(await server.locator('.field .value').allTextContents()).toContain('unmasked: ce ba e1 bd b9 cf 83 ce bc ce b5 ed a0 80 = not valid UTF-8');
    // The lab's own end, the raw client, is in the inspector too.
    await crossing(page, /^client#\d+.*lab writes by hand a text frame/).waitFor();
    await page.screenshot({ path: join(SHOTS, 'inspector-lab-1007.png'), fullPage: true });
    expect(errors.get(page)).toEqual([]);
    await page.context().close();
  });

  test("one visitor's inspector never shows another visitor's traffic", async () => {
    const alice = await visit();
    const bob = await visit();
    await send(alice, 'only alice sees this');
    await send(bob, 'only bob sees this');
    await crossing(alice, /received TextMessage "only alice sees this"/).waitFor();
    await crossing(bob, /received TextMessage "only bob sees this"/).waitFor();
    await alice.waitForTimeout(200); // time for a stray record to arrive, were there one
    expect(await alice.locator('#inspector-log').textContent()).not.toContain('only bob');
    expect(await bob.locator('#inspector-log').textContent()).not.toContain('only alice');
    await Promise.all([alice.context().close(), bob.context().close()]);
  });

  test('on a phone: one column, long messages wrapped, no sideways scroll, no console errors', async () => {
    const page = await visit({ width: 390, height: 844 });
    const long = `${'a-very-long-word-without-spaces-'.repeat(12)} and ${'then words '.repeat(30)}`;
    await send(page, long);
    await page.locator('#echo-log li').filter({ hasText: 'a-very-long-word' }).waitFor();
    await crossing(page, /received TextMessage/).waitFor();
    // No DOM types here (the tests compile for Node): the page's widths, read in the page.
    const widths = await page.evaluate<number[]>('[document.documentElement.scrollWidth, window.innerWidth]');
    expect(widths[0]).toBeLessThanOrEqual(widths[1]);
    // The inspector sits below the panels, not beside them.
    const panels = await page.locator('.panels').boundingBox();
    const inspector = await page.locator('#inspector').boundingBox();
    expect(inspector!.y).toBeGreaterThan(panels!.y + panels!.height - 1);
    await page.screenshot({ path: join(SHOTS, 'inspector-phone.png'), fullPage: true });
    expect(errors.get(page)).toEqual([]);
    await page.context().close();
  });
});

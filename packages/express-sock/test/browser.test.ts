/**
 * The demo in a real browser: Debian's Chromium driven by playwright-core.
 * Two pages share a chat room, the echo panel round-trips text, and the page
 * shows the connection state and the close code. Screenshots go to
 * test-output/browser/ for a human to look at.
 */
import { existsSync, mkdirSync } from 'node:fs';
import type { Server as HttpServer } from 'node:http';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { close, listening, port } from './helpers';

// The demo app is plain CommonJS; jest maps its @wsstack/* imports to source.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { createApp } = require('../../../examples/demo/app.js') as { createApp: () => import('express').Express };

/** Debian's Chromium (`apt-get install chromium`), or the browser the CHROMIUM variable names. */
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const SHOTS = join(__dirname, '..', '..', '..', 'test-output', 'browser');

describe('the demo in Chromium', () => {
  let server: HttpServer;
  let browser: Browser;
  let url: string;

  // Starting Chromium on a loaded 2-core machine can take longer than a test's 30 s.
  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`${CHROMIUM} is missing: install it with \`apt-get install chromium\` (.ci/run does), or set CHROMIUM to a Chromium or Chrome`);
    }
    mkdirSync(SHOTS, { recursive: true });
    server = await listening(createApp().listen(0, '127.0.0.1'));
    url = `http://127.0.0.1:${port(server)}/`;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
    });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    if (server) await close(server);
  });

  /** Waits until the element's text matches (Playwright polls; no DOM types needed here). */
  function waitText(page: Page, selector: string, text: RegExp): Promise<void> {
    return page.locator(selector).filter({ hasText: text }).first().waitFor({ timeout: 10000 });
  }

  async function openPage(): Promise<Page> {
    const page = await browser.newPage();
    await page.goto(url);
    return page;
  }

  test('two pages in the same room each see the message one of them sends', async () => {
    const alice = await openPage();
    const bob = await openPage();
    for (const page of [alice, bob]) {
      await page.fill('#room', 'browser-room');
      await page.click('#join-form button');
      await waitText(page, '#chat-state', /^open$/);
    }
    await alice.fill('#chat-input', 'hello from alice');
    await alice.click('#chat-form button');
    await waitText(bob, '#chat-log li', /^hello from alice$/);
    await waitText(alice, '#chat-log li', /^hello from alice$/);
    expect(await bob.locator('#chat-log li').allTextContents()).toEqual(['hello from alice']);
    await alice.screenshot({ path: join(SHOTS, 'chat-alice.png'), fullPage: true });
    await bob.screenshot({ path: join(SHOTS, 'chat-bob.png'), fullPage: true });
    await Promise.all([alice.close(), bob.close()]);
  });

  test('a page in another room does not see the message', async () => {
    const inRoom = await openPage();
    const elsewhere = await openPage();
    for (const [page, room] of [[inRoom, 'r-one'], [elsewhere, 'r-two']] as const) {
      await page.fill('#room', room);
      await page.click('#join-form button');
      await waitText(page, '#chat-state', /^open$/);
    }
    await inRoom.fill('#chat-input', 'only for r-one');
    await inRoom.click('#chat-form button');
    await waitText(inRoom, '#chat-log li', /^only for r-one$/);
    // Give a stray fan-out time to arrive before asserting it did not.
    await elsewhere.waitForTimeout(200);
    expect(await elsewhere.locator('#chat-log li').count()).toBe(0);
    await Promise.all([inRoom.close(), elsewhere.close()]);
  });

  test('the echo panel round-trips text, then shows the close code', async () => {
    const page = await openPage();
    await waitText(page, '#echo-state', /^open$/);
    await page.fill('#echo-input', 'ping → pong ✓');
    await page.click('#echo-form button');
    await waitText(page, '#echo-log li', /^echo: ping → pong ✓$/);
    await page.screenshot({ path: join(SHOTS, 'echo.png'), fullPage: true });
    await page.click('#echo-close');
    await waitText(page, '#echo-state', /^closed/);
    expect(await page.textContent('#echo-state')).toBe('closed (1000 closed from the page)');
    await page.screenshot({ path: join(SHOTS, 'echo-closed.png'), fullPage: true });
    await page.close();
  });
});

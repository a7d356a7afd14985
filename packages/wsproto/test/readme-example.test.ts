/**
 * The README's worked example is code a reader will paste: run it, and check
 * every `console.log(...) // output` line prints what its comment says.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { format } from 'node:util';
import * as wsproto from '../src/index';

const readme = readFileSync(join(__dirname, '..', 'README.md'), 'utf8');

/** The first ```js block after `heading` (or in the whole README). */
function jsBlock(markdown: string, heading?: string): string {
  const from = heading === undefined ? 0 : markdown.indexOf(`\n${heading}\n`);
  if (from < 0) throw new Error(`README.md has no heading ${heading}`);
  const match = /```js\n([\s\S]*?)```/.exec(markdown.slice(from));
  if (!match) throw new Error('README.md has no ```js block');
  return match[1];
}

describe('README worked examples', () => {
  it.each([
    ['a handshake and a message, by hand', undefined],
    ['WebSockets over HTTP/2', '## WebSockets over HTTP/2 (RFC 8441)'],
  ])('%s: runs and prints what its comments say', (_name, heading) => {
    const code = jsBlock(readme, heading);
    const printed: string[] = [];
    const fakeConsole = { log: (...args: unknown[]) => printed.push(format(...args)) };
    const fakeRequire = (name: string): unknown => {
      if (name !== '@wsstack/wsproto') throw new Error(`example requires ${name}`);
      return wsproto;
    };
    // eslint-disable-next-line @typescript-eslint/no-implied-eval
    const run = new Function('require', 'console', code) as (req: typeof fakeRequire, con: typeof fakeConsole) => void;
    run(fakeRequire, fakeConsole);

    const expected = code
      .split('\n')
      .filter((line) => line.includes('console.log(') && line.includes(' // '))
      .map((line) => line.slice(line.lastIndexOf(' // ') + 4).trim());
    expect(printed).toHaveLength(expected.length);
    printed.forEach((line, i) => {
      const want = expected[i];
      // A comment ending in "..." promises only the start of the output.
      if (want.endsWith('...')) {
        const prefix = want.slice(0, -3).split(' ... ')[0];
        expect(line.startsWith(prefix)).toBe(true);
      } else {
        expect(line).toBe(want);
      }
    });
  });
});

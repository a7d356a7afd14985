// The per-layer guides' examples run for real (against the built packages,
// which `npm test` builds first), and the guides show their code verbatim.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const DOCS = path.join(__dirname, '..');
const cases = [
  ['using-wsproto.md', 'wsproto-echo-server.js', { echoed: 'hello, core', code: 1000 }],
  ['using-simple-websocket.md', 'simple-websocket-echo.js', { echoed: 'hello, socket layer', code: 1000 }],
  ['using-simple-websocket.md', 'simple-websocket-http2-echo.js', { echoed: ['hello over HTTP/2', 'and again'], code: 1000, sessions: 1 }],
];

describe.each(cases)('%s', (page, example, expected) => {
  const file = path.join(DOCS, 'examples', example);

  test(`${example} runs: one echo round trip, closed with 1000`, () => {
    const script = `require(${JSON.stringify(file)}).main().then((r) => process.stdout.write(JSON.stringify(r)), (e) => { console.error(e); process.exit(1); })`;
    const out = execFileSync(process.execPath, ['-e', script], { cwd: path.join(DOCS, '..'), encoding: 'utf8', timeout: 20000 });
    expect(JSON.parse(out)).toEqual(expected);
  });

  test('the page shows the example as it is', () => {
    const code = fs.readFileSync(file, 'utf8');
    expect(fs.readFileSync(path.join(DOCS, page), 'utf8')).toContain('```js\n' + code + '```');
  });
});

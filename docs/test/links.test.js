// Every link in docs/ must still point at what it names: the file exists,
// a line range fits in it, and the function in the link text is defined
// inside that range. The walkthrough cannot drift from the code unnoticed.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { definesName } = require('./definitions');

const DOCS = path.join(__dirname, '..');
const LINK = /\[([^\]]+)\]\(([^)\s]+)\)/g;

/** Problems with the links in one markdown text that lives in `dir`. */
function checkLinks(markdown, dir) {
  const problems = [];
  for (const [, text, target] of markdown.matchAll(LINK)) {
    if (/^[a-z]+:/i.test(target) || target.startsWith('#')) continue; // external or in-page
    const [file, anchor = ''] = target.split('#');
    const full = path.resolve(dir, file);
    if (!fs.existsSync(full)) {
      problems.push(`${target}: no such file`);
      continue;
    }
    const range = /^L(\d+)(?:-L(\d+))?$/.exec(anchor);
    if (!range) continue;
    const start = Number(range[1]);
    const end = Number(range[2] ?? range[1]);
    const lines = fs.readFileSync(full, 'utf8').split('\n');
    if (start < 1 || end < start || end > lines.length) {
      problems.push(`${target}: lines ${start}-${end} do not fit in ${lines.length} lines`);
      continue;
    }
    const name = /^`([\w$.]+)`$/.exec(text)?.[1];
    if (name === undefined) {
      problems.push(`${target}: a line link must name its function as \`Name\` in the link text, not "${text}"`);
      continue;
    }
    if (!lines.slice(start - 1, end).some((line) => definesName(line, name))) {
      problems.push(`${target}: \`${name}\` is not defined in lines ${start}-${end} (run: node docs/test/relink.js docs/*.md)`);
    }
  }
  return problems;
}

const pages = fs.readdirSync(DOCS).filter((f) => f.endsWith('.md'));

describe('links in docs/', () => {
  test('there are pages, and the walkthrough links into every layer', () => {
    expect(pages).toEqual(expect.arrayContaining(['callstack.md', 'architecture.md']));
    const callstack = fs.readFileSync(path.join(DOCS, 'callstack.md'), 'utf8');
    for (const pkg of ['express-sock', 'simple-websocket', 'wsproto']) {
      expect(callstack).toContain(`../packages/${pkg}/src/`);
    }
    for (const step of ['generateAcceptToken', 'FrameProtocol.sendData', 'FrameDecoder.readHeader', 'applyMask']) {
      expect(callstack).toContain(`[\`${step}\`]`);
    }
  });

  test.each(pages)('%s: every link resolves and names what it points at', (page) => {
    expect(checkLinks(fs.readFileSync(path.join(DOCS, page), 'utf8'), DOCS)).toEqual([]);
  });

  test('the checker catches a missing file, a range past the end, and a name outside its range', () => {
    const src = '../packages/wsproto/src/mask.ts';
    const lines = fs.readFileSync(path.join(DOCS, src), 'utf8').split('\n').length;
    const bad = [
      `[\`applyMask\`](../packages/wsproto/src/gone.ts#L1-L2)`,
      `[\`applyMask\`](${src}#L1-L${lines + 5})`,
      `[\`applyMask\`](${src}#L1-L3)`,
      `[the mask](${src}#L1-L3)`,
    ].join('\n');
    const problems = checkLinks(bad, DOCS);
    expect(problems).toHaveLength(4);
    expect(problems[0]).toMatch(/no such file/);
    expect(problems[1]).toMatch(/do not fit/);
    expect(problems[2]).toMatch(/not defined in lines 1-3/);
    expect(problems[3]).toMatch(/must name its function/);
  });
});

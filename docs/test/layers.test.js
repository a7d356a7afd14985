// The layering rule, checked: imports only point down (express-sock →
// simple-websocket → wsproto), and the sans-IO core touches no network,
// TLS, HTTP or timers.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.join(__dirname, '..', '..');
const IMPORT = /(?:from\s+|require\(|import\()\s*['"]([^'"]+)['"]/g;

function importsOf(pkg) {
  const dir = path.join(ROOT, 'packages', pkg, 'src');
  const found = [];
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
    for (const [, spec] of fs.readFileSync(path.join(dir, file), 'utf8').matchAll(IMPORT)) found.push(`${file}: ${spec}`);
  }
  return found;
}

const forbidden = {
  wsproto: [/@wsstack\//, /^(node:)?(net|tls|http|https|http2|dgram|timers)(\/|$)/],
  'simple-websocket': [/@wsstack\/express-sock/],
  'express-sock': [],
};

test.each(Object.keys(forbidden))('%s imports nothing from above it', (pkg) => {
  const found = importsOf(pkg);
  expect(found.length).toBeGreaterThan(0);
  expect(found.filter((line) => forbidden[pkg].some((re) => re.test(line.split(': ')[1])))).toEqual([]);
});

test('the core does not call timers either', () => {
  const dir = path.join(ROOT, 'packages', 'wsproto', 'src');
  const uses = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.ts'))
    .filter((f) => /\b(setTimeout|setInterval|setImmediate)\s*\(/.test(fs.readFileSync(path.join(dir, f), 'utf8')));
  expect(uses).toEqual([]);
});

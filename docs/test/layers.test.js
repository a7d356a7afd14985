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
  // The core's one package below it is llhttp's (see docs/architecture.md).
  wsproto: [/@wsstack\/(?!llhttp$)/, /^(node:)?(net|tls|http|https|http2|dgram|timers)(\/|$)/],
  'simple-websocket': [/@wsstack\/(express-sock|redis)/],
  'express-sock': [/@wsstack\/redis/],
  // A backplane for the socket layer's topics: it knows nothing of Express.
  redis: [/@wsstack\/express-sock/],
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

/** The relative imports of each module in a package's src, `import type` included. */
function moduleGraph(pkg) {
  const dir = path.join(ROOT, 'packages', pkg, 'src');
  const graph = new Map();
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
    const deps = [];
    for (const [, spec] of fs.readFileSync(path.join(dir, file), 'utf8').matchAll(IMPORT)) {
      if (spec.startsWith('./')) deps.push(`${spec.slice(2)}.ts`);
    }
    graph.set(file, deps);
  }
  return graph;
}

/** One import cycle of `graph` as a list of modules, or null. */
function findCycle(graph) {
  const state = new Map(); // module -> 'open' while on the DFS stack, 'done' after
  const stack = [];
  const visit = (node) => {
    state.set(node, 'open');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === 'open') return [...stack.slice(stack.indexOf(next)), next];
      if (!state.has(next)) {
        const cycle = visit(next);
        if (cycle) return cycle;
      }
    }
    stack.pop();
    state.set(node, 'done');
    return null;
  };
  for (const node of graph.keys()) {
    if (state.has(node)) continue;
    const cycle = visit(node);
    if (cycle) return cycle;
  }
  return null;
}

test.each(Object.keys(forbidden))('%s has no import cycle between its modules', (pkg) => {
  expect(findCycle(moduleGraph(pkg))).toBeNull();
});

test('the cycle check finds a loop', () => {
  const graph = new Map([['a.ts', ['b.ts']], ['b.ts', ['c.ts']], ['c.ts', ['a.ts']], ['d.ts', []]]);
  expect(findCycle(graph)).toEqual(['a.ts', 'b.ts', 'c.ts', 'a.ts']);
  expect(findCycle(new Map([['a.ts', ['b.ts']], ['b.ts', []]]))).toBeNull();
});

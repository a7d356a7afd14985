// Where a function, method or class is defined in a TypeScript source: the
// link checker (links.test.js), relink.js, the demo's inspector (which links
// each trace step to its lines) and `node docs/test/definitions.js` (which
// prints the links to paste into the docs) share this one definition.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

/** Escapes a name for a RegExp. */
const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * What a line that defines `name` looks like: a function, class, method,
 * getter, generator method, or a const bound to a function. The last
 * segment of `A.b` is used.
 */
function definition(name) {
  const n = escape(name.split('.').pop());
  return new RegExp(
    `^\\s*(export\\s+)?(default\\s+)?(async\\s+)?(function\\*?\\s+${n}\\b|(abstract\\s+)?class\\s+${n}\\b|(const|let)\\s+${n}\\s*[:=]|` +
      `((public|private|protected|static|override|readonly|async|abstract)\\s+)*(get\\s+|set\\s+|\\*\\s*)?${n}\\s*[(<])`,
  );
}

/** Whether `line` defines `name` (see {@link definition}). */
function definesName(line, name) {
  return definition(name).test(line);
}

/** A file's lines, read again only when it changed (the demo asks many times). */
const read = new Map();
function linesOf(file) {
  const mtime = fs.statSync(file).mtimeMs;
  const known = read.get(file);
  if (known !== undefined && known.mtime === mtime) return known.lines;
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  read.set(file, { mtime, lines });
  return lines;
}

/** 1-based [start, end] of `name`'s definition in `file` (end: its closing brace at the same indent), or null. */
function locate(file, name) {
  const lines = linesOf(file);
  // `Class.method`: look for the method after the class's own line.
  const dot = name.lastIndexOf('.');
  const owner = dot < 0 ? null : definition(name.slice(0, dot));
  const from = owner === null ? 0 : lines.findIndex((line) => owner.test(line));
  if (from < 0) return null; // the class is not in this file
  const defines = definition(name);
  const find = (ok) => lines.findIndex((line, i) => i >= from && defines.test(line) && ok(line));
  // An overload signature ends in ';': prefer the definition with a body.
  let start = find((line) => !/;\s*$/.test(line));
  if (start < 0) start = find(() => true);
  if (start < 0) return null;
  const indent = lines[start].match(/^\s*/)[0];
  let end = start;
  if (!/;\s*$/.test(lines[start])) {
    end = lines.findIndex((line, i) => i > start && line.startsWith(`${indent}}`));
    if (end < 0) end = start;
  }
  return [start + 1, end + 1];
}

const ROOT = path.join(__dirname, '..', '..');

/** Every TypeScript source of every package, relative to the repository root. */
function sources() {
  const out = [];
  for (const pkg of fs.readdirSync(path.join(ROOT, 'packages'))) {
    const dir = path.join('packages', pkg, 'src');
    if (!fs.existsSync(path.join(ROOT, dir))) continue;
    for (const f of fs.readdirSync(path.join(ROOT, dir))) if (f.endsWith('.ts') && !f.endsWith('.d.ts')) out.push(`${dir}/${f}`);
  }
  return out;
}

/** Every package source (packages/NAME/src) that defines `name`: `[file, [start, end]]`, file relative to the repository root. */
function definitionsOf(name) {
  return sources()
    .map((f) => [f, locate(path.join(ROOT, f), name)])
    .filter(([, where]) => where !== null);
}

module.exports = { definesName, locate, sources, definitionsOf };

// `node docs/test/definitions.js <file> <name>...` prints markdown links relative to docs/.
if (require.main === module) {
  const [file, ...names] = process.argv.slice(2);
  for (const name of names) {
    const where = locate(file, name);
    const rel = path.relative(path.join(__dirname, '..'), path.resolve(file));
    console.log(where ? `[\`${name}\`](${rel}#L${where[0]}-L${where[1]})` : `${name}: not found in ${file}`);
  }
}

// Points every function link in a docs page at the lines that define the
// function today: `node docs/test/relink.js docs/callstack.md`. A link is
// [`Name`](../path#La-Lb); `{{path|Name}}` in a draft becomes one.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { locate } = require('./definitions');

const root = path.join(__dirname, '..', '..');

function link(file, name) {
  const where = locate(path.join(root, file), name);
  if (!where) throw new Error(`${name} is not defined in ${file}`);
  return `[\`${name}\`](../${file}#L${where[0]}-L${where[1]})`;
}

for (const page of process.argv.slice(2)) {
  const text = fs
    .readFileSync(page, 'utf8')
    .replace(/\{\{([^|}]+)\|([^}]+)\}\}/g, (_, file, name) => link(file, name))
    .replace(/\[`([\w$.]+)`\]\(\.\.\/([^#)]+)#L\d+(?:-L\d+)?\)/g, (_, name, file) => link(file, name));
  fs.writeFileSync(page, text);
}

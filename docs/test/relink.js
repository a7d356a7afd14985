// Points every function link in a docs page at the lines that define the
// function today: `node docs/test/relink.js docs/callstack.md`. A link is
// [`Name`](../path#La-Lb); `{{path|Name}}` in a draft becomes one. When the
// function left the file its link names (a module was split), the link
// follows it to the one source file under packages/*/src that defines it.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { definitionsOf, locate } = require('./definitions');

const root = path.join(__dirname, '..', '..');

/** [file, [start, end]] of `name`: in `file` if it is still there, else in the one source that defines it. */
function find(file, name) {
  const here = fs.existsSync(path.join(root, file)) ? locate(path.join(root, file), name) : null;
  if (here) return [file, here];
  const found = definitionsOf(name);
  if (found.length !== 1) {
    throw new Error(`${name}: ${found.length === 0 ? 'defined nowhere' : `defined in ${found.map(([f]) => f).join(', ')}`} (was ${file})`);
  }
  return found[0];
}

function link(file, name) {
  const [at, where] = find(file, name);
  return `[\`${name}\`](../${at}#L${where[0]}-L${where[1]})`;
}

module.exports = { find };

if (require.main === module) {
  for (const page of process.argv.slice(2)) {
    const text = fs
      .readFileSync(page, 'utf8')
      .replace(/\{\{([^|}]+)\|([^}]+)\}\}/g, (_, file, name) => link(file, name))
      .replace(/\[`([\w$.]+)`\]\(\.\.\/([^#)]+)#L\d+(?:-L\d+)?\)/g, (_, name, file) => link(file, name));
    fs.writeFileSync(page, text);
  }
}

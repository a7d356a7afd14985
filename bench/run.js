// `npm run bench`: every suite, ours and ws side by side in one process tree,
// ratios taken within this run only (absolute figures move 2x between runs).
'use strict';
const path = require('node:path');
const fs = require('node:fs');

const suites = {
  codec: () => require('./codec').run(),
  stack: () => require('./stack').run(),
  e2e: () => require('./e2e').run(),
  h2: () => require('./h2').run(),
  reliability: () => require('./reliability').run(),
  topics: () => require('./topics').run(),
  memory: () => require('./memory').run(),
};

async function main() {
  const only = process.argv.slice(2);
  const names = only.length ? only : Object.keys(suites);
  fs.mkdirSync(path.join(__dirname, 'results'), { recursive: true });
  for (const name of names) {
    if (!suites[name]) throw new Error(`unknown suite ${name}; have ${Object.keys(suites).join(', ')}`);
    await suites[name]();
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});

// The inspector's links: each trace step names its function, and this finds
// the lines that define it with the very lookup the docs' link checker uses
// (docs/test/definitions.js), at run time, so a link cannot go stale. The
// page a link opens shows the source with those lines marked.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { definitionsOf, sources } = require('../../docs/test/definitions');

const ROOT = path.join(__dirname, '..', '..');
const links = new Map();

/**
 * Where `fn` (`Class.method` or `function`) is defined:
 * `{ href: '/source/packages/…/x.ts#L10-L20', at: 'x.ts:10' }`, or null
 * when no one source defines it.
 */
function linkFor(fn) {
  if (!links.has(fn)) {
    const found = definitionsOf(fn);
    if (found.length !== 1) links.set(fn, null);
    else {
      const [file, [start, end]] = found[0];
      links.set(fn, { href: `/source/${file}#L${start}-L${end}`, at: `${path.basename(file)}:${start}` });
    }
  }
  return links.get(fn);
}

const escape = (s) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);

/** Middleware mounted at /source: GET /source/<file> shows a package source with numbered lines; nothing else is served. */
function sourcePage(req, res, next) {
  const file = req.path.slice(1); // mounted at /source
  if (!sources().includes(file)) return next();
  const lines = fs.readFileSync(path.join(ROOT, file), 'utf8').split('\n');
  // Each line is a block of its own: no newline between them, or <pre> would show two.
  const body = lines.map((line, i) => `<span class="line" id="L${i + 1}"><a href="#L${i + 1}">${i + 1}</a>${escape(line)}</span>`).join('');
  res.type('html').send(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(file)} · wsstack</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/style.css">
</head>
<body class="source-page">
<header><h1><a href="/">wsstack demo</a> · <code>${escape(file)}</code></h1></header>
<pre class="source"><code>${body}</code></pre>
<script src="/source.js"></script>
</body>
</html>
`);
}

module.exports = { linkFor, sourcePage };

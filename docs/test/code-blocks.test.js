// The READMEs' and guides' code blocks work as written: every ```ts block is
// type-checked under `strict` against the built packages (each block its own
// ES module, so top-level await is allowed), and every ```js block runs with
// Node and must exit 0. Blocks in other languages (sh, plain text) are not
// checked. Just before a block, a hidden comment may say
//   <!-- code-check: context
//   declare const key: string;   (code the block assumes, checked with it)
//   -->
// or <!-- code-check: skip (why) -->; keep both rare.
'use strict';
const { execFile } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { promisify } = require('node:util');
const ts = require('typescript');

const ROOT = path.join(__dirname, '..', '..');
const TS_LANGS = new Set(['ts', 'typescript']);
const JS_LANGS = new Set(['js', 'javascript', 'cjs']);

/** The Markdown files whose blocks are checked: the READMEs and docs/*.md. */
function pages() {
  const packages = fs.readdirSync(path.join(ROOT, 'packages')).map((dir) => `packages/${dir}/README.md`);
  const docs = fs.readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`);
  return ['README.md', ...packages, ...docs].filter((page) => fs.existsSync(path.join(ROOT, page)));
}

/**
 * The fenced blocks of `markdown`: language, code, the 1-based line of the
 * code's first line, and the marker comment that ends right before the fence.
 */
function codeBlocks(markdown) {
  const lines = markdown.split('\n');
  const blocks = [];
  for (let i = 0; i < lines.length; i++) {
    const open = lines[i].match(/^(\s*)(`{3,}|~{3,})\s*([\w+-]*)/);
    if (!open) continue;
    const [, indent, fence, lang] = open;
    let end = i + 1;
    while (end < lines.length && !lines[end].trimStart().startsWith(fence)) end++;
    const code = lines.slice(i + 1, end).map((line) => (line.startsWith(indent) ? line.slice(indent.length) : line));
    blocks.push({ lang: lang.toLowerCase(), code: `${code.join('\n')}\n`, line: i + 2, marker: markerBefore(lines, i) });
    i = end;
  }
  return blocks;
}

/** A `<!-- code-check: ... -->` comment ending on the line before `fenceIndex` (a blank line between is allowed). */
function markerBefore(lines, fenceIndex) {
  let end = fenceIndex - 1;
  if (end >= 0 && lines[end].trim() === '') end--;
  if (end < 0 || !lines[end].trim().endsWith('-->')) return null;
  let start = end;
  while (start > 0 && !lines[start].includes('<!--')) start--;
  const text = lines.slice(start, end + 1).join('\n');
  const found = text.match(/<!--\s*code-check:\s*(context|skip)\b([\s\S]*?)-->/);
  if (!found) return null;
  return found[1] === 'skip' ? { skip: found[2].trim() } : { context: found[2].replace(/^[^\n]*\n/, '') };
}

/** Every checked block of every page, with a name that says where it is. */
function collect(pageList) {
  const blocks = [];
  for (const page of pageList) {
    for (const block of codeBlocks(fs.readFileSync(path.join(ROOT, page), 'utf8'))) {
      const kind = TS_LANGS.has(block.lang) ? 'ts' : JS_LANGS.has(block.lang) ? 'js' : null;
      if (kind === null) continue;
      blocks.push({ ...block, kind, page, name: `${page}:${block.line} (${block.lang})` });
    }
  }
  return blocks;
}

const COMPILER_OPTIONS = {
  strict: true,
  target: ts.ScriptTarget.ES2022,
  lib: ['lib.es2022.d.ts'],
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  types: ['node'],
  typeRoots: [path.join(ROOT, 'node_modules', '@types')],
  esModuleInterop: true,
  skipLibCheck: true,
  noEmit: true,
};

/**
 * Type-checks the `ts` blocks in one program: each is a virtual .mts file
 * beside the docs, so `@wsstack/*` and express resolve as from the repository.
 * Returns block name -> messages, each placed at its Markdown line.
 */
function typeCheck(blocks) {
  const files = new Map();
  blocks.forEach((block, n) => {
    const context = block.marker?.context ?? '';
    const offset = context === '' ? 0 : context.split('\n').length - 1;
    const file = path.join(ROOT, 'docs', '.code-blocks', `${block.page.replace(/\W+/g, '-')}-${n}.mts`).split(path.sep).join('/');
    files.set(file, { block, text: context + block.code, offset });
  });
  const host = ts.createCompilerHost(COMPILER_OPTIONS);
  const { fileExists, readFile, getSourceFile } = host;
  host.fileExists = (file) => files.has(file) || fileExists.call(host, file);
  host.readFile = (file) => files.get(file)?.text ?? readFile.call(host, file);
  host.getSourceFile = (file, language, ...rest) =>
    files.has(file) ? ts.createSourceFile(file, files.get(file).text, language) : getSourceFile.call(host, file, language, ...rest);
  const program = ts.createProgram([...files.keys()], COMPILER_OPTIONS, host);

  const problems = new Map(blocks.map((block) => [block.name, []]));
  for (const diagnostic of ts.getPreEmitDiagnostics(program)) {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
    const entry = diagnostic.file && files.get(diagnostic.file.fileName);
    if (!entry) throw new Error(`a diagnostic outside the blocks (is the build missing? run npm run build): ${message}`);
    const { line } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start ?? 0);
    const where = line < entry.offset ? 'in its code-check context' : `${entry.block.page}:${entry.block.line + line - entry.offset}`;
    problems.get(entry.block.name).push(`${where}: TS${diagnostic.code} ${message}`);
  }
  return problems;
}

/** Runs a `js` block as a CommonJS file; `@wsstack/*` resolve through the repository's node_modules. */
async function runBlock(block, dir) {
  const file = path.join(dir, `${block.page.replace(/\W+/g, '-')}-${block.line}.js`);
  fs.writeFileSync(file, (block.marker?.context ?? '') + block.code);
  try {
    await promisify(execFile)(process.execPath, [file], {
      cwd: dir,
      env: { ...process.env, NODE_PATH: path.join(ROOT, 'node_modules') },
      timeout: 20000,
    });
    return [];
  } catch (error) {
    return [`${block.name} failed: ${error.killed ? 'still running after 20 s' : `exit ${error.code}`}\n${error.stderr}`];
  }
}

/** A page for the checker's own test; its ts block is type-checked in the same program as the real ones. */
const CHECKER_PAGE = [
  'Text.',
  '<!-- code-check: context',
  'declare const port: number;',
  '-->',
  '```ts',
  "import { Sock } from '@wsstack/express-sock';",
  'new Sock().attach(port);',
  'requireUser();',
  '```',
  '<!-- code-check: skip (not ours) -->',
  '```js',
  'nonsense(',
  '```',
  '```js',
  "throw new Error('no');",
  '```',
].join('\n');
const checkerBlocks = codeBlocks(CHECKER_PAGE).map((block) => ({ ...block, page: 'EXAMPLE.md', name: `EXAMPLE.md:${block.line}` }));

const blocks = collect(pages());
const checked = blocks.filter((block) => !block.marker?.skip);
let tsProblems;
let jsProblems;
let tmp;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wsstack-blocks-'));
  // The scripts run in child processes while this one type-checks; one
  // program for every ts block, as loading the types they share is most of the work.
  const runs = [...checked.filter((block) => block.kind === 'js'), checkerBlocks[2]].map(async (block) => [block.name, await runBlock(block, tmp)]);
  tsProblems = typeCheck([...checked.filter((block) => block.kind === 'ts'), checkerBlocks[0]]);
  jsProblems = new Map(await Promise.all(runs));
}, 120000);

afterAll(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe('code blocks in the READMEs and docs', () => {
  test('there are blocks to check, in every README', () => {
    expect(checked.filter((b) => b.kind === 'ts').length).toBeGreaterThan(3);
    for (const page of pages().filter((p) => p.endsWith('README.md'))) expect(checked.some((b) => b.page === page)).toBe(true);
  });

  test('a skipped block says why', () => {
    expect(blocks.filter((block) => block.marker?.skip === '').map((block) => block.name)).toEqual([]);
  });

  test.each(checked.filter((b) => b.kind === 'ts').map((b) => [b.name]))('%s type-checks', (name) => {
    expect(tsProblems.get(name)).toEqual([]);
  });

  test.each(checked.filter((b) => b.kind === 'js').map((b) => [b.name]))('%s runs', (name) => {
    expect(jsProblems.get(name)).toEqual([]);
  });
});

describe('the checker', () => {
  test('reads blocks, their lines and their markers', () => {
    const found = codeBlocks(CHECKER_PAGE);
    expect(found.map(({ lang, line, marker }) => [lang, line, marker])).toEqual([
      ['ts', 6, { context: 'declare const port: number;\n' }],
      ['js', 12, { skip: '(not ours)' }],
      ['js', 15, null],
    ]);
  });

  test('reports a wrong type and an undefined name at their Markdown lines, and a failing script', () => {
    const [tsBlock, , jsBlock] = checkerBlocks;
    expect(tsProblems.get(tsBlock.name)).toEqual([expect.stringMatching(/^EXAMPLE\.md:7: TS2345 /), expect.stringMatching(/^EXAMPLE\.md:8: TS2304 Cannot find name 'requireUser'/)]);
    expect(jsProblems.get(jsBlock.name)).toEqual([expect.stringMatching(/exit 1\n[\s\S]*Error: no/)]);
  });
});

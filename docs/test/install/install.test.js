// The README's Install section, done for real: every workspace is packed
// (its `prepack` builds it), the tarballs are installed into a project
// outside the repository with Express 4 and with Express 5, and that
// project's app.ts (app.ws, router.ws, `strict`, no skipLibCheck) is
// type-checked with the repository's TypeScript and run on 127.0.0.1.
// The packages come from the root package.json's `workspaces`, the one list
// of them; the registry packages from the repository's lock (see consumer-lock.js).
'use strict';
const { execFile } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { promisify } = require('node:util');
const { consumerLock } = require('./consumer-lock');

const run = promisify(execFile);
const ROOT = path.join(__dirname, '..', '..', '..');
const CONSUMER = path.join(__dirname, 'consumer');
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const TSC = require.resolve('typescript/bin/tsc', { paths: [ROOT] });

/** Our packages: each workspace's folder (as the lock names it) and manifest. */
const workspaces = require(path.join(ROOT, 'package.json')).workspaces.map((dir) => ({
  dir,
  manifest: JSON.parse(fs.readFileSync(path.join(ROOT, dir, 'package.json'), 'utf8')),
}));

/** The Express majors a user may have, as the repository's lock holds them. */
const variants = {
  'Express 4': { express: 'node_modules/express4', '@types/express': 'node_modules/@types/express4' },
  'Express 5': { express: 'node_modules/express', '@types/express': 'node_modules/@types/express' },
};

/** The environment of a child npm: ours, without what npm tells its scripts about this repository. */
function npmEnv() {
  const keep = new Set(['npm_config_cache', 'npm_config_userconfig', 'npm_config_globalconfig', 'npm_config_registry']);
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key) || keep.has(key.toLowerCase())));
}

let tmp;
/** Label -> the installed project's folder. */
const projects = new Map();

// Packing once and installing both projects side by side (npm waits on the
// disk while tsc computes) keeps this test near half a minute.
beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wsstack-install-'));
  const packs = path.join(tmp, 'packs');
  fs.mkdirSync(packs);
  await run(NPM, ['pack', '--workspaces', '--pack-destination', packs, '--silent'], { cwd: ROOT, env: npmEnv(), timeout: 120000 });
  const tarballs = workspaces.map(({ dir, manifest }) => {
    // npm names a tarball after the package: @scope/name@1.2.3 -> scope-name-1.2.3.tgz.
    const file = path.join(packs, `${manifest.name.replace(/^@/, '').replace('/', '-')}-${manifest.version}.tgz`);
    const integrity = `sha512-${crypto.createHash('sha512').update(fs.readFileSync(file)).digest('base64')}`;
    return { name: manifest.name, dir, file, integrity, manifest };
  });
  const rootLock = JSON.parse(fs.readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8'));
  await Promise.all(
    Object.entries(variants).map(async ([label, registryDeps]) => {
      projects.set(label, await installProject(label, rootLock, registryDeps, tarballs));
    }),
  );
}, 240000);

afterAll(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

/** Installs the tarballs and `registryDeps` into a new project under `tmp` and builds its app.ts. */
async function installProject(label, rootLock, registryDeps, tarballs) {
  const dir = path.join(tmp, label.replace(/\W+/g, '-'));
  fs.mkdirSync(dir);
  const relative = tarballs.map((t) => ({ ...t, file: path.relative(dir, t.file) }));
  const deps = { ...registryDeps, '@types/node': 'node_modules/@types/node' };
  const { manifest, lock } = consumerLock(rootLock, deps, relative);
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify(manifest, null, 2));
  fs.writeFileSync(path.join(dir, 'package-lock.json'), JSON.stringify(lock, null, 2));
  for (const file of ['app.ts', 'tsconfig.json']) fs.copyFileSync(path.join(CONSUMER, file), path.join(dir, file));

  // The cache the repository's `npm ci` filled has every tarball the lock names.
  await run(NPM, ['ci', '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: dir, env: npmEnv(), timeout: 180000 });
  try {
    await run(process.execPath, [TSC, '-p', dir], { cwd: dir, timeout: 180000 });
  } catch (error) {
    throw new Error(`app.ts does not type-check against the installed packages (${label}):\n${error.stdout}${error.stderr}`, { cause: error });
  }
  return dir;
}

describe.each(Object.keys(variants))('installed from the tarballs, with %s', (label) => {
  test('the express the project chose is the one installed', () => {
    const installed = require(path.join(projects.get(label), 'node_modules', 'express', 'package.json')).version;
    expect(installed.split('.')[0]).toBe(label.split(' ')[1]);
  });

  test('app.ws and router.ws type-check under strict, and the app serves them on a real socket', async () => {
    const dir = projects.get(label);
    const { stdout } = await run(process.execPath, [path.join(dir, 'dist', 'app.js')], { cwd: dir, timeout: 30000 });
    expect(JSON.parse(stdout)).toEqual({
      echoed: 'hello',
      reply: 'lobby, ada: hi',
      closeCode: 1000,
      refused: 401,
      accept: 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=', // RFC 6455 section 1.3
    });
  });

  test.each(workspaces.map((w) => [w.manifest.name]))('%s carries its exports, its licence and no build leftovers', (name) => {
    const installed = path.join(projects.get(label), 'node_modules', name);
    const manifest = require(path.join(installed, 'package.json'));
    const targets = Object.values(manifest.exports).flatMap((target) => (typeof target === 'string' ? [target] : Object.values(target)));
    expect(targets.filter((target) => !fs.existsSync(path.join(installed, target)))).toEqual([]);
    expect(fs.existsSync(path.join(installed, 'LICENSE'))).toBe(true);
    expect(fs.existsSync(path.join(installed, 'dist', '.tsbuildinfo'))).toBe(false);
  });
});

// consumer-lock.js on a small made-up lock: what Node resolves in the new
// tree is what it resolves in the repository, conflicts included.
'use strict';
const { consumerLock } = require('./consumer-lock');

const entry = (version, dependencies) => ({ version, integrity: `sha512-${version}`, dev: true, ...(dependencies && { dependencies }) });

// The repository: app4 (an alias of app@4) needs c@1, which conflicts with the
// top-level c@2 that app@5 needs; both need d, which needs c too.
const rootLock = {
  packages: {
    '': { name: 'repo' },
    'node_modules/app': entry('5.0.0', { c: '^2', d: '*' }),
    'node_modules/app4': { name: 'app', ...entry('4.0.0', { c: '^1', d: '*' }) },
    'node_modules/app4/node_modules/c': entry('1.0.0'),
    'node_modules/c': entry('2.0.0'),
    'node_modules/d': entry('1.0.0', { c: '*' }),
    'node_modules/@us/top': { resolved: 'packages/top', link: true },
    'packages/top': { name: '@us/top', version: '0.1.0', dependencies: { d: '*' } },
  },
};
const tarball = { name: '@us/top', dir: 'packages/top', file: 'top.tgz', integrity: 'sha512-top', manifest: { name: '@us/top', version: '0.1.0', license: 'MIT', dependencies: { d: '*' } } };

/** The version Node finds for `name` required from the package at `from` in `lock`. */
function versionFrom(lock, from, name) {
  for (let dir = from; ; dir = dir.slice(0, Math.max(0, dir.lastIndexOf('/node_modules/')))) {
    const found = lock.packages[`${dir ? `${dir}/` : ''}node_modules/${name}`];
    if (found) return found.version;
    if (!dir) return null;
  }
}

test('an aliased package installs under its own name, and every package finds the versions it found in the repository', () => {
  const { manifest, lock } = consumerLock(rootLock, { app: 'node_modules/app4' }, [tarball]);
  expect(manifest.dependencies).toEqual({ '@us/top': 'file:top.tgz', app: '4.0.0' });
  expect(lock.packages[''].dependencies).toEqual(manifest.dependencies);
  // No repository flags, no name where it is the folder's.
  expect(lock.packages['node_modules/app']).toEqual({ version: '4.0.0', integrity: 'sha512-4.0.0', dependencies: { c: '^1', d: '*' } });
  expect(lock.packages['node_modules/@us/top']).toMatchObject({ version: '0.1.0', resolved: 'file:top.tgz', integrity: 'sha512-top' });
  expect(versionFrom(lock, 'node_modules/app', 'c')).toBe('1.0.0');
  const d = Object.keys(lock.packages).find((key) => key.endsWith('node_modules/d'));
  expect(versionFrom(lock, d, 'c')).toBe('2.0.0'); // in the repository, d found the top-level c@2
  expect(versionFrom(lock, 'node_modules/@us/top', 'd')).toBe('1.0.0');
  expect(Object.keys(lock.packages).filter((key) => key.endsWith('node_modules/c'))).toHaveLength(2);
});

test('a dependency missing from the repository lock is an error, not a guess', () => {
  const broken = { packages: { ...rootLock.packages, 'node_modules/d': entry('1.0.0', { e: '*' }) } };
  expect(() => consumerLock(broken, { app: 'node_modules/app' }, [tarball])).toThrow(/e, needed by d@1.0.0/);
});

test("a peer of ours the project did not choose is installed at the top, as npm does; one it chose is left alone", () => {
  const withPeers = { ...tarball, manifest: { ...tarball.manifest, peerDependencies: { app: '*', c: '*', e: '*' }, peerDependenciesMeta: { e: { optional: true } } } };
  const { manifest, lock } = consumerLock(rootLock, { app: 'node_modules/app4' }, [withPeers]);
  expect(manifest.dependencies).toEqual({ '@us/top': 'file:top.tgz', app: '4.0.0' });
  expect(lock.packages['node_modules/app'].version).toBe('4.0.0'); // the project's choice, not the repository's top-level app@5
  expect(lock.packages['node_modules/c']).toMatchObject({ version: '2.0.0', peer: true });
  expect(lock.packages['node_modules/e']).toBeUndefined(); // optional: not installed
});

// The package.json and package-lock.json of a project outside this
// repository that installs our tarballs, derived from the repository's own
// lock: `npm ci` then installs exactly the versions tested here, from the
// cache the repository's `npm ci` filled, and no registry is asked to resolve
// a range (a cache holds tarballs, not the registry's version lists).
'use strict';

/** Lock keys where Node looks for `name` required from the folder `from`, nearest first. */
function candidates(from, name) {
  const keys = [];
  for (let dir = from; ; dir = dir.slice(0, Math.max(0, dir.lastIndexOf('/')))) {
    keys.push(`${dir ? `${dir}/` : ''}node_modules/${name}`);
    if (!dir) return keys;
  }
}

/** The lock key that `name`, required from the folder `from`, resolves to in `packages`, or null. */
function resolveIn(packages, from, name) {
  return candidates(from, name).find((key) => packages[key] !== undefined) ?? null;
}

/** The dependencies npm installs for a lock entry or a manifest: regular ones, and peers not marked optional. */
function wanted(entry) {
  const peers = Object.keys(entry.peerDependencies ?? {}).filter((n) => !entry.peerDependenciesMeta?.[n]?.optional);
  return [...Object.keys(entry.dependencies ?? {}), ...peers];
}

/** Flags that described an entry's place in the repository (a dev dependency there is a plain one here). */
const REPOSITORY_FLAGS = ['dev', 'devOptional', 'optional', 'peer', 'extraneous', 'inBundle'];

/** A lock entry for the new tree: no repository flags, and `name` only where it differs from the folder (an alias). */
function cleanEntry(entry, placedAs) {
  const clean = Object.fromEntries(Object.entries(entry).filter(([key]) => !REPOSITORY_FLAGS.includes(key)));
  if (clean.name === placedAs) delete clean.name;
  return clean;
}

/**
 * @param {object} rootLock the repository's package-lock.json
 * @param {Record<string, string>} registryDeps the project's own dependencies: name -> the repository lock key
 *   to take it from (`{ express: 'node_modules/express4' }` installs the repository's Express 4 as `express`)
 * @param {Array<{ name: string, dir: string, file: string, integrity: string, manifest: object }>} tarballs
 *   our packed packages: `dir` their workspace folder, `file` the tarball relative to the project
 * @returns {{ manifest: object, lock: object }}
 */
function consumerLock(rootLock, registryDeps, tarballs) {
  const source = rootLock.packages;
  const ours = new Map(tarballs.map((t) => [t.name, t]));
  /** location in the new tree -> { id, entry, from (where its own dependencies resolve in the repository, or null for ours) } */
  const tree = new Map();

  const registryNode = (key) => {
    const entry = source[key];
    if (!entry) throw new Error(`${key} is not in the repository's package-lock.json`);
    if (entry.link) throw new Error(`${key} is a workspace link, not a registry package`);
    return { id: `${key.split('node_modules/').pop()}@${entry.version}#${entry.integrity}`, entry, from: key };
  };
  const tarballNode = (t) => ({
    id: `tarball:${t.name}`,
    from: null,
    manifest: t.manifest,
    entry: {
      version: t.manifest.version,
      resolved: `file:${t.file}`,
      integrity: t.integrity,
      license: t.manifest.license,
      ...(t.manifest.dependencies && { dependencies: t.manifest.dependencies }),
      ...(t.manifest.peerDependencies && { peerDependencies: t.manifest.peerDependencies }),
      ...(t.manifest.peerDependenciesMeta && { peerDependenciesMeta: t.manifest.peerDependenciesMeta }),
      ...(t.manifest.engines && { engines: t.manifest.engines }),
    },
  });

  /** What `name`, a dependency of `node`, is: ours (a tarball) or the repository's resolution of it. */
  const dependencyOf = (node, name) => {
    if (ours.has(name)) return tarballNode(ours.get(name));
    const from = node.from ?? ours.get(node.manifest.name).dir;
    const key = resolveIn(source, from, name);
    if (key === null) throw new Error(`${name}, needed by ${node.id}, is not in the repository's package-lock.json`);
    const linked = source[key].link ? source[key].resolved : null;
    if (linked !== null) throw new Error(`${name}, needed by ${node.id}, is a workspace that was not packed`);
    return registryNode(key);
  };

  // Placement keeps what Node resolves equal to what it resolves in the
  // repository: at the top when the name is free there, reused where the same
  // package already is on the path, else nested under the package that needs it.
  const place = (location, name, node) => {
    const keys = candidates(location, name);
    for (const key of keys) {
      const there = tree.get(key);
      if (there === undefined) continue;
      if (there.id === node.id) return null;
      tree.set(keys[0], node);
      return keys[0];
    }
    const top = keys[keys.length - 1];
    tree.set(top, node);
    return top;
  };

  const todo = [];
  const dependencies = {};
  for (const t of tarballs) {
    tree.set(`node_modules/${t.name}`, tarballNode(t));
    todo.push(`node_modules/${t.name}`);
    dependencies[t.name] = `file:${t.file}`;
  }
  for (const [name, key] of Object.entries(registryDeps)) {
    const node = registryNode(key);
    tree.set(`node_modules/${name}`, node);
    todo.push(`node_modules/${name}`);
    dependencies[name] = node.entry.version;
  }
  // Our packages' peers (express, its types) are the project's choice. One
  // the project did not make goes to the top, as npm installs a missing peer:
  // the version the repository has.
  for (const t of tarballs) {
    for (const name of wanted(t.manifest).filter((n) => !(n in (t.manifest.dependencies ?? {})))) {
      if (tree.has(`node_modules/${name}`)) continue;
      tree.set(`node_modules/${name}`, { ...dependencyOf(tarballNode(t), name), peer: true });
      todo.push(`node_modules/${name}`);
    }
  }

  // Breadth first, and all of a package's dependencies placed before any of
  // theirs, so a package nested under another cannot hide one placed earlier.
  while (todo.length > 0) {
    const location = todo.shift();
    const node = tree.get(location);
    const names = node.from === null ? Object.keys(node.manifest.dependencies ?? {}) : wanted(node.entry);
    for (const name of names) {
      const placed = place(location, name, dependencyOf(node, name));
      if (placed !== null) todo.push(placed);
    }
  }
  verify(tree, dependencyOf);

  const name = 'wsstack-consumer';
  const manifest = { name, version: '1.0.0', private: true, dependencies };
  const packages = { '': { name, version: '1.0.0', dependencies } };
  for (const location of [...tree.keys()].sort()) {
    const node = tree.get(location);
    packages[location] = { ...cleanEntry(node.entry, location.split('node_modules/').pop()), ...(node.peer && { peer: true }) };
  }
  return { manifest, lock: { name, version: '1.0.0', lockfileVersion: 3, requires: true, packages } };
}

/** Every dependency in the new tree resolves, the way Node resolves it, to what the repository's lock says. */
function verify(tree, dependencyOf) {
  const problems = [];
  for (const [location, node] of tree) {
    const names = node.from === null ? Object.keys(node.manifest.dependencies ?? {}) : wanted(node.entry);
    for (const name of names) {
      const key = candidates(location, name).find((k) => tree.has(k));
      const expected = dependencyOf(node, name).id;
      if (key === undefined || tree.get(key).id !== expected) problems.push(`${location} -> ${name}: ${key ? tree.get(key).id : 'missing'}, not ${expected}`);
    }
  }
  if (problems.length > 0) throw new Error(`the derived lock resolves differently from the repository's:\n${problems.join('\n')}`);
}

module.exports = { consumerLock };

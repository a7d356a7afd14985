// Writes llhttp.wasm: the WebAssembly build of llhttp that undici ships, taken
// from the exact undici version in devDependencies and checked against the
// digest below, so a new llhttp reaches wsstack only when someone bumps the
// pin, updates LLHTTP_SHA256 and runs the tests. The constants index.js
// declares are checked against undici's copy of llhttp's C API here too.
'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const UNDICI = require('./package.json').devDependencies.undici;
/** sha256 of the wasm module taken from undici@UNDICI. */
const LLHTTP_SHA256 = '57184a16144b5bc880e29105fa35d75c93dd318563e1b743e110de845e2ab661';

const out = path.join(__dirname, 'llhttp.wasm');

function build() {
  let undiciDir;
  try {
    undiciDir = path.dirname(require.resolve('undici/package.json'));
  } catch {
    // Installed from a tarball: llhttp.wasm came with it and undici did not.
    if (fs.existsSync(out)) return;
    throw new Error('@wsstack/llhttp: undici is not installed, and llhttp.wasm is missing (run npm install in the repository)');
  }
  const version = require(path.join(undiciDir, 'package.json')).version;
  if (version !== UNDICI) throw new Error(`@wsstack/llhttp: found undici ${version}, pinned ${UNDICI}: run npm install`);
  // Loading the module undici wraps the bytes in: a Buffer of the wasm module.
  const wasm = require(path.join(undiciDir, 'lib/llhttp/llhttp-wasm.js'));
  const digest = crypto.createHash('sha256').update(wasm).digest('hex');
  if (digest !== LLHTTP_SHA256) {
    throw new Error(`@wsstack/llhttp: llhttp.wasm from undici ${UNDICI} has sha256 ${digest}, expected ${LLHTTP_SHA256}`);
  }
  const theirs = require(path.join(undiciDir, 'lib/llhttp/constants.js'));
  const ours = require('./constants');
  for (const group of ['TYPE', 'ERROR']) {
    for (const [name, value] of Object.entries(ours[group])) {
      if (theirs[group][name] !== value) throw new Error(`@wsstack/llhttp: ${group}.${name} is ${theirs[group][name]} in this llhttp, ${value} here`);
    }
  }
  for (const [name, value] of Object.entries(theirs.METHODS)) {
    if (ours.METHOD_NAMES[value] !== name) throw new Error(`@wsstack/llhttp: method ${value} is ${name} in this llhttp, ${ours.METHOD_NAMES[value]} here`);
  }
  if (!fs.existsSync(out) || !fs.readFileSync(out).equals(wasm)) fs.writeFileSync(out, wasm);
}

build();

// @wsstack/llhttp: llhttp's WebAssembly module and the constants to drive it.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { TYPE, ERROR, METHOD_NAMES } = require('./constants');

/** The module's bytes, read once when this package loads. */
const wasm = fs.readFileSync(path.join(__dirname, 'llhttp.wasm'));

module.exports = { wasm, TYPE, ERROR, METHOD_NAMES };

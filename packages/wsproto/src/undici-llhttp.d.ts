/**
 * Types for the one untyped file of undici that `http-parser.ts` loads: the
 * WebAssembly build of llhttp, shipped as a Buffer of wasm bytes.
 */
declare module 'undici/lib/llhttp/llhttp-wasm.js' {
  const wasmBytes: Uint8Array;
  export = wasmBytes;
}

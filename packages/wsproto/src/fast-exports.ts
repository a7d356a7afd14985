/**
 * TypeScript compiles `export { x } from` and `export *` to getters defined
 * one at a time on `exports`, which leaves V8 holding that object in
 * dictionary mode: each `wsproto_1.TextMessage` or `tracing` read in the
 * layers above is then a lookup and a getter call that the optimizer cannot
 * inline, about 1,700 instructions per echoed message
 * (bench/roundtrip-instr.js). An object that becomes a prototype is turned
 * back into a fast one, so the entry modules make theirs one.
 *
 * @module
 */

/** Makes V8 keep a module's `exports` in fast mode (see the module note). */
export function fastExports(exports: object): void {
  // A constructor's prototype, once an instance is made (Object.create(exports) did less).
  const Holder = function (): void {} as unknown as new () => object;
  Holder.prototype = exports;
  new Holder();
}

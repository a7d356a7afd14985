/**
 * `@wsstack/llhttp`: the WebAssembly build of llhttp, the HTTP/1.1 parser of
 * Node's own `http`, with the constants of its C API. Instantiate `wasm` with
 * the `wasm_on_*` callbacks in `env`; see `@wsstack/wsproto`'s `http-parser.ts`.
 *
 * @packageDocumentation
 */

/** The llhttp WebAssembly module's bytes. */
export declare const wasm: Uint8Array;

/** `llhttp_type_t`: what a parser reads. */
export declare const TYPE: Readonly<{ BOTH: 0; REQUEST: 1; RESPONSE: 2 }>;

/** The `llhttp_errno_t` codes a caller branches on: `OK`, and the two pauses that end a message. */
export declare const ERROR: Readonly<{ OK: 0; PAUSED: 21; PAUSED_UPGRADE: 22 }>;

/** Method names by `llhttp_method_t` code, as `llhttp_get_method` returns it. */
export declare const METHOD_NAMES: readonly string[];

/**
 * An incremental HTTP/1.1 head parser on llhttp (the parser Node's `http`
 * uses), in its WebAssembly build from `@wsstack/llhttp`. This is the only
 * module that drives llhttp; the handshake sees typed heads.
 *
 * One wasm instance is compiled lazily and shared; each {@link HttpParser}
 * owns an llhttp parser struct in it. Parsing is synchronous, so one
 * module-level "current parser" routes llhttp's callbacks.
 *
 * @module
 */
import { ERROR, METHOD_NAMES, TYPE, wasm as wasmBytes } from '@wsstack/llhttp';
import { concatBytes } from './bytes';
import type { Headers } from './events';

/** What kind of message a parser reads. */
export type HttpMessageKind = 'request' | 'response';

/** Limits on the head (start line + header lines + blank line). */
export interface HttpParserLimits {
  /** Most bytes of head; more fails with `HTTP_HEADER_BYTES`. */
  maxHeaderBytes: number;
  /** Most header lines; more fails with `HTTP_HEADER_COUNT`. */
  maxHeaderCount: number;
}

/** String codes of {@link HttpParseError}. */
export type HttpParseErrorCode =
  | 'HTTP_MALFORMED' // not valid HTTP/1.x (llhttp's reason is in the message)
  | 'HTTP_HEADER_BYTES' // the head is longer than maxHeaderBytes
  | 'HTTP_HEADER_COUNT' // more header lines than maxHeaderCount
  | 'HTTP_INCOMPLETE'; // EOF before the message ended

/** The bytes could not be parsed as the HTTP message expected. The parser is unusable after it. */
export class HttpParseError extends Error {
  override readonly name = 'HttpParseError';
  readonly code: HttpParseErrorCode;
  constructor(message: string, code: HttpParseErrorCode) {
    super(message);
    this.code = code;
  }
}

/** What {@link HttpParser.execute} did with a chunk. */
export interface ExecuteResult {
  /** True once the message is complete; the parser takes no more bytes. */
  done: boolean;
  /** Bytes of the chunk that were HTTP. When `done`, the rest is not HTTP and belongs to the caller. */
  consumed: number;
}

/** The llhttp exports this module calls. */
interface Llhttp {
  memory: { buffer: ArrayBuffer };
  malloc(size: number): number;
  free(ptr: number): void;
  llhttp_alloc(type: number): number;
  llhttp_free(parser: number): void;
  llhttp_execute(parser: number, data: number, length: number): number;
  llhttp_finish(parser: number): number;
  llhttp_get_method(parser: number): number;
  llhttp_get_status_code(parser: number): number;
  llhttp_get_http_major(parser: number): number;
  llhttp_get_http_minor(parser: number): number;
  llhttp_get_error_pos(parser: number): number;
  llhttp_get_error_reason(parser: number): number;
}

/** The slice of the WebAssembly JS API used here (not in the ES lib typings). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: { env: Record<string, (...args: number[]) => number> }) => {
    exports: unknown;
  };
}

/** Bytes fed to llhttp per call once the head is complete (a response body can be long). */
const MAX_SLICE = 64 * 1024;

/** llhttp's return codes from callbacks. */
const CB_OK = 0;
const CB_ERROR = -1;
/** From on_headers_complete: "upgrade, no body": what follows the head is not HTTP. */
const CB_UPGRADE_NO_BODY = 2;

let llhttp: Llhttp | null = null;
/** The parser whose execute/finish is running: llhttp's callbacks belong to it. */
let current: HttpParser | null = null;
/** A scratch buffer inside wasm memory that input is copied into. */
let scratchPtr = 0;
let scratchSize = 0;
/** View of wasm memory, refreshed per call (memory may grow between calls, never during). */
let heap = new Uint8Array(0);
/** Frees the llhttp struct of a parser dropped without `destroy()`. */
let registry: FinalizationRegistry<number> | null = null;

function instance(): Llhttp {
  if (llhttp !== null) return llhttp;
  const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
  const module = new wasm.Module(wasmBytes);
  const exports = new wasm.Instance(module, {
    env: {
      wasm_on_message_begin: () => CB_OK,
      wasm_on_url: (_p, at, len) => (current === null ? CB_ERROR : current.onUrl(at, len)),
      wasm_on_status: (_p, at, len) => (current === null ? CB_ERROR : current.onStatus(at, len)),
      wasm_on_header_field: (_p, at, len) => (current === null ? CB_ERROR : current.onHeaderField(at, len)),
      wasm_on_header_value: (_p, at, len) => (current === null ? CB_ERROR : current.onHeaderValue(at, len)),
      wasm_on_headers_complete: () => (current === null ? CB_ERROR : current.onHeadersComplete()),
      wasm_on_body: (_p, at, len) => (current === null ? CB_ERROR : current.onBody(at, len)),
      wasm_on_message_complete: () => (current === null ? CB_ERROR : current.onMessageComplete()),
    },
  }).exports as Llhttp;
  llhttp = exports;
  registry = new FinalizationRegistry((ptr) => exports.llhttp_free(ptr));
  return exports;
}

/** Copies `bytes` into the scratch buffer (growing it) and returns its address. */
function stage(ll: Llhttp, bytes: Uint8Array): number {
  if (bytes.length > scratchSize) {
    if (scratchPtr !== 0) ll.free(scratchPtr);
    scratchSize = Math.max(4096, Math.ceil(bytes.length / 4096) * 4096);
    scratchPtr = ll.malloc(scratchSize);
  }
  heap = new Uint8Array(ll.memory.buffer);
  heap.set(bytes, scratchPtr);
  return scratchPtr;
}

/** Runs `call` (an llhttp execute or finish) with llhttp's callbacks routed to `parser`. */
function routed(parser: HttpParser, call: () => number): number {
  current = parser;
  try {
    return call();
  } finally {
    current = null;
  }
}

/** Header bytes as a string, one char per byte (latin1), as Node's http does. */
function latin1(at: number, len: number): string {
  let out = '';
  for (let i = 0; i < len; i += 4096) {
    out += String.fromCharCode(...heap.subarray(at + i, at + Math.min(len, i + 4096)));
  }
  return out;
}

/** Where the header callbacks are: they can arrive split across execute() calls. */
enum HeaderSpan {
  NONE,
  FIELD,
  VALUE,
}

/**
 * Parses one HTTP/1.x request or response head (and a response's body)
 * incrementally. Feed chunks to {@link execute} until it says `done`; any
 * split of the input gives the same result.
 *
 * For a request, the head is the whole message: whatever follows it is not
 * HTTP (a WebSocket's frames). For a response, a 101's head is the whole
 * message; another status's body is parsed (Content-Length, chunked, or
 * until {@link finish}) and handed out by {@link takeBody}.
 */
export class HttpParser {
  /** Request method (requests), e.g. `GET`. */
  method = '';
  /** Request target as sent (requests), e.g. `/chat?room=1`. */
  target = '';
  /** HTTP major version, e.g. 1. */
  httpMajor = 0;
  /** HTTP minor version, e.g. 1. */
  httpMinor = 0;
  /** Status code (responses). */
  statusCode = 0;
  /** Reason phrase (responses). */
  reason = '';
  /** Header lines in order; names lower-case, values trimmed. */
  readonly headers: Headers = [];
  /** True once the head has been parsed. */
  headComplete = false;
  /** True once the whole message has been parsed. */
  messageComplete = false;
  /** True when the response has a body (known once the head is complete). */
  hasBody = false;

  readonly kind: HttpMessageKind;
  private readonly limits: HttpParserLimits;
  private ll: Llhttp;
  private ptr: number;
  private headBytes = 0;
  private sawBytes = false;
  private span = HeaderSpan.NONE;
  /** The last field/value callback ran to the end of its input, so the next may continue it. */
  private spanOpen = false;
  private field = '';
  private value = '';
  private headerCount = 0;
  private body: Uint8Array[] = [];
  /** A limit a callback hit; llhttp only sees "callback error". */
  private failure: HttpParseError | null = null;
  /** The bounds in wasm memory of the input being parsed. */
  private inputStart = 0;
  private inputEnd = 0;

  constructor(kind: HttpMessageKind, limits: HttpParserLimits) {
    this.kind = kind;
    this.limits = limits;
    this.ll = instance();
    this.ptr = this.ll.llhttp_alloc(kind === 'request' ? TYPE.REQUEST : TYPE.RESPONSE);
    registry?.register(this, this.ptr, this);
  }

  /** `major.minor`, e.g. `1.1`. */
  get httpVersion(): string {
    return `${this.httpMajor}.${this.httpMinor}`;
  }

  /**
   * Parses the next chunk. Returns how much of it was HTTP; once `done`, the
   * bytes after `consumed` are the caller's. Limits are enforced as bytes
   * arrive: at most the remaining head budget is given to llhttp at a time.
   *
   * @throws HttpParseError on malformed input or a limit; the parser is then unusable
   */
  execute(chunk: Uint8Array): ExecuteResult {
    if (this.failure !== null) throw this.failure;
    if (this.messageComplete) return { done: true, consumed: 0 };
    if (this.ptr === 0) throw new Error('HttpParser used after destroy()');
    if (chunk.length > 0) this.sawBytes = true;
    let offset = 0;
    while (offset < chunk.length) {
      const budget = this.headComplete ? MAX_SLICE : Math.min(MAX_SLICE, this.limits.maxHeaderBytes - this.headBytes);
      const slice = chunk.subarray(offset, offset + budget);
      const at = stage(this.ll, slice);
      this.inputStart = at;
      this.inputEnd = at + slice.length;
      const ret = routed(this, () => this.ll.llhttp_execute(this.ptr, at, slice.length));
      if (ret === ERROR.PAUSED || ret === ERROR.PAUSED_UPGRADE) {
        // We pause at message end: the error position is just past it.
        return { done: true, consumed: offset + (this.ll.llhttp_get_error_pos(this.ptr) - at) };
      }
      if (ret !== ERROR.OK) throw this.fail(this.failure ?? this.malformed(ret));
      offset += slice.length;
      if (!this.headComplete) {
        this.headBytes += slice.length;
        if (this.headBytes >= this.limits.maxHeaderBytes) {
          throw this.fail(
            new HttpParseError(`HTTP head longer than ${this.limits.maxHeaderBytes} bytes`, 'HTTP_HEADER_BYTES'),
          );
        }
      }
    }
    return { done: false, consumed: chunk.length };
  }

  /**
   * The transport reached EOF. Completes a body that runs until EOF.
   * Returns true when a message is complete, false when no byte ever arrived.
   *
   * @throws HttpParseError (`HTTP_INCOMPLETE`) when EOF cut a message short
   */
  finish(): boolean {
    if (this.failure !== null) throw this.failure;
    if (this.messageComplete) return true;
    if (!this.sawBytes) return false;
    const ret = routed(this, () => this.ll.llhttp_finish(this.ptr));
    if (this.messageComplete) return true;
    throw this.fail(new HttpParseError(`connection closed mid-message (llhttp code ${ret})`, 'HTTP_INCOMPLETE'));
  }

  /** Body bytes parsed since the last call, as one array, or null if none. */
  takeBody(): Uint8Array | null {
    const pieces = this.body;
    if (pieces.length === 0) return null;
    this.body = [];
    return concatBytes(pieces);
  }

  /** Frees the llhttp struct. Idempotent; parsed fields stay readable. */
  destroy(): void {
    if (this.ptr === 0) return;
    registry?.unregister(this);
    this.ll.llhttp_free(this.ptr);
    this.ptr = 0;
  }

  // llhttp callbacks (called only while this parser is `current`).

  /** @internal */
  onUrl(at: number, len: number): number {
    this.target += latin1(at, len);
    return CB_OK;
  }

  /** @internal */
  onStatus(at: number, len: number): number {
    this.reason += latin1(at, len);
    return CB_OK;
  }

  /** @internal */
  onHeaderField(at: number, len: number): number {
    // A field continues only where the previous callback was cut by the end of
    // the last input; otherwise a new line began. (llhttp reports an empty
    // value with a zero-length callback today; this does not rely on it.)
    const continues = this.span === HeaderSpan.FIELD && this.spanOpen && at === this.inputStart;
    if (!continues) {
      if (this.span !== HeaderSpan.NONE) this.pushHeader();
      if (++this.headerCount > this.limits.maxHeaderCount) {
        this.failure = new HttpParseError(`more than ${this.limits.maxHeaderCount} header lines`, 'HTTP_HEADER_COUNT');
        return CB_ERROR;
      }
      this.span = HeaderSpan.FIELD;
    }
    this.field += latin1(at, len);
    this.spanOpen = at + len === this.inputEnd;
    return CB_OK;
  }

  /** @internal */
  onHeaderValue(at: number, len: number): number {
    this.span = HeaderSpan.VALUE;
    this.value += latin1(at, len);
    this.spanOpen = at + len === this.inputEnd;
    return CB_OK;
  }

  /** @internal */
  onHeadersComplete(): number {
    if (this.span !== HeaderSpan.NONE) this.pushHeader();
    this.headComplete = true;
    this.httpMajor = this.ll.llhttp_get_http_major(this.ptr);
    this.httpMinor = this.ll.llhttp_get_http_minor(this.ptr);
    if (this.kind === 'request') {
      this.method = METHOD_NAMES[this.ll.llhttp_get_method(this.ptr)] ?? '';
      return CB_UPGRADE_NO_BODY;
    }
    this.statusCode = this.ll.llhttp_get_status_code(this.ptr);
    this.hasBody = responseHasBody(this.statusCode, this.headers);
    return CB_OK;
  }

  /** @internal */
  onBody(at: number, len: number): number {
    this.body.push(heap.slice(at, at + len));
    return CB_OK;
  }

  /** @internal */
  onMessageComplete(): number {
    this.messageComplete = true;
    // Stop here: bytes after this message are not ours to parse.
    return ERROR.PAUSED;
  }

  private pushHeader(): void {
    this.headers.push([this.field.toLowerCase(), this.value.trim()]);
    this.field = '';
    this.value = '';
    this.span = HeaderSpan.NONE;
  }

  private malformed(ret: number): HttpParseError {
    const ptr = this.ll.llhttp_get_error_reason(this.ptr);
    let reason = `llhttp error ${ret}`;
    if (ptr !== 0) {
      heap = new Uint8Array(this.ll.memory.buffer);
      const end = heap.indexOf(0, ptr);
      reason = latin1(ptr, end - ptr);
    }
    return new HttpParseError(`malformed HTTP: ${reason}`, 'HTTP_MALFORMED');
  }

  private fail(error: HttpParseError): HttpParseError {
    this.failure = error;
    this.destroy();
    return error;
  }
}

/** Whether a response carries a body, decided from its head alone (RFC 9112 6.3). */
function responseHasBody(statusCode: number, headers: Headers): boolean {
  if (statusCode < 200 || statusCode === 204 || statusCode === 304) return false;
  let contentLength: string | null = null;
  for (const [name, value] of headers) {
    if (name === 'transfer-encoding') return true;
    if (name === 'content-length') contentLength = value;
  }
  // No length: the body runs until EOF.
  return contentLength === null || Number(contentLength) > 0;
}

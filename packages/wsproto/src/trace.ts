/**
 * The trace hook: one record per layer crossing (which connection, which
 * layer and function, what crossed), so the call stack in docs/callstack.md
 * can be watched run. The core only calls a sink someone installed; printing
 * is the caller's I/O (simple-websocket installs a stderr sink for
 * `WSSTACK_TRACE=1`).
 *
 * Call sites test {@link tracing} first, so with no sink nothing is built:
 * no record, no line, no connection id.
 *
 * Which connection a record belongs to: the layers above the core name it
 * (their socket, see {@link traceFor}); the core's own classes do not know
 * their connection, so a `WSConnection` call marks itself as the one running
 * ({@link traceEnter}) for the lines traced inside it. The core is
 * synchronous, so every core line belongs to the call that is running. Ids
 * live in a WeakMap, made the first time a connection is traced: an
 * untraced connection carries nothing for them.
 *
 * @module
 */
import type { Headers } from './headers';

/** Which end of a connection a record comes from. */
export type TraceRole = 'server' | 'client';

/** One layer crossing, as a sink receives it beside its line. */
export interface TraceRecord {
  /** The connection: 1, 2, … in the order this process first traced each; 0 when none is known. */
  readonly conn: number;
  /** Which end that connection is; null when not known. */
  readonly role: TraceRole | null;
  /** `wsproto`, `simple-websocket` or `express-sock`. */
  readonly layer: string;
  /** The function that made the step, as docs/callstack.md names it: `Class.method` or `function`. */
  readonly fn: string;
  /** What the line says after the colon. */
  readonly detail: string;
  /**
   * The bytes that crossed, for the steps that carry bytes (socket data, a
   * frame, a write), copied: callers unmask in place and reuse buffers. At
   * most {@link TRACE_BYTES_MAX}; null for steps without bytes.
   */
  readonly bytes: Uint8Array | null;
  /** How many bytes crossed: more than `bytes.length` when they were cut. */
  readonly size: number;
  /** For handshake steps that carry headers: the headers, as the core holds them. */
  readonly headers: Headers | null;
}

/**
 * Receives each trace line, e.g.
 * `server#1 wsproto WSConnection.receiveData: 11 B 81 85 37 fa …`, and the
 * record it was made from. A sink that takes only the line still fits.
 *
 * A sink runs inside the call it traces: it must not call into a connection
 * (send, close) there and then; queue what it needs and act later.
 */
export type TraceSink = (line: string, record: TraceRecord) => void;

/** The most bytes a record keeps of what crossed. */
export const TRACE_BYTES_MAX = 1024;

/** Extras of a step: the bytes that crossed (and their full size when `bytes` is already cut), or headers. */
export interface TraceExtra {
  bytes?: Uint8Array;
  size?: number;
  headers?: Headers;
}

/** A connection as the trace knows it. */
interface TraceIdentity {
  readonly id: number;
  role: TraceRole | null;
}

let sink: TraceSink | null = null;

/** True while a sink is installed. Read it before building a trace line. */
export let tracing = false;

const identities = new WeakMap<object, TraceIdentity>();
let lastId = 0;
/** The connection whose WSConnection call is running; its lines are the core's. */
let current: TraceIdentity | null = null;

/** Installs `fn` as the trace sink, or removes it with `null`. */
export function setTraceSink(fn: TraceSink | null): void {
  sink = fn;
  tracing = fn !== null;
  current = null;
}

function identify(owner: object, role: TraceRole | null): TraceIdentity {
  let identity = identities.get(owner);
  if (identity === undefined) {
    identity = { id: ++lastId, role };
    identities.set(owner, identity);
  } else if (identity.role === null) {
    identity.role = role;
  }
  return identity;
}

/**
 * The trace id of `owner` (a socket, a `WSConnection`): the `conn` of its
 * records. Made on first use, so asking costs an entry in a WeakMap.
 */
export function traceId(owner: object): number {
  return identify(owner, null).id;
}

/**
 * From now on `owner` traces as `as` does: a `WSConnection` as the socket
 * it runs on, so the core's lines and the socket layer's share one id.
 */
export function traceLink(owner: object, as: object, role: TraceRole): void {
  // Whichever was traced first gives its id (a trace turned on mid-connection may reach the core first).
  let identity = identities.get(as) ?? identities.get(owner);
  if (identity === undefined) identity = { id: ++lastId, role };
  else if (identity.role === null) identity.role = role;
  identities.set(as, identity);
  identities.set(owner, identity);
}

/**
 * Marks `owner`'s connection as the one running, for the core lines traced
 * until {@link traceLeave}; returns what to hand to it.
 */
export function traceEnter(owner: object, role: TraceRole): object | null {
  const previous = current;
  current = identify(owner, role);
  return previous;
}

/** Ends what {@link traceEnter} began. */
export function traceLeave(previous: object | null): void {
  current = previous as TraceIdentity | null;
}

/** A step of the core, for the connection whose `WSConnection` call is running. */
export function trace(layer: string, fn: string, detail: string, extra?: TraceExtra): void {
  emit(current, layer, fn, detail, extra);
}

/** A step of a layer above the core, for the connection `owner` (its socket) stands for. */
export function traceFor(owner: object, role: TraceRole | null, layer: string, fn: string, detail: string, extra?: TraceExtra): void {
  emit(identify(owner, role), layer, fn, detail, extra);
}

function emit(identity: TraceIdentity | null, layer: string, fn: string, detail: string, extra: TraceExtra | undefined): void {
  const to = sink;
  if (to === null) return;
  let bytes: Uint8Array | null = null;
  let size = 0;
  if (extra?.bytes !== undefined) {
    const given = extra.bytes;
    // A copy: the caller may unmask these bytes in place or reuse them.
    bytes = new Uint8Array(given.subarray(0, Math.min(given.length, TRACE_BYTES_MAX)));
    size = extra.size ?? given.length;
  }
  const record: TraceRecord = {
    conn: identity?.id ?? 0,
    role: identity?.role ?? null,
    layer,
    fn,
    detail,
    bytes,
    size,
    headers: extra?.headers ?? null,
  };
  const who = identity === null ? '-' : `${identity.role ?? '?'}#${identity.id}`;
  const running = current;
  to(`${who} ${layer} ${fn}: ${detail}`, record);
  // A sink that (against the advice) drove another connection must not move this one's lines.
  current = running;
}

/** Bytes for a trace line: the length and the first 16 bytes in hex. */
export function traceBytes(bytes: Uint8Array): string {
  let hex = '';
  const n = Math.min(bytes.length, 16);
  for (let i = 0; i < n; i++) hex += (i ? ' ' : '') + bytes[i].toString(16).padStart(2, '0');
  return `${bytes.length} B ${hex}${bytes.length > n ? ' …' : ''}`;
}

/** Parts of one frame (a header and a payload) as one array for a record: at most {@link TRACE_BYTES_MAX} bytes. */
export function traceParts(parts: readonly Uint8Array[]): TraceExtra {
  if (parts.length === 1) return { bytes: parts[0] };
  let size = 0;
  for (const part of parts) size += part.length;
  const out = new Uint8Array(Math.min(size, TRACE_BYTES_MAX));
  let at = 0;
  for (const part of parts) {
    if (at === out.length) break;
    const n = Math.min(part.length, out.length - at);
    out.set(part.subarray(0, n), at);
    at += n;
  }
  return { bytes: out, size };
}

/** An event for a trace line: its type and its telling fields. */
export function traceEvent(event: { type: string; data?: unknown; code?: number; reason?: string; target?: string; statusCode?: number }): string {
  if (typeof event.data === 'string') return `${event.type} ${JSON.stringify(event.data.length > 40 ? event.data.slice(0, 40) + '…' : event.data)}`;
  if (event.data instanceof Uint8Array) return `${event.type} ${event.data.length} B`;
  if (event.code !== undefined) return `${event.type} ${event.code}${event.reason ? ` ${JSON.stringify(event.reason)}` : ''}`;
  if (event.target !== undefined) return `${event.type} ${event.target}`;
  if (event.statusCode !== undefined) return `${event.type} ${event.statusCode}`;
  return event.type;
}

/**
 * The trace hook: one line per layer crossing (layer, function, bytes or
 * event), so the call stack in docs/callstack.md can be watched run. The
 * core only calls a sink someone installed; printing is the caller's I/O
 * (simple-websocket installs a stderr sink for `WSSTACK_TRACE=1`).
 *
 * Call sites test {@link tracing} first, so with no sink nothing is built.
 *
 * @module
 */

/** Receives one finished trace line, e.g. `wsproto WSConnection.receiveData: 11 B 81 85 37 fa …`. */
export type TraceSink = (line: string) => void;

let sink: TraceSink | null = null;

/** True while a sink is installed. Read it before building a trace line. */
export let tracing = false;

/** Installs `fn` as the trace sink, or removes it with `null`. */
export function setTraceSink(fn: TraceSink | null): void {
  sink = fn;
  tracing = fn !== null;
}

/** Emits one line: `layer function: detail`. */
export function trace(layer: string, fn: string, detail: string): void {
  sink?.(`${layer} ${fn}: ${detail}`);
}

/** Bytes for a trace line: the length and the first 16 bytes in hex. */
export function traceBytes(bytes: Uint8Array): string {
  let hex = '';
  const n = Math.min(bytes.length, 16);
  for (let i = 0; i < n; i++) hex += (i ? ' ' : '') + bytes[i].toString(16).padStart(2, '0');
  return `${bytes.length} B ${hex}${bytes.length > n ? ' …' : ''}`;
}

/** An event for a trace line: its type and its telling field. */
export function traceEvent(event: { type: string; data?: unknown; code?: number; target?: string }): string {
  if (typeof event.data === 'string') return `${event.type} ${JSON.stringify(event.data.length > 40 ? event.data.slice(0, 40) + '…' : event.data)}`;
  if (event.data instanceof Uint8Array) return `${event.type} ${event.data.length} B`;
  if (event.code !== undefined) return `${event.type} ${event.code}`;
  if (event.target !== undefined) return `${event.type} ${event.target}`;
  return event.type;
}

/**
 * Turning the trace on. The core only calls a sink; this layer does I/O, so
 * it owns the default sink (stderr) and the `WSSTACK_TRACE=1` switch, read
 * once when the package loads.
 *
 * @module
 */
import type { Duplex } from 'node:stream';
import { setTraceSink, traceId as coreTraceId, type TraceSink } from '@wsstack/wsproto';

/**
 * Prints one line per layer crossing (express-sock, simple-websocket,
 * wsproto) for every handshake, message and close, to `sink` or stderr.
 * Each line starts with its connection, e.g. `server#3`. The same as
 * starting the process with `WSSTACK_TRACE=1`. A sink also receives each
 * line's `TraceRecord` (connection id and role, the bytes that crossed).
 */
export function enableTrace(sink: TraceSink = (line) => process.stderr.write(`[wsstack] ${line}\n`)): void {
  setTraceSink(sink);
}

/** Stops tracing; call sites go back to a single boolean test. */
export function disableTrace(): void {
  setTraceSink(null);
}

/**
 * The trace id of a connection (a `Server` or `Client`) or of the socket
 * it runs on: the `conn` of its `TraceRecord`s and the number in its lines
 * (`server#3`). A socket can be asked before its handshake (from Express
 * middleware, say), so a record can be told whose it is from the first step.
 */
export function traceId(connection: Duplex | { readonly socket: Duplex }): number {
  return coreTraceId('socket' in connection ? connection.socket : connection);
}

if (process.env.WSSTACK_TRACE === '1') enableTrace();

/**
 * Turning the trace on. The core only calls a sink; this layer does I/O, so
 * it owns the default sink (stderr) and the `WSSTACK_TRACE=1` switch, read
 * once when the package loads.
 *
 * @module
 */
import { setTraceSink, type TraceSink } from '@wsstack/wsproto';

/**
 * Prints one line per layer crossing (express-sock, simple-websocket,
 * wsproto) for every handshake, message and close, to `sink` or stderr.
 * The same as starting the process with `WSSTACK_TRACE=1`.
 */
export function enableTrace(sink: TraceSink = (line) => process.stderr.write(`[wsstack] ${line}\n`)): void {
  setTraceSink(sink);
}

/** Stops tracing; call sites go back to a single boolean test. */
export function disableTrace(): void {
  setTraceSink(null);
}

if (process.env.WSSTACK_TRACE === '1') enableTrace();

/**
 * `@wsstack/wsproto/internal`: the core's parts that the layers above it and
 * the tests reach for, and applications do not: the frame decoder and
 * encoder, the close-payload and header rules, and the trace hooks. No stability
 * promise beyond this repository's own packages.
 *
 * @packageDocumentation
 */
export { FrameDecoder } from './frame-decoder';
export { FrameEncoder, frameEncoder } from './frame-encoder';
export { closeProblem, encodeClosePayload, truncateReason } from './close-reason';
export { checkHeaders } from './http-head';
export { utf8ByteLength } from './utf8';
export { trace, traceBytes, traceEvent, traceFor, traceLink, tracing, TRACE_BYTES_MAX, type TraceExtra } from './trace';

// Last: every export above is defined (see fast-exports.ts).
import { fastExports } from './fast-exports';
fastExports(module.exports as object);

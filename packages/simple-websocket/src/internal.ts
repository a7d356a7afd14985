/**
 * `@wsstack/simple-websocket/internal`: what the layer above reaches for and
 * applications do not: the shared `Base` class and its states, and the
 * core's trace hooks (imports point down one step at a time, so
 * express-sock takes them from here). No stability promise beyond this
 * repository's own packages.
 *
 * @packageDocumentation
 */
export { Base } from './base';
export { SocketState } from './socket-state';
export { traceFor, tracing } from '@wsstack/wsproto/internal';

/**
 * `@wsstack/simple-websocket`: WebSocket `Server` and `Client` over real
 * sockets, with `await ws.receive()`, on the sans-IO `@wsstack/wsproto`.
 *
 * @packageDocumentation
 */
export { type ReceiveOptions } from './base';
export { Server, type HandshakeRequest, type ServerOptions } from './server';
export { Client } from './client';
export {
  Topics,
  type TopicsOptions,
  type TopicsStats,
  type PublishOptions,
  type SlowConsumerEvent,
  type SlowConsumerPolicy,
  type Backplane,
  type Subscriber,
} from './topics';
export {
  ConnectionClosed,
  ConnectionError,
  InvalidCloseError,
  type ConnectionErrorCode,
  type InvalidCloseErrorCode,
} from './errors';
export type { Message } from './message-queue';
export {
  DEFAULTS,
  type BaseOptions,
  type ClientOptions,
  type PerMessageDeflateOptions,
} from './options';
export { MAX_CLOSE_REASON_BYTES, isNormalClosure } from './close-codes';
export { enableTrace, disableTrace, traceId } from './trace';
export { type TraceRecord, type TraceRole, type TraceSink } from '@wsstack/wsproto';

/**
 * `@wsstack/express-sock`: WebSocket routes for Express 4 and 5, on
 * `@wsstack/simple-websocket`. Mirrors Python's flask-sock.
 *
 * @packageDocumentation
 */
import './augment';

export { Sock, type Handler, type RouteDecorator, type SockOptions, type SockRequest } from './sock';
export { enableTrace, disableTrace, traceId, type TraceRecord, type TraceSink } from '@wsstack/simple-websocket';

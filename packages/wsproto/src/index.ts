/**
 * `@wsstack/wsproto`: a sans-IO WebSocket protocol core. Bytes in, events
 * out, bytes back; no sockets, no timers, no promises.
 *
 * What the layers above use and no application needs (the frame decoder and
 * encoder, the trace hooks) is in `@wsstack/wsproto/internal`.
 *
 * @packageDocumentation
 */
export * from './events';
export * from './errors';
export { ACCEPT_GUID, generateAcceptToken, generateNonce, defaultRandom, type RandomSource } from './utilities';
export { Opcode, RSV1, RSV2, RSV3, MAX_CONTROL_PAYLOAD } from './opcode';
export { CloseReason, MAX_CLOSE_REASON, isValidCloseCode, decodeClosePayload } from './close-reason';
export { FrameProtocol, type Frame, type FrameProtocolInit } from './frame-protocol';
export { ConnectionType, ConnectionState, Connection, type ConnectionInit } from './connection';
export { type Extension } from './extensions';
export { PerMessageDeflate, type PerMessageDeflateInit, type OutboundEncoding } from './permessage-deflate';
export { PreparedMessage } from './prepared-message';
export { type ConnectionOptions, DEFAULT_OPTIONS, MIN_FRAGMENT_BYTES, FRAGMENT_ALLOWANCE } from './options';
export { Handshake } from './handshake';
export { pairHeaders } from './headers';
export { WSConnection } from './ws-connection';
export { ExtendedConnect, type ExtendedConnectOptions } from './extended-connect';
export { CONNECT_PROTOCOL } from './extended-connect-checks';
export { setTraceSink, traceId, type TraceRecord, type TraceRole, type TraceSink } from './trace';

// Last: every export above is defined (see fast-exports.ts).
import { fastExports } from './fast-exports';
fastExports(module.exports as object);

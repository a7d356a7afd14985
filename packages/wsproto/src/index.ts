/**
 * `@wsstack/wsproto`: a sans-IO WebSocket protocol core. Bytes in, events
 * out, bytes back; no sockets, no timers, no promises.
 *
 * @packageDocumentation
 */
export * from './events';
export * from './errors';
export { ACCEPT_GUID, generateAcceptToken, generateNonce, defaultRandom, type RandomSource } from './utilities';
export {
  Opcode,
  CloseReason,
  RSV1,
  RSV2,
  RSV3,
  FrameDecoder,
  FrameProtocol,
  decodeClosePayload,
  isValidCloseCode,
  MAX_CONTROL_PAYLOAD,
  MAX_CLOSE_REASON,
  type Frame,
  type FrameProtocolInit,
} from './frame-protocol';
export { ConnectionType, ConnectionState, Connection, type ConnectionInit } from './connection';
export { type Extension, PerMessageDeflate, type PerMessageDeflateInit } from './extensions';
export { type ConnectionOptions, DEFAULT_OPTIONS } from './options';
export { Handshake, pairHeaders } from './handshake';
export { WSConnection } from './ws-connection';
export { setTraceSink, trace, traceBytes, traceEvent, tracing, type TraceSink } from './trace';

/**
 * `@wsstack/wsproto`: a sans-IO WebSocket protocol core. Bytes in, events
 * out, bytes back; no sockets, no timers, no promises.
 *
 * @packageDocumentation
 */
export * from './events';
export * from './errors';
export { ACCEPT_GUID, generateAcceptToken, generateNonce, defaultRandom, type RandomSource } from './utilities';
export { Opcode, CloseReason, RSV1, RSV2, RSV3 } from './frame-protocol';
export { ConnectionType, ConnectionState } from './connection';
export type { Extension } from './extensions';
export { type ConnectionOptions, DEFAULT_OPTIONS } from './options';

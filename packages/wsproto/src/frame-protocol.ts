/**
 * Frames (RFC 6455 section 5): opcodes, close codes, and — once the frame
 * helper fills this module in — the incremental decoder and the encoder.
 *
 * @module
 */

/** Frame opcodes (RFC 6455 5.2). */
export enum Opcode {
  CONTINUATION = 0x0,
  TEXT = 0x1,
  BINARY = 0x2,
  CLOSE = 0x8,
  PING = 0x9,
  PONG = 0xa,
}

/** Close status codes (RFC 6455 7.4.1, IANA registry). */
export enum CloseReason {
  NORMAL_CLOSURE = 1000,
  GOING_AWAY = 1001,
  PROTOCOL_ERROR = 1002,
  UNSUPPORTED_DATA = 1003,
  /** Local only: a close frame arrived without a code. Never sent. */
  NO_STATUS_RCVD = 1005,
  /** Local only: the transport ended without a close frame. Never sent. */
  ABNORMAL_CLOSURE = 1006,
  INVALID_FRAME_PAYLOAD_DATA = 1007,
  POLICY_VIOLATION = 1008,
  MESSAGE_TOO_BIG = 1009,
  MANDATORY_EXT = 1010,
  INTERNAL_ERROR = 1011,
  SERVICE_RESTART = 1012,
  TRY_AGAIN_LATER = 1013,
  BAD_GATEWAY = 1014,
  /** Local only: the TLS handshake failed. Never sent. */
  TLS_HANDSHAKE_FAILED = 1015,
}

/** RSV bits as a bitmask, in the positions they hold in a frame's first byte. */
export const RSV1 = 0x40;
export const RSV2 = 0x20;
export const RSV3 = 0x10;

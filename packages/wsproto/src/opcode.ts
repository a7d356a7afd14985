/**
 * What the first byte of a frame says (RFC 6455 5.2): the opcode and the RSV
 * bits, and the rules every control frame follows.
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

/** RSV bits as a bitmask, in the positions they hold in a frame's first byte. */
export const RSV1 = 0x40;
export const RSV2 = 0x20;
export const RSV3 = 0x10;

/** Largest payload of a control frame (RFC 6455 5.5). */
export const MAX_CONTROL_PAYLOAD = 125;

/** True for control opcodes (RFC 6455 5.5: the high bit of the opcode). */
export function isControl(opcode: Opcode): boolean {
  return (opcode & 0x8) !== 0;
}

/** True for the opcodes RFC 6455 5.2 reserves (0x3–0x7, 0xB–0xF). */
export function isReservedOpcode(opcode: number): boolean {
  return (opcode > 2 && opcode < 8) || opcode > 10;
}

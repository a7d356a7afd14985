/**
 * Limits and knobs of a connection. Every limit is on by default.
 *
 * @module
 */
import type { RandomSource } from './utilities';

/** Options of {@link WSConnection}, {@link Connection} and {@link Handshake}. */
export interface ConnectionOptions {
  /**
   * Largest message, in bytes after any decompression. A frame header that
   * announces more closes with 1009 before its payload is buffered.
   * Fragments are also charged in bytes: see {@link MIN_FRAGMENT_BYTES}.
   * Default 100 MiB (as `ws`).
   */
  maxMessageSize?: number;
  /**
   * Most frames one message may span; more closes with 1009. Default: no
   * count limit.
   *
   * @deprecated A count says nothing about memory, and a low one refuses
   *   messages RFC 6455 allows (4 MiB in 64-byte fragments is 65,536 of
   *   them). Fragments are charged in bytes instead (see
   *   {@link MIN_FRAGMENT_BYTES}); a count set here is still enforced.
   */
  maxFragments?: number;
  /** Most bytes of handshake request or response head (start line + headers). Default 16 KiB (as Node's http). */
  maxHeaderBytes?: number;
  /** Most header lines in the handshake. Default 128. */
  maxHeaderCount?: number;
  /** Where mask keys and nonces come from. Default `crypto.getRandomValues`. */
  random?: RandomSource;
}

/**
 * The least a frame of a fragmented message is charged, in bytes: its
 * payload, but no less than this, since a frame costs an event and the work
 * of a header whatever its size. A message's charges may reach
 * `maxMessageSize` plus {@link FRAGMENT_ALLOWANCE}; past that it closes
 * with 1009. So 4 MiB in 64-byte fragments (charged 8 MiB) is delivered
 * under the default 100 MiB, while 1,000,000 one-byte fragments, or endless
 * empty ones, are not. Its bytes count against `maxMessageSize` exactly,
 * as for any message.
 */
export const MIN_FRAGMENT_BYTES = 128;

/**
 * Room over `maxMessageSize` for fragment charges: 8,192 tiny fragments,
 * the count the old `maxFragments` default allowed, so every message that
 * passed the old limits passes these.
 */
export const FRAGMENT_ALLOWANCE = 8192 * MIN_FRAGMENT_BYTES;

/** The defaults of {@link ConnectionOptions}. */
export const DEFAULT_OPTIONS = {
  maxMessageSize: 100 * 1024 * 1024,
  maxFragments: Infinity,
  maxHeaderBytes: 16 * 1024,
  maxHeaderCount: 128,
} as const;

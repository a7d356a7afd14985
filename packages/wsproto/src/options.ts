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
   * Default 100 MiB (as `ws`).
   */
  maxMessageSize?: number;
  /** Most frames one message may span. More closes with 1009. Default 8192. */
  maxFragments?: number;
  /** Most bytes of handshake request or response head (start line + headers). Default 16 KiB (as Node's http). */
  maxHeaderBytes?: number;
  /** Most header lines in the handshake. Default 128. */
  maxHeaderCount?: number;
  /** Where mask keys and nonces come from. Default `crypto.getRandomValues`. */
  random?: RandomSource;
}

/** The defaults of {@link ConnectionOptions}. */
export const DEFAULT_OPTIONS = {
  maxMessageSize: 100 * 1024 * 1024,
  maxFragments: 8192,
  maxHeaderBytes: 16 * 1024,
  maxHeaderCount: 128,
} as const;

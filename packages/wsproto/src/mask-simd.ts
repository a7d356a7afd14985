/**
 * Masking with WebAssembly SIMD: 16 bytes per XOR instead of 4, for payloads
 * large enough to pay for copying them in and out of WebAssembly memory
 * (several times the JS word loop's speed; with both copies, about twice as
 * fast as JS for a whole large payload: bench/results/design-notes.md).
 *
 * The module is a hundred bytes, written out below instruction by instruction
 * so it can be read without a toolchain; it needs no native addon and runs
 * wherever WebAssembly SIMD does (Node ≥ 16.4, current browsers). Where it
 * cannot be compiled (no WebAssembly, no SIMD, a CSP without
 * 'wasm-unsafe-eval') {@link createSimdMasker} returns null and the caller
 * keeps the JS loop.
 *
 * @module
 */
import { gather, view, type PieceCursor } from './bytes';

/** Bytes masked per call. */
export const SIMD_BLOCK = 65536;

/**
 * The function `mask(start: i32, end: i32, key: i32)`: XORs memory[start,
 * end) with the key word repeated, 64 bytes a loop turn (four v128 lanes). It
 * may run up to 63 bytes past `end`; the memory is large enough for that.
 *
 * ```wat
 * (func (param $i i32) (param $end i32) (param $key i32) (local $k v128)
 *   (local.set $k (i32x4.splat (local.get $key)))
 *   (block (loop
 *     (br_if 1 (i32.ge_u (local.get $i) (local.get $end)))
 *     (v128.store offset=0  (local.get $i) (v128.xor (v128.load offset=0  (local.get $i)) (local.get $k)))
 *     … offsets 16, 32, 48 …
 *     (local.set $i (i32.add (local.get $i) (i32.const 64)))
 *     (br 0))))
 * ```
 */
function maskFunctionBody(): number[] {
  const LOCAL_GET = 0x20;
  const LOCAL_SET = 0x21;
  const SIMD = 0xfd; // prefix of every SIMD opcode
  const V128_LOAD = 0x00;
  const V128_STORE = 0x0b;
  const I32X4_SPLAT = 0x11;
  const V128_XOR = 0x51;
  const [I, END, KEY, K] = [0, 1, 2, 3];
  const lane = (offset: number): number[] => [
    LOCAL_GET, I, // address for the store
    LOCAL_GET, I, SIMD, V128_LOAD, 0x00, offset, // memarg: alignment hint 1, offset
    LOCAL_GET, K, SIMD, V128_XOR,
    SIMD, V128_STORE, 0x00, offset,
  ];
  return [
    0x01, 0x01, 0x7b, // locals: one v128 ($k)
    LOCAL_GET, KEY, SIMD, I32X4_SPLAT, LOCAL_SET, K,
    0x02, 0x40, // block
    0x03, 0x40, // loop
    LOCAL_GET, I, LOCAL_GET, END, 0x4f /* i32.ge_u */, 0x0d, 1 /* br_if out of the block */,
    ...lane(0), ...lane(16), ...lane(32), ...lane(48),
    LOCAL_GET, I, 0x41, 0xc0, 0x00 /* i32.const 64 (signed LEB128) */, 0x6a /* i32.add */, LOCAL_SET, I,
    0x0c, 0 /* br to the loop */,
    0x0b, 0x0b, 0x0b, // end loop, end block, end function
  ];
}

/** Section `id` with its size prefixed (every section here is under 128 bytes). */
function section(id: number, content: number[]): number[] {
  return [id, content.length, ...content];
}

/** The module's bytes: one memory of two 64 KiB pages (a block, its offset and overrun), exported, and the mask function. */
function moduleBytes(): Uint8Array {
  const body = maskFunctionBody();
  const name = (s: string): number[] => [s.length, ...Array.from(s, (c) => c.charCodeAt(0))];
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // "\0asm", version 1
    ...section(1, [0x01, 0x60, 0x03, 0x7f, 0x7f, 0x7f, 0x00]), // types: (i32, i32, i32) -> ()
    ...section(3, [0x01, 0x00]), // functions: one, of type 0
    ...section(5, [0x01, 0x00, 0x02]), // memories: one, at least 2 pages, no maximum
    ...section(7, [0x02, ...name('memory'), 0x02, 0x00, ...name('mask'), 0x00, 0x00]), // exports
    ...section(10, [0x01, body.length, ...body]), // code
  ]);
}

/** The part of the WebAssembly API used here (the core's lib settings declare no DOM or WebAssembly types). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
}

interface MaskExports {
  memory: { buffer: ArrayBuffer };
  mask: (start: number, end: number, key: number) => void;
}

/** Compiles the module, or returns null where WebAssembly SIMD is unavailable. */
export function createSimdMasker(): SimdMasker | null {
  try {
    const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
    if (wasm === undefined) return null;
    return new SimdMasker(new wasm.Instance(new wasm.Module(moduleBytes()), {}).exports as MaskExports);
  } catch {
    return null;
  }
}

/**
 * Copies and masks through WebAssembly memory, a block at a time: bytes are
 * copied in, masked there, and copied out to their destination. Made by
 * {@link createSimdMasker}; one per process is enough (every call finishes
 * before it returns).
 *
 * Where a block sits in that memory matters: a copy whose destination lies
 * a few bytes after its source modulo 4 KiB runs many times slower (the CPU
 * takes the loads for reads of the bytes just stored: "4K aliasing"). Large
 * buffers start near a page boundary, so each block is placed half a page
 * away from where its bytes go in their own buffer.
 */
export class SimdMasker {
  /** The module's memory; it never grows, so this view never detaches. */
  private readonly memory: Uint8Array;
  private readonly mask: (start: number, end: number, key: number) => void;
  // The key rotated to a phase, read as one native-endian word: endian-neutral.
  private readonly keyWord = new Int32Array(1);
  private readonly keyWordBytes = new Uint8Array(this.keyWord.buffer);

  constructor(api: MaskExports) {
    this.memory = new Uint8Array(api.memory.buffer);
    this.mask = api.mask;
  }

  /**
   * Writes `source` masked into `dest` at `offset`: the first byte of
   * `source` is XORed with `key[phase]`. `source` and `dest` may be the same
   * bytes (masking in place).
   */
  copyMasked(source: Uint8Array, dest: Uint8Array, offset: number, key: Uint8Array, phase: number): void {
    const length = source.length;
    const at = blockStart(dest, offset);
    for (let done = 0; done < length; done += SIMD_BLOCK) {
      const n = Math.min(SIMD_BLOCK, length - done);
      this.memory.set(n === length ? source : view(source, done, n), at);
      this.flush(at, n, dest, offset + done, key, phase + done);
    }
  }

  /**
   * Writes the next `n` bytes of `pieces` (from `at`, which moves past them)
   * masked into `dest` from 0, with `dest[0]` at key index `phase`: a
   * payload gathered from received chunks. Pieces fill a block before it is
   * masked, so 1,460-byte TCP segments cost one mask call and one copy out
   * per 64 KiB.
   */
  gatherMasked(pieces: readonly Uint8Array[], at: PieceCursor, n: number, dest: Uint8Array, key: Uint8Array, phase: number): void {
    const block = blockStart(dest, 0);
    for (let done = 0; done < n; done += SIMD_BLOCK) {
      const take = Math.min(SIMD_BLOCK, n - done);
      gather(pieces, at, take, this.memory, block);
      this.flush(block, take, dest, done, key, phase + done);
    }
  }

  /** Masks memory[at, at + n) with the key at `phase` and copies it to `dest` at `offset`. */
  private flush(at: number, n: number, dest: Uint8Array, offset: number, key: Uint8Array, phase: number): void {
    const b = this.keyWordBytes;
    b[0] = key[phase & 3];
    b[1] = key[(phase + 1) & 3];
    b[2] = key[(phase + 2) & 3];
    b[3] = key[(phase + 3) & 3];
    this.mask(at, at + n, this.keyWord[0]);
    dest.set(new Uint8Array(this.memory.buffer, at, n), offset);
  }
}

/** Where in WebAssembly memory a block bound for `dest[offset]` goes: 16-byte aligned, half a page from its page offset. */
function blockStart(dest: Uint8Array, offset: number): number {
  return (dest.byteOffset + offset + PAGE / 2) & (PAGE - 16);
}

/** The span that 4K aliasing repeats over. */
const PAGE = 4096;

/**
 * The crypto WebAssembly instance (ChaCha20-Poly1305, NaCl secretbox, X25519,
 * and the Internet checksum over packets in its memory; one per isolate, made
 * on first use) and the map of its fixed 32 MiB memory.
 *
 * Memory never grows, so `memory.buffer` is one ArrayBuffer for the life of
 * the process and views into it never detach. The 32 MiB are reserved, not
 * resident: only pages written are, about 20 KiB in an idle node and the
 * batch buffers' ~0.3 MiB under load (`/proc/PID/smaps`, `deno task
 * bench:memory`), so growing on demand would save no RSS. Above the module's own 64 KiB
 * stack and data (`__heap_base`) the TypeScript side lays out, in order:
 *
 * | region      | size                  | use                                            |
 * | ----------- | --------------------- | ---------------------------------------------- |
 * | key slots   | 4096 × 32 B = 128 KiB | one per live key; slot 0 is a shared fallback   |
 * | AD scratch  | 16 KiB                | associated data copied in from outside memory   |
 * | msg scratch | 128 KiB + 64 B        | messages sealed/opened for non-wasm buffers     |
 * | arena       | the rest (≈ 31.6 MiB) | packet buffers from `allocPacketBuffer`         |
 *
 * @module
 */
import { CRYPTO_WASM_BASE64 } from "./module_wasm.ts";

/** The functions the C module exports; addresses are byte offsets into memory. */
export interface CryptoWasmExports {
  /** Seals src[0, len) into dst (ciphertext then 16-byte tag); src == dst is in place. */
  aead_seal(
    key: number,
    n0: number,
    n1: number,
    n2: number,
    ad: number,
    adLen: number,
    src: number,
    len: number,
    dst: number,
  ): void;
  /** Opens src[0, len) with its tag at src+len into dst; 0, or -1 (dst untouched) on a bad tag. */
  aead_open(
    key: number,
    n0: number,
    n1: number,
    n2: number,
    ad: number,
    adLen: number,
    src: number,
    len: number,
    dst: number,
  ): number;
  /** XORs the ChaCha20 keystream from block `counter` over src[0, len) into dst. */
  chacha20_xor(
    key: number,
    counter: number,
    n0: number,
    n1: number,
    n2: number,
    src: number,
    len: number,
    dst: number,
  ): void;
  /** Writes the 16-byte Poly1305 tag of msg[0, len) under a 32-byte one-time key. */
  poly1305_mac(key: number, msg: number, len: number, tag: number): void;
  /** HSalsa20 of a 32-byte key and a 16-byte input into out[0, 32). */
  hsalsa20(key: number, nonce16: number, out: number): void;
  /**
   * NaCl secretbox (XSalsa20-Poly1305): tag to out[0, 16), ciphertext of
   * msg[0, len) to out[16, 16+len); msg == out + 16 is in place.
   */
  secretbox_seal(key: number, nonce24: number, msg: number, len: number, out: number): void;
  /**
   * Opens box[0, len) (tag then ciphertext) into out[0, len-16); 0, or -1
   * (out untouched) when len < 16 or the tag is bad. out == box + 16 is in place.
   */
  secretbox_open(key: number, nonce24: number, box: number, len: number, out: number): number;
  /**
   * X25519 (RFC 7748) of a 32-byte scalar (clamped inside) and u-coordinate into
   * out[0, 32); 0, or -1 when the result is all zero (a low-order point).
   */
  x25519(out: number, scalar: number, point: number): number;
  /**
   * The one's-complement sum (RFC 1071) of p[0, len) as big-endian 16-bit words, an odd last
   * byte padded with zero, folded to 16 bits and not complemented (0 only for all-zero bytes).
   */
  inet_sum(p: number, len: number): number;
}

/** The instance, its memory and the address of each region. */
export interface CryptoWasm {
  /** The module's exported functions. */
  readonly fn: CryptoWasmExports;
  /** The memory's one, never-detached ArrayBuffer. */
  readonly buffer: ArrayBuffer;
  /** A byte view over all of memory. */
  readonly bytes: Uint8Array;
  /** Address of key slot 0 (the shared slot); slot i is at `keySlots + 32 * i`. */
  readonly keySlots: number;
  /** Number of key slots, slot 0 included. */
  readonly keySlotCount: number;
  /** Address of the associated-data scratch area. */
  readonly adScratch: number;
  /** Size of the associated-data scratch area in bytes. */
  readonly adScratchSize: number;
  /** Address of the message scratch area. */
  readonly msgScratch: number;
  /** Size of the message scratch area in bytes (message plus tag). */
  readonly msgScratchSize: number;
  /** First byte of the packet arena (64-byte aligned). */
  readonly arenaStart: number;
  /** One past the last byte of the packet arena. */
  readonly arenaEnd: number;
}

/** Size of the module's memory: initial = maximum, so it never grows. */
export const WASM_MEMORY_SIZE = 32 * 1024 * 1024;
const KEY_SLOT_COUNT = 4096;
const AD_SCRATCH_SIZE = 16 * 1024;
const MSG_SCRATCH_SIZE = 128 * 1024 + 64;

let instance: CryptoWasm | undefined;

/**
 * Returns the shared instance, compiling it on first call.
 *
 * @example
 * ```ts
 * const w = cryptoWasm();
 * console.assert(w.buffer.byteLength === 32 * 1024 * 1024);
 * ```
 */
export function cryptoWasm(): CryptoWasm {
  return instance ??= instantiate();
}

/**
 * The shared instance if something has made it, else undefined: for code that takes the wasm
 * path only for buffers already in its memory (which cannot exist before the instance does), so
 * asking never compiles the module.
 *
 * @example
 * ```ts
 * import { cryptoWasm, loadedCryptoWasm } from "./instance.ts";
 * console.assert(loadedCryptoWasm() === cryptoWasm());
 * ```
 */
export function loadedCryptoWasm(): CryptoWasm | undefined {
  return instance;
}

function instantiate(): CryptoWasm {
  // Decoded natively: a JavaScript loop over the (now ~50,000) characters ran hot enough for V8 to
  // compile it with TurboFan, paging in the optimising compiler at start-up (~5 MB of RSS in an
  // otherwise idle process, `deno task bench:memory`).
  const code = Uint8Array.fromBase64(CRYPTO_WASM_BASE64);
  const inst = new WebAssembly.Instance(new WebAssembly.Module(code), {});
  const ex = inst.exports as unknown as CryptoWasmExports & {
    memory: WebAssembly.Memory;
    __heap_base: WebAssembly.Global;
  };
  const buffer = ex.memory.buffer as ArrayBuffer; // not shared: the module declares no shared memory
  if (buffer.byteLength !== WASM_MEMORY_SIZE) {
    throw new Error(
      `Cannot use the crypto wasm module: memory is ${buffer.byteLength} bytes, expected ${WASM_MEMORY_SIZE}`,
    );
  }
  const align = (n: number) => (n + 63) & ~63;
  const keySlots = align(ex.__heap_base.value as number);
  const adScratch = keySlots + 32 * KEY_SLOT_COUNT;
  const msgScratch = adScratch + AD_SCRATCH_SIZE;
  const arenaStart = align(msgScratch + MSG_SCRATCH_SIZE);
  return {
    fn: ex,
    buffer,
    bytes: new Uint8Array(buffer),
    keySlots,
    keySlotCount: KEY_SLOT_COUNT,
    adScratch,
    adScratchSize: AD_SCRATCH_SIZE,
    msgScratch,
    msgScratchSize: MSG_SCRATCH_SIZE,
    arenaStart,
    arenaEnd: WASM_MEMORY_SIZE,
  };
}

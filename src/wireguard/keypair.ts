/**
 * A transport session: the two symmetric keys a handshake yields, with the
 * counters and replay window that belong to them.
 *
 * @module
 */
import { WasmChaChaPoly } from "../crypto/aead_wasm.ts";
import type { SessionKeys } from "./handshake.ts";
import { ReplayFilter } from "./replay.ts";

/** One WireGuard session (whitepaper §5.4.5): keys, indices, counters and age. */
export class Keypair {
  /** Cipher for packets we send (WebAssembly, in place: the hot path). */
  readonly send: WasmChaChaPoly;
  /** Cipher for packets we receive. */
  readonly recv: WasmChaChaPoly;
  /** Next counter to use when sending. */
  sendCounter = 0;
  /** Rejects counters already seen or too old. */
  readonly replay: ReplayFilter = new ReplayFilter();

  /**
   * Sets up both ciphers from the handshake's keys; counters and the replay window start fresh.
   *
   * @param keys the send/receive keys from the handshake
   * @param isInitiator whether we initiated the handshake; only the initiator rekeys on age
   * @param created monotonic ms when the session was derived
   * @param localIndex the index peers put in packets to us
   * @param remoteIndex the index we put in packets to the peer
   */
  constructor(
    keys: SessionKeys,
    readonly isInitiator: boolean,
    readonly created: number,
    readonly localIndex: number,
    readonly remoteIndex: number,
  ) {
    this.send = new WasmChaChaPoly(keys.sendKey);
    this.recv = new WasmChaChaPoly(keys.recvKey);
  }

  /** Copies of both keys, to move the session to another device ({@linkcode WasmChaChaPoly.exportKey}). */
  exportKeys(): SessionKeys {
    return { sendKey: this.send.exportKey(), recvKey: this.recv.exportKey() };
  }

  /** Wipes both keys; the session can't be used afterwards. */
  dispose(): void {
    this.send.dispose();
    this.recv.dispose();
  }
}

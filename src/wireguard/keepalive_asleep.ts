/**
 * Keepalives of a sleeping device, made and taken on the thread that watches its socket, from
 * the sessions kept for the next device (`session_state.ts`): a peer with `PersistentKeepalive`
 * (a NAT's mapping to hold open) is sent its empty transport message every interval, and a
 * peer's own keepalives are authenticated and counted, without a Worker and its crypto module
 * (~8 MB and ~70 ms a start). Both use the kept session as the device would: a keepalive goes
 * out on the current session while it is inside Reject-After-Time and its message limit, with
 * the session's next counter, which the next device goes on from; one comes in if its tag is
 * right and its counter is past every one received, which the next device's replay window then
 * starts from. Anything else (no usable session, a keepalive older than the newest one seen) is
 * the device's to handle, so the caller wakes it.
 *
 * ChaCha20-Poly1305 here is node:crypto's (OpenSSL), one call a keepalive: a sleeping node
 * makes a few a minute. The kept keys are passed straight to it, so no copy of them outlives the
 * call on this thread.
 *
 * @module
 */
import { createCipheriv, createDecipheriv } from "node:crypto";
import { wgNonce } from "../crypto/nonce.ts";
import { MESSAGE_TRANSPORT_MIN_SIZE } from "./constants.ts";
import { readTransportHeader, writeTransportHeader } from "./messages.ts";
import type { SavedKeypair, SavedPeer } from "./session_state.ts";
import type { Timings } from "./timings.ts";
import { TAG_SIZE, TRANSPORT_HEADER_SIZE } from "./transport.ts";

/** A keepalive's size: the transport header and the tag of an empty payload. */
export const KEEPALIVE_SIZE: number = MESSAGE_TRANSPORT_MIN_SIZE;
const AEAD = "chacha20-poly1305";
const AEAD_OPTIONS = { authTagLength: TAG_SIZE } as const;
const EMPTY = new Uint8Array(0);

/**
 * The kept session a keepalive to `peer` may go out on, `elapsedMs` after the sessions were
 * saved: its current one, inside Reject-After-Time and the message limit (the device's own
 * test for sending), or null. Null too once a session we initiated is past Rekey-After-Time
 * or its message count: the device follows such a send with a new handshake, so it is the
 * device's to send.
 */
export function sendingKeypair(
  peer: SavedPeer,
  elapsedMs: number,
  timings: Timings,
): SavedKeypair | null {
  const kp = peer.keypairs.find((k) => k.slot === "current");
  if (kp === undefined) return null;
  const age = kp.ageMs + Math.max(0, elapsedMs);
  if (age >= timings.rejectAfterTime || kp.sendCounter >= timings.rejectAfterMessages) return null;
  const rekey = age >= timings.rekeyAfterTime || kp.sendCounter >= timings.rekeyAfterMessages;
  return kp.isInitiator && rekey ? null : kp;
}

/** A keepalive on `kp` with its next counter, which it takes. */
export function sealKeepalive(kp: SavedKeypair): Uint8Array {
  const counter = kp.sendCounter++;
  const msg = new Uint8Array(KEEPALIVE_SIZE);
  writeTransportHeader(msg, kp.remoteIndex, counter);
  const cipher = createCipheriv(AEAD, kp.sendKey, wgNonce(counter), AEAD_OPTIONS);
  cipher.update(EMPTY);
  cipher.final();
  msg.set(cipher.getAuthTag(), TRANSPORT_HEADER_SIZE);
  return msg;
}

/**
 * Takes `pkt` if it is a keepalive to one of `peers`' kept sessions, `elapsedMs` after they
 * were saved, that the device would accept and that is newer than every message received on
 * that session: returns the peer (its session now remembers the counter), else null — not a
 * keepalive, not for a kept session, a wrong tag, or a counter the device's replay window
 * would have to judge.
 */
export function openKeepalive(
  pkt: Uint8Array,
  peers: readonly SavedPeer[],
  elapsedMs: number,
  timings: Timings,
): SavedPeer | null {
  const header = pkt.length === KEEPALIVE_SIZE ? readTransportHeader(pkt) : null;
  if (header === null) return null;
  const { receiver, counter } = header;
  for (const peer of peers) {
    const kp = peer.keypairs.find((k) => k.localIndex === receiver);
    if (kp === undefined) continue;
    if (kp.ageMs + Math.max(0, elapsedMs) >= timings.rejectAfterTime) return null;
    if (counter >= timings.rejectAfterMessages || counter <= kp.highestReceived) return null;
    const decipher = createDecipheriv(AEAD, kp.recvKey, wgNonce(counter), AEAD_OPTIONS);
    decipher.setAuthTag(pkt.subarray(TRANSPORT_HEADER_SIZE));
    decipher.update(EMPTY);
    try {
      decipher.final();
    } catch {
      return null;
    }
    kp.highestReceived = counter;
    return peer;
  }
  return null;
}

/**
 * A device's sessions as plain data, to carry them into another device: a data plane that
 * gives its thread back while idle rebuilds its device later and goes on with the same
 * sessions, so the next packet needs no handshake and the peer notices nothing.
 *
 * What moves per peer: each usable session's keys, indices, send counter, highest received
 * counter and age; the newest handshake timestamp taken from the peer (the replay protection
 * for initiations, which a fresh device would otherwise lose); the last handshake's wall time.
 * What does not: timers other than key zeroing (a device is saved only at rest, when none
 * runs), staged packets (none at rest), cookies and load state (rebuilt on demand).
 *
 * @module
 */
import type { IndexTable } from "./index_table.ts";
import { Keypair } from "./keypair.ts";
import type { Peer } from "./peer.ts";
import type { Timings } from "./timings.ts";

/** Which of a peer's three session slots. */
export type KeypairSlot = "current" | "previous" | "next";

/** One session, as {@linkcode savePeerSessions} found it. */
export interface SavedKeypair {
  /** The slot it was in. */
  slot: KeypairSlot;
  /** Key for packets to the peer. */
  sendKey: Uint8Array;
  /** Key for packets from the peer. */
  recvKey: Uint8Array;
  /** Whether we initiated its handshake (only the initiator rekeys on age). */
  isInitiator: boolean;
  /** Its age when saved, ms. */
  ageMs: number;
  /** The index the peer puts in packets to us. */
  localIndex: number;
  /** The index we put in packets to the peer. */
  remoteIndex: number;
  /** The next counter to send with. */
  sendCounter: number;
  /** The highest counter received, -1 if none. */
  highestReceived: number;
}

/** One peer's sessions and handshake memory. */
export interface SavedPeer {
  /** The peer's static public key. */
  publicKey: Uint8Array;
  /** Its sessions still inside Reject-After-Time. */
  keypairs: SavedKeypair[];
  /** The newest TAI64N timestamp accepted in an initiation from it, or null. */
  lastInitiationTimestamp: Uint8Array | null;
  /** Wall-clock ms of the last completed handshake, 0 if none. */
  lastHandshakeWall: number;
}

/** The three slots of a peer, in the order they are saved and restored. */
const SLOTS: readonly KeypairSlot[] = ["previous", "current", "next"];

/**
 * A peer's state worth carrying, or null when there is none (no session, no timestamp). Sessions
 * past Reject-After-Time are left out: neither side may use them.
 */
export function savePeerSessions(peer: Peer, now: number, timings: Timings): SavedPeer | null {
  const keypairs: SavedKeypair[] = [];
  for (const slot of SLOTS) {
    const kp = peer[slot];
    if (kp === null || now - kp.created >= timings.rejectAfterTime) continue;
    const { sendKey, recvKey } = kp.exportKeys();
    keypairs.push({
      slot,
      sendKey,
      recvKey,
      isInitiator: kp.isInitiator,
      ageMs: now - kp.created,
      localIndex: kp.localIndex,
      remoteIndex: kp.remoteIndex,
      sendCounter: kp.sendCounter,
      highestReceived: kp.replay.highest,
    });
  }
  if (keypairs.length === 0 && peer.lastInitiationTimestamp === null) return null;
  return {
    publicKey: peer.publicKey.slice(),
    keypairs,
    lastInitiationTimestamp: peer.lastInitiationTimestamp?.slice() ?? null,
    lastHandshakeWall: peer.lastHandshakeWall,
  };
}

/**
 * Puts saved sessions into a peer that has none, `elapsedMs` after they were saved. Sessions
 * that aged past Reject-After-Time meanwhile, or whose index this device already uses, are
 * skipped; key zeroing is armed as after the newest one's handshake.
 */
export function restorePeerSessions(
  peer: Peer,
  saved: SavedPeer,
  elapsedMs: number,
  now: number,
  timings: Timings,
  indices: IndexTable<Peer>,
): void {
  if (saved.lastInitiationTimestamp !== null) {
    peer.lastInitiationTimestamp = saved.lastInitiationTimestamp.slice();
  }
  peer.lastHandshakeWall = Math.max(peer.lastHandshakeWall, saved.lastHandshakeWall);
  if (peer.current !== null || peer.previous !== null || peer.next !== null) return;
  let newest = Infinity;
  for (const s of saved.keypairs) {
    const age = s.ageMs + Math.max(0, elapsedMs);
    if (age >= timings.rejectAfterTime || !indices.claim(s.localIndex, peer)) continue;
    const kp = new Keypair(
      { sendKey: s.sendKey, recvKey: s.recvKey },
      s.isInitiator,
      now - age,
      s.localIndex,
      s.remoteIndex,
    );
    kp.sendCounter = s.sendCounter;
    kp.replay.restoreSeen(s.highestReceived);
    peer[s.slot] = kp;
    newest = Math.min(newest, age);
  }
  if (newest !== Infinity) {
    peer.timers.deadlines.zeroKeyMaterial = now - newest + timings.rejectAfterTime * 3;
  }
}

/** Zeroes the key bytes of saved sessions no device took (or that one already copied). */
export function wipeSavedSessions(saved: readonly SavedPeer[]): void {
  for (const p of saved) {
    for (const k of p.keypairs) {
      k.sendKey.fill(0);
      k.recvKey.fill(0);
    }
  }
}

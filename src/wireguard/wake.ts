/**
 * Which datagrams a sleeping WireGuard device must wake for, judged on the thread that watches
 * its socket without the device or the crypto module: an initiation whose mac1 is right for
 * the device's key (a peer starting a handshake: the device answers it), and a transport
 * message to one of the sessions kept for the next device. Anything else the device would drop
 * on arrival — a response or cookie reply (a device at rest has no handshake waiting for one),
 * a transport message to an index it does not have, a bad mac1, a wrong size — so waking a
 * Worker for it would only cost the Worker's start; a scanner's datagrams no longer do.
 *
 * @module
 */
import { MESSAGE_INITIATION_SIZE, MESSAGE_TRANSPORT_MIN_SIZE } from "./constants.ts";
import { mac1Valid } from "./macs.ts";
import { transportReceiver } from "./transport.ts";

/** What the watching thread knows of the sleeping device. */
export interface SleepingDevice {
  /** The mac1 key of messages to the device (`mac1Key` of its public key). */
  readonly mac1Key: Uint8Array;
  /** The receiver indices of its kept sessions. */
  readonly localIndices: ReadonlySet<number>;
}

/**
 * What to do with a WireGuard datagram for a sleeping device: `wake` it, or drop it with the
 * reason the device itself would count (its `DropCounters` key).
 *
 * @example
 * ```ts
 * import { wakeVerdict } from "./wake.ts";
 * const asleep = { mac1Key: new Uint8Array(32), localIndices: new Set([7]) };
 * const pkt = new Uint8Array(32);
 * pkt[0] = 4;
 * pkt[4] = 7;
 * wakeVerdict(pkt, asleep); // "wake": a transport message to a kept session
 * pkt[4] = 8;
 * wakeVerdict(pkt, asleep); // "unauthenticated"
 * ```
 */
export function wakeVerdict(
  pkt: Uint8Array,
  dev: SleepingDevice,
): "wake" | "unauthenticated" | "handshake" | "malformed" {
  switch (pkt[0]) {
    case 1:
      if (pkt.length !== MESSAGE_INITIATION_SIZE) return "malformed";
      return mac1Valid(dev.mac1Key, pkt) ? "wake" : "handshake";
    case 4:
      if (pkt.length < MESSAGE_TRANSPORT_MIN_SIZE) return "malformed";
      return dev.localIndices.has(transportReceiver(pkt)) ? "wake" : "unauthenticated";
    default:
      return "handshake";
  }
}

/**
 * The timer events of one batch's transport packets (the whitepaper's §6.2: any authenticated
 * packet received, sent or traversed; data received; data sent), gathered per peer and run
 * once for all of them. Every packet of a batch has the same `now`, so running the events
 * together changes nothing as long as they run before anything else reads or moves those
 * timers — a handshake message, a session confirmed, a handshake started, the batch's write —
 * and the device settles at each of those points. A batch is of one direction (the device's
 * send or its receive), so a peer's received and sent events are never interleaved.
 *
 * What it saves: a few calls per packet that pass `now`, a double, which V8 boxes as a fresh
 * heap number at each call it does not inline — 16 to 64 bytes of garbage per packet.
 *
 * @module
 */
import type { Peer } from "./peer.ts";

/**
 * Per-peer timer events waiting for {@linkcode TimerBatch.settle}.
 *
 * @example
 * ```ts ignore
 * const batch = new TimerBatch();
 * batch.received(peer, true); // a data packet from peer
 * batch.received(peer, false); // a keepalive from peer
 * batch.settle(now); // as if each had run its timer events at `now`
 * ```
 */
export class TimerBatch {
  readonly #peers: Peer[] = [];
  /** Per listed peer: data packets received (keepalives not counted). */
  readonly #dataIn: number[] = [];
  /** Per listed peer: authenticated packets received. */
  readonly #packetsIn: number[] = [];
  /** Per listed peer: data packets sent. */
  readonly #dataOut: number[] = [];

  /** Notes an authenticated packet from `peer`; `data`: it carried a packet, not a keepalive. */
  received(peer: Peer, data: boolean): void {
    const i = this.#slot(peer);
    this.#packetsIn[i]++;
    if (data) this.#dataIn[i]++;
  }

  /** Notes a data packet sent to `peer`. */
  sent(peer: Peer): void {
    this.#dataOut[this.#slot(peer)]++;
  }

  /** Runs the events noted since the last call, as each packet would have run them at `now`. */
  settle(now: number): void {
    const peers = this.#peers;
    if (peers.length === 0) return;
    for (let i = 0; i < peers.length; i++) {
      const peer = peers[i], t = peer.timers;
      // Each of these is the same whether run once or once per packet at one time...
      if (this.#packetsIn[i] > 0) {
        t.anyAuthenticatedPacketReceived();
        t.anyAuthenticatedPacketTraversal(now, peer.persistentKeepaliveMs);
      }
      // ...but this: the first data packet arms the keepalive timer (or, if it already runs,
      // asks for another after it), the second asks for another, later ones change nothing.
      for (let k = Math.min(this.#dataIn[i], 2); k > 0; k--) t.dataReceived(now);
      if (this.#dataOut[i] > 0) {
        t.anyAuthenticatedPacketTraversal(now, peer.persistentKeepaliveMs);
        t.anyAuthenticatedPacketSent();
        t.dataSent(now);
      }
    }
    peers.length = 0;
    this.#packetsIn.length = this.#dataIn.length = this.#dataOut.length = 0;
  }

  #slot(peer: Peer): number {
    const peers = this.#peers;
    // A batch is mostly one peer's: the list is short and the search ends at once.
    let i = peers.indexOf(peer);
    if (i < 0) {
      i = peers.length;
      peers.push(peer);
      this.#packetsIn.push(0);
      this.#dataIn.push(0);
      this.#dataOut.push(0);
    }
    return i;
  }
}

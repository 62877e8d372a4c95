// Two PeerPaths talking over a simulated network with a fake clock: UDP can be
// blocked and unblocked, DERP always works. Checks the whole issue-5 cycle
// direct → degraded → relay-only → direct, and that traffic keeps a working path.
import assert from "node:assert/strict";
import { type AddrPort, addrPortEqual, parseAddrPort } from "./addr.ts";
import { PeerPath } from "./path.ts";
import type { DiscoAction, PathState } from "./path_types.ts";
import { DEFAULT_DISCO_TUNABLES as T } from "./tunables.ts";

const UDP_DELAY = 15;
const DERP_DELAY = 40;

interface Node {
  name: string;
  addr: AddrPort;
  path: PeerPath; // this node's view of the other node
  other?: Node;
  states: { t: number; state: PathState }[];
}

class Sim {
  now = 0;
  udpBlocked = false;
  #queue: { at: number; seq: number; fn: () => void }[] = [];
  #seq = 0;

  at(delay: number, fn: () => void): void {
    this.#queue.push({ at: this.now + delay, seq: this.#seq++, fn });
    this.#queue.sort((a, b) => a.at - b.at || a.seq - b.seq);
  }

  runDue(): void {
    while (this.#queue.length > 0 && this.#queue[0].at <= this.now) this.#queue.shift()!.fn();
  }

  /** Performs a node's actions on the simulated network. */
  apply(from: Node, actions: readonly DiscoAction[]): void {
    const to = from.other!;
    for (const a of actions) {
      switch (a.kind) {
        case "ping":
          if (this.udpBlocked || !addrPortEqual(a.to, to.addr)) break;
          this.at(UDP_DELAY, () => {
            if (this.udpBlocked) return;
            this.apply(to, to.path.handlePing(this.now, a.txId, { kind: "udp", addr: from.addr }));
          });
          break;
        case "pong":
          if (a.via.kind === "udp") {
            if (this.udpBlocked) break;
            this.at(UDP_DELAY, () => {
              if (this.udpBlocked) return;
              const out = to.path.handlePong(this.now, a.txId, { kind: "udp", addr: from.addr });
              this.apply(to, out ?? []);
            });
          } else {
            this.at(DERP_DELAY, () => {
              this.apply(
                to,
                to.path.handlePong(this.now, a.txId, { kind: "derp", region: 1 }) ?? [],
              );
            });
          }
          break;
        case "call-me-maybe":
          this.at(
            DERP_DELAY,
            () => this.apply(to, to.path.handleCallMeMaybe(this.now, [from.addr])),
          );
          break;
        case "path":
          from.states.push({ t: this.now, state: a.state });
          break;
      }
    }
  }
}

function node(name: string, addr: string): Node {
  return { name, addr: parseAddrPort(addr), path: new PeerPath(), states: [] };
}

Deno.test("UDP blocked then unblocked: direct → degraded → relay-only → direct, no lasting loss", () => {
  const sim = new Sim();
  const a = node("a", "203.0.113.1:41641");
  const b = node("b", "198.51.100.2:41641");
  a.other = b;
  b.other = a;
  // Each learns the other's endpoint from the netmap.
  sim.apply(a, a.path.setEndpoints(0, [b.addr]));
  sim.apply(b, b.path.setEndpoints(0, [a.addr]));

  const BLOCK = 20_000;
  const UNBLOCK = 60_000;
  const END = 100_000;
  const lostAt: number[] = [];
  for (sim.now = 0; sim.now <= END; sim.now += 10) {
    if (sim.now === BLOCK) sim.udpBlocked = true;
    if (sim.now === UNBLOCK) sim.udpBlocked = false;
    sim.runDue();
    for (const n of [a, b]) {
      if (sim.now % 200 === 0) {
        // A WireGuard packet each way every 200 ms.
        const path = n.path.sendPath(sim.now);
        const delivered = path.derp ||
          (path.udp !== null && !sim.udpBlocked && addrPortEqual(path.udp, n.other!.addr));
        if (!delivered && n === a) lostAt.push(sim.now);
        assert.ok(path.derp || path.udp !== null, "every packet has somewhere to go");
        sim.apply(n, n.path.noteSend(sim.now));
      }
      sim.apply(n, n.path.tick(sim.now));
    }
  }

  const seq = a.states.map((s) => s.state);
  assert.deepEqual(seq, ["probing", "direct", "degraded", "relay-only", "direct"]);
  const when = (state: PathState) => a.states.find((s) => s.state === state)!.t;
  assert.ok(when("direct") < 100, `direct after ${when("direct")} ms`);
  const degradedAt = when("degraded");
  const relayAt = when("relay-only");
  // Three heartbeats missed (counted at the following heartbeats), then degradedTimeout.
  assert.ok(degradedAt > BLOCK && degradedAt <= BLOCK + 4 * T.heartbeatInterval, `${degradedAt}`);
  assert.ok(relayAt > degradedAt && relayAt <= BLOCK + T.degradedTimeout, `${relayAt}`);
  const backAt = a.states.findLast((s) => s.state === "direct")!.t;
  assert.ok(
    backAt > UNBLOCK && backAt <= UNBLOCK + T.reprobeInterval + T.probeTimeout,
    `back to direct at ${backAt}`,
  );
  assert.equal(b.path.state, "direct");
  assert.deepEqual(a.path.sendPath(END), { udp: b.addr, derp: false });

  // Loss only while the dead path was still trusted, never before or after.
  assert.ok(lostAt.length > 0, "the blocked window cost some packets");
  assert.ok(lostAt[0] >= BLOCK);
  assert.ok(
    lostAt[lostAt.length - 1] <= BLOCK + T.trustUDPAddrDuration,
    `last loss at ${lostAt[lostAt.length - 1]}`,
  );
});

Deno.test("a peer that never answers UDP stays relay-only and is reprobed every 25 s", () => {
  const sim = new Sim();
  sim.udpBlocked = true;
  const a = node("a", "203.0.113.1:41641");
  const b = node("b", "198.51.100.2:41641");
  a.other = b;
  b.other = a;
  sim.apply(a, a.path.setEndpoints(0, [b.addr]));
  const pingTimes: number[] = [];
  for (sim.now = 0; sim.now <= 80_000; sim.now += 10) {
    sim.runDue();
    if (sim.now % 200 === 0) {
      assert.deepEqual(a.path.sendPath(sim.now), { udp: null, derp: true });
      const out = a.path.noteSend(sim.now);
      for (const x of out) if (x.kind === "ping") pingTimes.push(sim.now);
      sim.apply(a, out);
    }
    const out = a.path.tick(sim.now);
    for (const x of out) if (x.kind === "ping") pingTimes.push(sim.now);
    sim.apply(a, out);
  }
  assert.deepEqual(a.states.map((s) => s.state), ["probing", "relay-only"]);
  assert.deepEqual(pingTimes, [0, 25_000, 50_000, 75_000]);
});

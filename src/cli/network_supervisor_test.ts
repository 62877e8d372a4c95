import assert from "node:assert/strict";
import type { NetworkConfig, WireguardNetwork } from "../config/mod.ts";
import type { Stoppable } from "./foreground.ts";
import { networkFingerprint, NetworkSupervisor, planReload } from "./network_supervisor.ts";

function wg(name: string, tun = `wg-${name}`): WireguardNetwork {
  return {
    kind: "wireguard",
    name,
    tun,
    configFile: `/etc/wireguard/${name}.conf`,
    config: {
      privateKey: new Uint8Array(32).fill(name.length),
      addresses: [],
      dns: [],
      peers: [],
    } as unknown as WireguardNetwork["config"],
    verbose: false,
  };
}

/** A fake network: records its starts and stops; `stopSelf` ends it as `tun down` would. */
class Fake implements Stoppable {
  #resolve!: () => void;
  readonly done = new Promise<void>((r) => this.#resolve = r);
  stopped = false;
  stop(): Promise<void> {
    this.stopped = true;
    this.#resolve();
    return Promise.resolve();
  }
}

function supervisor(fail: Set<string> = new Set()) {
  const started: Record<string, Fake[]> = {};
  const sup = new NetworkSupervisor((net: NetworkConfig) => {
    if (fail.has(net.name)) return Promise.reject(new Error(`${net.name} has no TUN`));
    const f = new Fake();
    (started[net.name] ??= []).push(f);
    return Promise.resolve(f);
  });
  return { sup, started };
}

Deno.test("networkFingerprint ignores key order and tells bytes apart", () => {
  const a = wg("corp");
  const reordered = Object.fromEntries(Object.entries(a).reverse()) as unknown as NetworkConfig;
  assert.equal(networkFingerprint(reordered), networkFingerprint(a));
  const b = wg("corp");
  (b.config as unknown as { privateKey: Uint8Array }).privateKey = new Uint8Array(32).fill(9);
  assert.notEqual(networkFingerprint(b), networkFingerprint(a));
});

Deno.test("planReload keeps unchanged networks, restarts changed ones, stops removed ones", () => {
  const running = new Map([
    ["same", networkFingerprint(wg("same"))],
    ["changed", networkFingerprint(wg("changed"))],
    ["gone", networkFingerprint(wg("gone"))],
  ]);
  const plan = planReload(running, [wg("new"), wg("changed", "wg-other"), wg("same")]);
  assert.deepEqual(plan.keep, ["same"]);
  assert.deepEqual(plan.stop.sort(), ["changed", "gone"]);
  assert.deepEqual(plan.start.map((n) => n.name), ["new", "changed"]);
});

Deno.test("NetworkSupervisor reload touches only what changed; a failed start leaves the rest", async () => {
  const { sup, started } = supervisor(new Set(["broken"]));
  const first = await sup.apply([wg("a"), wg("b"), wg("broken")]);
  assert.deepEqual(first.started, ["a", "b"]);
  assert.deepEqual(first.failed, [{ name: "broken", reason: "broken has no TUN" }]);
  const second = await sup.apply([wg("a"), wg("b", "wg-renamed"), wg("c")]);
  assert.deepEqual(second.kept, ["a"]);
  assert.deepEqual(second.stopped, ["b"]);
  assert.deepEqual(second.started.sort(), ["b", "c"]);
  assert.equal(started.a.length, 1, "a was not restarted");
  assert.equal(started.a[0].stopped, false);
  assert.equal(started.b[0].stopped, true);
  assert.equal(started.b.length, 2);
  assert.deepEqual(sup.names.sort(), ["a", "b", "c"]);
  await sup.stop();
  await sup.done;
  assert.ok([started.a[0], started.b[1], started.c[0]].every((f) => f.stopped));
  assert.deepEqual((await sup.apply([wg("d")])).started, [], "nothing starts after stop");
});

Deno.test("NetworkSupervisor is done when its last network stops by itself, and restarts a downed one on reload", async () => {
  const { sup, started } = supervisor();
  await sup.apply([wg("a"), wg("b")]);
  await started.a[0].stop();
  await Promise.resolve();
  assert.deepEqual(sup.names, ["b"]);
  const again = await sup.apply([wg("a"), wg("b")]);
  assert.deepEqual(again.started, ["a"]);
  assert.deepEqual(again.kept, ["b"]);
  let done = false;
  void sup.done.then(() => done = true);
  await started.a[1].stop();
  await started.b[0].stop();
  await sup.done;
  assert.ok(done);
});

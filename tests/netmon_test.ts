/**
 * A node notices the host's network change: a new address on its uplink reaches control as an
 * endpoint within seconds (the periodic rediscovery is every 30 s), and a removed one goes.
 */
import assert from "node:assert/strict";
import { namespaceSupport, waitFor } from "../src/testbed/netns.ts";
import { Tailnet } from "../src/testbed/tailnet.ts";
import { testOrSkip } from "../src/testing/skip.ts";

const skip = await namespaceSupport();

async function endpointsOf(t: Tailnet, name: string): Promise<string[]> {
  const nodes = await t.admin("GET", "/admin/nodes") as {
    givenName: string;
    endpoints: string[];
  }[];
  return nodes.find((n) => n.givenName === name)?.endpoints ?? [];
}

/** Waits with the testbed's waitFor and returns how long it took, in ms. */
async function timed(what: string, ms: number, ok: () => Promise<boolean>): Promise<number> {
  const t0 = Date.now();
  await waitFor(what, ok, ms);
  return Date.now() - t0;
}

testOrSkip(import.meta, skip, {
  name: "a new or removed address reaches control as endpoints within seconds, not 30 s",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const t = await Tailnet.create();
    try {
      await t.up("alpha");
      const ns = t.hosts.get("alpha")!;
      await timed(
        "alpha's first endpoints",
        10_000,
        async () => (await endpointsOf(t, "alpha")).some((e) => e.startsWith("10.80.1.2:")),
      );
      const links = (await ns.exec(["ip", "-o", "link", "show"])).stdout;
      const uplink = links.match(/^\d+: (wn\d+-[^:@]+)/m)![1];

      await ns.exec(["ip", "addr", "add", "10.80.1.77/24", "dev", uplink]);
      const added = await timed(
        "the new address as an endpoint",
        8_000,
        async () => (await endpointsOf(t, "alpha")).some((e) => e.startsWith("10.80.1.77:")),
      );
      await ns.exec(["ip", "addr", "del", "10.80.1.77/24", "dev", uplink]);
      const removed = await timed(
        "the removed address to go",
        8_000,
        async () => !(await endpointsOf(t, "alpha")).some((e) => e.startsWith("10.80.1.77:")),
      );
      console.log(`netmon_test: endpoint added after ${added} ms, removed after ${removed} ms`);
      assert.ok((await endpointsOf(t, "alpha")).some((e) => e.startsWith("10.80.1.2:")));
    } finally {
      await t.close();
    }
  },
});

import assert from "node:assert/strict";
import { mattersFor } from "./netmon.ts";
import { evalJsonInNetns, needsRoot, withNetns } from "../../ffi/testdata/netns.ts";
import { testOrSkip } from "../testing/skip.ts";

Deno.test("mattersFor() ignores the node's own interface but not a lost-messages report", () => {
  assert.equal(mattersFor([{ kind: "addr", removed: false, ifindex: 5 }], 5), false);
  assert.equal(mattersFor([{ kind: "addr", removed: false, ifindex: 6 }], 5), true);
  assert.equal(mattersFor([{ kind: "link", removed: false, ifindex: 0 }], 5), true);
});

const skipReason = needsRoot();

// In a namespace: count onChange calls while ip adds an address, refreshes its lifetimes
// (what router advertisements and DHCP renewals do), and takes the link down.
const SCRIPT = `
import { watchNetwork } from ${JSON.stringify(new URL("./netmon.ts", import.meta.url).href)};
const ip = (...a) => new Deno.Command("ip", { args: a }).output();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
await ip("link", "add", "nm0", "type", "veth", "peer", "name", "nm1");
await ip("link", "set", "nm0", "up");
await ip("link", "set", "nm1", "up");
await sleep(300);
let calls = 0;
const w = watchNetwork({ ignoreIfindex: 0, onChange: () => calls++, log: () => {}, debounceMs: 100 });
const counts = {};
await ip("addr", "add", "10.9.9.9/24", "dev", "nm0");
await sleep(600); counts.added = calls;
await ip("addr", "change", "10.9.9.9/24", "dev", "nm0", "valid_lft", "500", "preferred_lft", "500");
await sleep(600); counts.refreshed = calls;
await ip("link", "set", "nm0", "down");
await sleep(600); counts.down = calls;
await w.close();
console.log(JSON.stringify(counts));
`;

testOrSkip(import.meta, skipReason, {
  name: "watchNetwork() calls on new addresses and link changes, not on lifetime refreshes",
  fn: () =>
    withNetns(async (ns) => {
      const c = await evalJsonInNetns(ns, SCRIPT) as {
        added: number;
        refreshed: number;
        down: number;
      };
      assert.equal(c.added, 1, JSON.stringify(c));
      assert.equal(c.refreshed, 1, `a lifetime refresh is not a change: ${JSON.stringify(c)}`);
      assert.ok(c.down >= 2, `link down is a change: ${JSON.stringify(c)}`);
    }),
});

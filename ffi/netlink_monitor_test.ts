import assert from "node:assert/strict";
import { decodeLinkChange, RTM_DELADDR, RTM_NEWLINK } from "./netlink_codec.ts";
import { evalJsonInNetns, needsRoot, withNetns } from "./testdata/netns.ts";
import { testOrSkip } from "../src/testing/skip.ts";

Deno.test("decodeLinkChange() reads the interface index of link and address notifications", () => {
  const body = new Uint8Array(16);
  new DataView(body.buffer).setUint32(4, 7, true);
  const msg = { type: RTM_NEWLINK, flags: 0, seq: 0, pid: 0, body };
  assert.deepEqual(decodeLinkChange(msg), { kind: "link", removed: false, ifindex: 7 });
  assert.deepEqual(decodeLinkChange({ ...msg, type: RTM_DELADDR }), {
    kind: "addr",
    removed: true,
    ifindex: 7,
  });
  assert.equal(decodeLinkChange({ ...msg, type: 24 }), null); // RTM_NEWROUTE
  assert.equal(decodeLinkChange({ ...msg, body: body.subarray(0, 7) }), null);
});

const skipReason = needsRoot();

// In the namespace: watch, make changes with ip, report what was heard.
const SCRIPT = `
import { LinkMonitor } from ${
  JSON.stringify(new URL("./netlink_monitor.ts", import.meta.url).href)
};
const heard = [];
const mon = LinkMonitor.open((c) => heard.push(...c));
const ip = (...a) => new Deno.Command("ip", { args: a }).output();
const wait = async (pred) => {
  for (let i = 0; i < 100 && !pred(); i++) await new Promise((r) => setTimeout(r, 20));
};
await ip("link", "add", "mon0", "type", "veth", "peer", "name", "mon1");
const index = Number(new TextDecoder().decode((await ip("-j", "link", "show", "mon0")).stdout)
  .match(/"ifindex":(\\d+)/)[1]);
await wait(() => heard.some((c) => c.kind === "link" && c.ifindex === index));
await ip("addr", "add", "10.9.9.9/32", "dev", "mon0");
await wait(() => heard.some((c) => c.kind === "addr" && !c.removed && c.ifindex === index));
await ip("link", "del", "mon0");
await wait(() => heard.some((c) => c.kind === "link" && c.removed && c.ifindex === index));
await mon.close();
console.log(JSON.stringify({ index, heard }));
`;

testOrSkip(import.meta, skipReason, {
  name: "LinkMonitor hears links and addresses come and go",
  fn: () =>
    withNetns(async (ns) => {
      const { index, heard } = await evalJsonInNetns(ns, SCRIPT) as {
        index: number;
        heard: { kind: string; removed: boolean; ifindex: number }[];
      };
      const saw = (kind: string, removed: boolean) =>
        heard.some((c) => c.kind === kind && c.removed === removed && c.ifindex === index);
      assert.ok(saw("link", false), `link added: ${JSON.stringify(heard)}`);
      assert.ok(saw("addr", false), `address added: ${JSON.stringify(heard)}`);
      assert.ok(saw("link", true), `link removed: ${JSON.stringify(heard)}`);
    }),
});

import assert from "node:assert/strict";
import { needsRoot, withNetns } from "./testdata/netns.ts";
import { testOrSkip } from "../src/testing/skip.ts";

const PEER = new URL("./testdata/offload_peer.ts", import.meta.url).pathname;
const skipReason = needsRoot();

async function runPeer(ns: string, args: string[]): Promise<Record<string, unknown>> {
  const out = await new Deno.Command("ip", {
    args: ["netns", "exec", ns, Deno.execPath(), "run", "-A", PEER, ...args],
    stdin: "null",
    signal: AbortSignal.timeout(60_000),
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return JSON.parse(text.split("\n").at(-1)!);
}

for (const v6 of [false, true]) {
  testOrSkip(import.meta, skipReason, {
    name: `TunDevice in offload mode carries a kernel TCP stream both ways over IPv${
      v6 ? 6 : 4
    } as super packets`,
    fn: () =>
      withNetns(async (ns) => {
        const r = await runPeer(ns, v6 ? ["--v6"] : []);
        assert.equal(r.error, "");
        assert.equal(r.offload, true, "kernel accepted TUNSETOFFLOAD");
        assert.equal(r.badChecksums, 0, "every split segment has valid checksums");
        assert.equal(r.outOfOrder, 0, "segments came out in sequence");
        assert.ok((r.superReads as number) > 0, "the kernel handed out TSO super packets");
        assert.ok((r.superWrites as number) > 0, "writes coalesced segments");
        assert.equal(r.kernelToPeerOk, true, "kernel → peer bytes intact");
        assert.equal(r.peerToKernelOk, true, "peer → kernel bytes intact");
      }),
  });
}

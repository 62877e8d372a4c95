import { testOrSkip } from "../testing/skip.ts";
import assert from "node:assert/strict";
import { buildIcmpPacket, parsePacket, verifyChecksums } from "../net/packet.ts";
import { run } from "./netns.ts";
import { TunPair } from "./tun_pair.ts";

const skip = await TunPair.unsupported();

async function namespaces(prefix: string): Promise<string[]> {
  const r = await run(["ip", "netns", "list"]);
  return r.stdout.split("\n").filter((l) => l.startsWith(`${prefix}-`));
}

testOrSkip(import.meta, skip, {
  name: "TunPair: packets sent go into the kernel, what the kernel emits comes out",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const prefix = "tpt1";
    {
      await using pair = await TunPair.create({ prefix });
      assert.equal((await namespaces(prefix)).length, 1);
      // The stack pings the kernel: the kernel's reply comes out of the TUN.
      pair.send(buildIcmpPacket({
        src: pair.stack4,
        dst: pair.kernel4,
        type: 8,
        rest: 0x77770001,
        payload: new Uint8Array(32).fill(1),
      }));
      for await (const p of pair.packets()) {
        const q = parsePacket(p);
        if (q.version !== 4) continue; // IPv6 multicast chatter of a new interface
        assert.deepEqual([q.icmpType, q.srcIp(), q.dstIp()], [0, pair.kernel4, pair.stack4]);
        assert.ok(verifyChecksums(p));
        break;
      }
      assert.equal(pair.sent, 1);
      // A command in the namespace sees the TUN with the kernel side's address.
      const r = await pair.exec(["ip", "-br", "addr", "show", "dev", pair.ifname]);
      assert.match(r.stdout, /10\.77\.0\.1\/24/);
      assert.match(r.stdout, /fd00:77::1\/64/);
    }
    assert.deepEqual(await namespaces(prefix), [], "await using removed the namespace");
  },
});

testOrSkip(import.meta, skip, {
  name: "TunPair: a failed setup removes the namespace; close() twice is harmless",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const prefix = "tpt2";
    await assert.rejects(TunPair.create({ prefix, kernel4: "10.77.0.1/99" }));
    assert.deepEqual(await namespaces(prefix), []);
    const pair = await TunPair.create({ prefix });
    await pair.close();
    await pair.close();
    assert.throws(() => pair.send(new Uint8Array(20)), /closed/);
    assert.deepEqual(await namespaces(prefix), []);
  },
});

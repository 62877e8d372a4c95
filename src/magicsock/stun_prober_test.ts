import assert from "node:assert/strict";
import { StunProber } from "./stun_prober.ts";
import { encodeBindingResponse } from "../stun/codec.ts";
import { endpointToString } from "../../ffi/endpoint.ts";
import { parseIp } from "../net/ip.ts";

Deno.test("StunProber.rtt() answers with the round trip, or null on silence or a failed send", async () => {
  const sent: string[] = [];
  const prober: StunProber = new StunProber((packet, to) => {
    sent.push(endpointToString(to));
    if (sent.length === 1) {
      queueMicrotask(() =>
        prober.handle(encodeBindingResponse(packet.subarray(4, 20), parseIp("1.2.3.4"), 5))
      );
    } else if (sent.length === 3) {
      throw new Error("no route");
    }
  });
  const rtt = await prober.rtt("10.0.0.9", 3478, 1000);
  assert.ok(rtt !== null && rtt >= 0);
  assert.equal(await prober.rtt("10.0.0.9", 3478, 20), null, "no answer");
  assert.equal(await prober.rtt("fd00::9", 3478, 1000), null, "send failed");
  assert.deepEqual(sent, ["10.0.0.9:3478", "10.0.0.9:3478", "[fd00::9]:3478"]);
});

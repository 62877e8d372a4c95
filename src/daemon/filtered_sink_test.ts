import assert from "node:assert/strict";
import { PacketFilter } from "../filter/filter.ts";
import { parseIp } from "../net/ip.ts";
import { buildUdpPacket } from "../net/packet_build.ts";
import { filteredSink } from "./filtered_sink.ts";

const udp = (src: string, dport: number) =>
  buildUdpPacket({
    src: parseIp(src),
    dst: parseIp("100.64.0.1"),
    srcPort: 5000,
    dstPort: dport,
    payload: new Uint8Array([dport & 0xff]),
  });

Deno.test("filteredSink() writes only what the current filter accepts, in one batch", () => {
  const filter = new PacketFilter([
    { SrcIPs: ["100.64.0.2"], DstPorts: [{ IP: "*", Ports: { First: 53, Last: 53 } }] },
  ], { localNets: ["100.64.0.1/32"] });
  const writes: number[][] = [];
  let current: PacketFilter | null = filter;
  const sink = filteredSink({
    writeBatch: (bufs, sizes, offset, count) =>
      writes.push(bufs.slice(0, count).map((b, i) => b[offset + sizes[i] - 1])),
  }, () => current);
  const batch = [
    udp("100.64.0.2", 53),
    udp("100.64.0.3", 53),
    udp("100.64.0.2", 54),
    udp("100.64.0.2", 53),
  ];
  sink.write(batch, batch.map((b) => b.length), 0, batch.length);
  assert.deepEqual(writes, [[53, 53]]);
  current = null; // no filter yet: nothing passes
  sink.write(batch, batch.map((b) => b.length), 0, batch.length);
  assert.equal(writes.length, 1);
});

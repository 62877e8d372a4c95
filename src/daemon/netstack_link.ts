/**
 * The userspace-networking link (`--tun userspace-networking`): warren's own IP stack in place
 * of a TUN. Apart from node_link.ts so that a kernel-TUN node never loads the stack: only
 * `TsNode` in userspace mode imports this module.
 *
 * @module
 */
import { formatPrefix } from "../net/ip.ts";
import { NetstackDevice } from "../netstack/device.ts";
import { IpInput } from "../netstack/ip_input.ts";
import { systemClock } from "../netstack/types.ts";
import { type Netstack, type NodeLink, USERSPACE_NETWORKING } from "./node_link.ts";

/**
 * Builds the userspace stack: an {@linkcode IpInput} behind a
 * {@linkcode NetstackDevice}, with no address until the engine gives it the
 * node's. Touches nothing in the host: no device, route or capability.
 */
export function openNetstackLink(mtu: number, log: (line: string) => void): NodeLink {
  let reported = false;
  const device = new NetstackDevice({
    mtu,
    // The input below verifies no transport checksum (why: there), so merged packets may
    // leave theirs partial.
    coalesce: true,
    onInputError: (e) => {
      // A bug in a handler: said once, counted always (tun status --json shows the count).
      if (reported) return;
      reported = true;
      log(`netstack: input failed: ${e instanceof Error ? e.stack ?? e.message : e}`);
    },
  });
  // What the data plane writes here was decrypted by WireGuard, whose AEAD tag proves every
  // byte arrived as the peer's stack wrote it (or was built by the node itself: quad-100's
  // answers): a transport checksum can catch nothing more, so it is not computed again.
  const ip = new IpInput({
    clock: systemClock,
    out: device.send,
    addresses: [],
    mtu,
    verifyChecksums: false,
  });
  device.setInput((p) => ip.input(p));
  const addresses = new Map<string, Uint8Array>();
  const update = () => ip.setAddresses([...addresses.values()]);
  const netstack: Netstack = { ip, device, servicesStatus: null };
  return {
    mode: USERSPACE_NETWORKING,
    name: USERSPACE_NETWORKING,
    device,
    ifindex: 0,
    netstack,
    routes: { add() {}, remove() {} },
    addAddress(p) {
      addresses.set(formatPrefix(p), p.ip.slice());
      update();
    },
    removeAddress(p) {
      addresses.delete(formatPrefix(p));
      update();
    },
    installedRoutes: () => [],
    counters: () => ({
      ip: { ...ip.counters },
      device: { ...device.counters },
      ...netstack.servicesStatus?.(),
    }),
    close: () => device.close(),
  };
}

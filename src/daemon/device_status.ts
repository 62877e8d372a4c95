/**
 * The WireGuard part of a plain WireGuard node's status, read from its device: what
 * `wg show` lists. Computed where the device lives (the main thread or the data-plane Worker)
 * and plain data, so it crosses `postMessage`.
 *
 * @module
 */
import { endpointToString } from "../../ffi/udp.ts";
import { formatWgKey } from "../key/wg_key.ts";
import { formatPrefix } from "../net/ip.ts";
import type { Device } from "../wireguard/device.ts";
import type { NodeStatus } from "./status.ts";

/** The device's fields of a {@linkcode NodeStatus}. */
export type DeviceStatus = Pick<NodeStatus, "publicKey" | "mtu" | "peers" | "drops">;

/** Reads the device's key, MTU, peers (endpoint, allowed IPs, handshake, bytes) and drops. */
export function deviceStatus(dev: Device): DeviceStatus {
  return {
    publicKey: formatWgKey(dev.publicKey),
    mtu: dev.mtu,
    peers: dev.peers().map((p) => ({
      publicKey: formatWgKey(p.publicKey),
      endpoint: p.endpoint ? endpointToString(p.endpoint) : null,
      allowedIps: dev.allowedIpsOf(p).map(formatPrefix),
      latestHandshake: Math.floor(p.lastHandshakeWall / 1000),
      rxBytes: p.rxBytes,
      txBytes: p.txBytes,
      persistentKeepalive: p.persistentKeepaliveMs / 1000,
      presharedKey: p.presharedKey !== null,
    })),
    drops: { ...dev.drops },
  };
}

/**
 * A host UDP socket as a {@linkcode ProxyDatagramSocket}, over `node:dgram`
 * rather than `Deno.listenDatagram`, which still needs `--unstable-net`.
 * Received datagrams wait in a bounded queue; past it they are dropped, as
 * the network would.
 *
 * @module
 */

import dgram from "node:dgram";
import { lookup } from "node:dns/promises";
import { UDP_QUEUE_LIMIT } from "./constants.ts";
import { ipOrNull } from "./socks5_codec.ts";
import type { ProxyAddr, ProxyDatagram, ProxyDatagramSocket } from "./types.ts";

/** A bound host UDP socket; {@linkcode HostUdpSocket.addr} is where it listens. */
export interface HostUdpSocket extends ProxyDatagramSocket {
  /** The bound address and port. */
  readonly addr: ProxyAddr;
}

/**
 * Binds a UDP socket on `hostname` (an IP literal) and port 0 or `port`. An
 * IPv6 wildcard (`::`) socket is dual-stack, so it reaches IPv4 destinations too.
 *
 * @example
 * ```ts ignore
 * import { bindHostUdp } from "./udp_socket.ts";
 * const sock = await bindHostUdp("127.0.0.1");
 * await sock.send(new Uint8Array([1]), "127.0.0.1", sock.addr.port);
 * (await sock.receive())?.data; // Uint8Array [1]
 * sock.close();
 * ```
 */
export async function bindHostUdp(hostname: string, port = 0): Promise<HostUdpSocket> {
  const ip = ipOrNull(hostname);
  if (ip === null) throw new TypeError(`Cannot bind UDP on ${JSON.stringify(hostname)}: not an IP`);
  const v6 = ip.length === 16;
  const sock = dgram.createSocket({ type: v6 ? "udp6" : "udp4", ipv6Only: false });
  await new Promise<void>((resolve, reject) => {
    sock.once("error", reject);
    sock.bind(port, hostname, () => {
      sock.off("error", reject);
      resolve();
    });
  });
  const bound = sock.address();
  const queue: ProxyDatagram[] = [];
  let waiter: ((d: ProxyDatagram | null) => void) | null = null;
  let closed = false;
  sock.on("message", (msg: Uint8Array, rinfo: dgram.RemoteInfo) => {
    const d: ProxyDatagram = {
      data: new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength),
      hostname: rinfo.address.startsWith("::ffff:") && rinfo.address.includes(".")
        ? rinfo.address.slice(7)
        : rinfo.address,
      port: rinfo.port,
    };
    if (waiter !== null) {
      const w = waiter;
      waiter = null;
      w(d);
    } else if (queue.length < UDP_QUEUE_LIMIT) {
      queue.push(d);
    }
  });
  // An ICMP error on a send surfaces here; UDP carries on regardless.
  sock.on("error", () => {});
  return {
    addr: { hostname: bound.address, port: bound.port },
    async send(data, host, dport) {
      if (closed) throw new Deno.errors.BadResource("UDP socket is closed");
      let target = host;
      if (ipOrNull(host) === null) target = (await lookup(host, { family: v6 ? 0 : 4 })).address;
      if (v6 && !target.includes(":")) target = `::ffff:${target}`;
      await new Promise<void>((resolve, reject) =>
        sock.send(data, dport, target, (err) => err ? reject(err) : resolve())
      );
    },
    receive() {
      if (queue.length > 0) return Promise.resolve(queue.shift()!);
      if (closed) return Promise.resolve(null);
      return new Promise((resolve) => waiter = resolve);
    },
    close() {
      if (closed) return;
      closed = true;
      sock.close();
      queue.length = 0;
      if (waiter !== null) waiter(null);
      waiter = null;
    },
  };
}

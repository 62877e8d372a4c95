/**
 * What the tailnet end-to-end tests ask of a running node from outside, as a
 * user would: its peers in `tun status`, the namespace's kernel routes, a
 * MagicDNS answer from quad-100, a ping.
 *
 * @module
 */
import assert from "node:assert/strict";
import { type Netns, waitFor } from "../src/testbed/netns.ts";
import type { Tailnet } from "../src/testbed/tailnet.ts";

const DNS = new URL("./testdata/dns_query.ts", import.meta.url).pathname;
/** How long a survivor may take to follow the restarted server (tailscaled: seconds). */
const FOLLOW_MS = 30_000;

/** Each probe starts processes in a namespace: pause between tries to spare the 2 cores. */
function paced(probe: () => Promise<boolean>): () => Promise<boolean> {
  return async () => {
    if (await probe()) return true;
    await new Promise((r) => setTimeout(r, 250));
    return false;
  };
}

/** A node's `tun status --json`. */
export type Status = Awaited<ReturnType<Tailnet["status"]>>;
/** Peer names, sorted. */
export const peerNames = (st: Status) => st.peers.map((p) => p.name as string).sort();
/** A peer's tailnet IPv4 address. */
export const ipv4Of = (st: Status, name: string) =>
  (st.peers.find((p) => p.name === name)!.addresses as string[])
    .find((a) => !a.includes(":"))!.split("/")[0];

/** Waits until `host` lists exactly `names` as peers; returns that status. */
export async function waitPeers(t: Tailnet, host: string, names: string[]): Promise<Status> {
  let st: Status | null = null;
  await waitFor(
    `${host} to see exactly ${names}`,
    paced(async () => {
      st = await t.status(host);
      return JSON.stringify(peerNames(st)) === JSON.stringify(names);
    }),
    FOLLOW_MS,
  ).catch((e) => {
    throw new Error(`${(e as Error).message}; it sees ${st ? peerNames(st) : "?"}`);
  });
  return st!;
}

/** The kernel routes of the namespace, IPv4 and IPv6. */
export async function routes(ns: Netns): Promise<string> {
  return (await ns.exec(["ip", "route"])).stdout + (await ns.exec(["ip", "-6", "route"])).stdout;
}

/** Asks MagicDNS at quad-100 from inside the namespace: "A <ip>" or "RCODE n". */
export async function lookup(ns: Netns, name: string): Promise<string> {
  const r = await ns.exec([Deno.execPath(), "run", "-A", DNS, "100.100.100.100", name]);
  return r.stdout.trim();
}

/** Three pings from the namespace must be answered. */
export async function ping(ns: Netns, dst: string): Promise<void> {
  const r = await ns.exec(["ping", "-c", "3", "-i", "0.2", "-W", "3", dst], { check: false });
  assert.equal(r.code, 0, `ping ${dst} from ${ns.name}: ${r.stdout}${r.stderr}`);
}

/** Waits until the namespace no longer routes `ip` or resolves `name`. */
export async function waitForgotten(ns: Netns, ip: string, name: string): Promise<void> {
  await waitFor(
    `${ns.name} to drop the route to ${ip}`,
    paced(async () => !(await routes(ns)).includes(`${ip} `)),
    FOLLOW_MS,
  );
  await waitFor(
    `${ns.name} to stop resolving ${name}`,
    paced(async () => (await lookup(ns, name)) === "RCODE 3"),
    FOLLOW_MS,
  );
}

/**
 * The subnet-router scene of `warren demo`'s tailnet act: a node whose
 * namespace also has a LAN behind it advertises that LAN, the coordination
 * server approves the route (as `headscale nodes approve-routes` does), and a
 * node with `--accept-routes` reaches a LAN host that runs no VPN at all,
 * masqueraded through warren's own nftables table.
 *
 * @module
 */
import { Netns, veth } from "../testbed/netns.ts";
import type { Tailnet } from "../testbed/tailnet.ts";

const LAN = "10.99.0.0/24", LAN_ROUTER = "10.99.0.1", LAN_HOST = "10.99.0.2";

/** Runs the scene; `client` must be up with --accept-routes. Throws when something fails. */
export async function routerScene(
  t: Tailnet,
  client: string,
  say: (s: string) => void,
): Promise<void> {
  say(`warren tun up --advertise-routes ${LAN} (router), a LAN host behind it with no VPN`);
  const router = await t.addHost("router");
  const lan = await Netns.create("wd-lan");
  t.hosts.set("lan", lan);
  const sfx = lan.name.slice(-4);
  await veth(
    { ns: router, ifname: `wr-${sfx}`, addrs: [`${LAN_ROUTER}/24`] },
    { ns: lan, ifname: `wl-${sfx}`, addrs: [`${LAN_HOST}/24`] },
  );
  await router.exec(["sysctl", "-qw", "net.ipv4.ip_forward=1"]);
  await t.up("router", ["--advertise-routes", LAN]);
  const nodes = await t.admin("GET", "/admin/nodes") as { id: number; hostname: string }[];
  const id = nodes.find((n) => n.hostname === "router")!.id;
  const announced = await t.admin("GET", `/admin/routes/${id}`) as Record<string, string[]>;
  console.log(`control: router announces ${announced.available_routes.join(", ")}; approving`);
  await t.admin("POST", `/admin/routes/${id}`, { approve: [LAN] });
  const c = t.hosts.get(client)!;
  const until = Date.now() + 20_000;
  while (
    !((await t.status(client)).routes as string[]).includes(LAN) && Date.now() < until
  ) await new Promise((r) => setTimeout(r, 200));
  const r = await c.exec(["ping", "-c", "3", "-i", "0.2", "-W", "3", LAN_HOST], { check: false });
  console.log(
    `ping ${LAN_HOST} (the LAN host) from ${client}: ${
      r.stdout.split("\n").find((l) => /packets transmitted/.test(l)) ?? r.stderr.trim()
    }`,
  );
  if (r.code !== 0) throw new Error(`${client} cannot reach the LAN behind the router`);
  const table = (await router.exec(["nft", "list", "table", "inet", "warren"])).stdout;
  const masq = table.split("\n").find((l) => l.includes("masquerade"))?.trim();
  console.log(`router's nftables table inet warren: ${masq ?? "(no masquerade rule)"}`);
}

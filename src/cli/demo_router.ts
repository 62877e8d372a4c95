/**
 * The subnet-router scene of `warren demo`'s tailnet act: a node whose
 * namespace also has a LAN behind it advertises that LAN, the coordination
 * server approves the route (as `headscale nodes approve-routes` does), and a
 * node with `--accept-routes` reaches a LAN host that runs no VPN at all,
 * masqueraded through warren's own nftables table. The router also offers
 * itself as an exit node; another node switches to it with `tun set
 * --exit-node` and reaches an "internet" address only the router's side has.
 *
 * @module
 */
import { Netns, veth } from "../testbed/netns.ts";
import type { Tailnet } from "../testbed/tailnet.ts";

const LAN = "10.99.0.0/24", LAN_ROUTER = "10.99.0.1", LAN_HOST = "10.99.0.2";
/** An address beyond the router's LAN (TEST-NET-2): the "internet" the exit node reaches. */
const INTERNET = "198.51.100.7";

/**
 * Runs the scene; `client` must be up with --accept-routes, `exitUser` (another node) uses the
 * exit node. Throws when something fails.
 */
export async function routerScene(
  t: Tailnet,
  client: string,
  exitUser: string,
  say: (s: string) => void,
): Promise<void> {
  say(
    `warren tun up --advertise-routes ${LAN} --advertise-exit-node (router), a LAN host behind it with no VPN`,
  );
  const router = await t.addHost("router");
  const lan = await Netns.create("wd-lan");
  t.hosts.set("lan", lan);
  const sfx = lan.name.slice(-4);
  await veth(
    { ns: router, ifname: `wr-${sfx}`, addrs: [`${LAN_ROUTER}/24`] },
    { ns: lan, ifname: `wl-${sfx}`, addrs: [`${LAN_HOST}/24`] },
  );
  await router.exec(["sysctl", "-qw", "net.ipv4.ip_forward=1"]);
  await lan.exec(["ip", "addr", "add", `${INTERNET}/32`, "dev", "lo"]);
  await router.exec(["ip", "route", "add", `${INTERNET}/32`, "via", LAN_HOST]);
  await t.up("router", ["--advertise-routes", LAN, "--advertise-exit-node"]);
  const nodes = await t.admin("GET", "/admin/nodes") as { id: number; hostname: string }[];
  const id = nodes.find((n) => n.hostname === "router")!.id;
  const announced = await t.admin("GET", `/admin/routes/${id}`) as Record<string, string[]>;
  console.log(`control: router announces ${announced.available_routes.join(", ")}; approving`);
  await t.admin("POST", `/admin/routes/${id}`, { approve: [LAN, "0.0.0.0/0", "::/0"] });
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
  const table = (await router.exec(["nft", "list", "table", "inet", "warren-warren0"])).stdout;
  const masq = table.split("\n").find((l) => l.includes("masquerade"))?.trim();
  console.log(`router's nftables table inet warren-warren0: ${masq ?? "(no masquerade rule)"}`);
  await exitScene(t, exitUser, say);
}

/** `tun set --exit-node router` on `user`: everything off the tailnet goes through the router. */
async function exitScene(t: Tailnet, user: string, say: (s: string) => void): Promise<void> {
  say(`warren tun set --exit-node router (${user}), then ping ${INTERNET} beyond the router's LAN`);
  const ns = t.hosts.get(user)!;
  const before = await ns.exec(["ping", "-c", "1", "-W", "1", INTERNET], { check: false });
  console.log(`${user} → ${INTERNET} before: ${before.code === 0 ? "answered" : "unreachable"}`);
  const until = Date.now() + 20_000;
  while (
    !(await t.status(user)).peers.some((p) => p.name === "router.tailnet.test" && p.exitNodeOption)
  ) {
    if (Date.now() > until) throw new Error(`${user} does not see the router offer exit`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const set = await t.warren(user, ["set", "--exit-node", "router"], false);
  if (set.code !== 0) throw new Error(`tun set --exit-node: ${set.stderr.trim()}`);
  let r = { code: 1, stdout: "", stderr: "" };
  for (let i = 0; i < 20 && r.code !== 0; i++) {
    r = await ns.exec(["ping", "-c", "1", "-W", "1", INTERNET], { check: false });
  }
  const ok = await ns.exec(["ping", "-c", "3", "-i", "0.2", "-W", "2", INTERNET], { check: false });
  console.log(
    `${user} → ${INTERNET} through the exit node: ${
      ok.stdout.split("\n").find((l) => /packets transmitted/.test(l)) ?? ok.stderr.trim()
    }`,
  );
  const exitPeer = (await t.status(user)).peers.find((p) => p.name === "router.tailnet.test");
  console.log(`${user}'s path to its exit node: ${exitPeer?.path} (${exitPeer?.pathState})`);
  const text = (await t.warren(user, ["status", "--routes"])).stdout;
  console.log(text.split("\n").filter((l) => /exit node|5270|table 52/.test(l)).join("\n"));
  if (ok.code !== 0) throw new Error(`${user} cannot reach ${INTERNET} through the exit node`);
  await t.warren(user, ["set", "--exit-node="]);
  console.log(`tun set --exit-node= (${user}): no exit node, table 52 and its rules removed`);
}

/**
 * The plain-WireGuard act of `warren demo`: two nodes in two network
 * namespaces joined by a veth "wire", brought up from generated wg-quick
 * configs; status, pings both ways over IPv4 and IPv6, then teardown by
 * `tun down` and by SIGTERM.
 *
 * @module
 */
import { generatePrivateKey, publicKeyFrom } from "../crypto/x25519.ts";
import { formatWgKey } from "../key/wg_key.ts";
import { linkPair, Netns } from "../testbed/netns.ts";
import { WarrenNode } from "../testbed/warren_node.ts";

const WIRE = { a4: "10.231.0.1", b4: "10.231.0.2", a6: "fd00:231::1", b6: "fd00:231::2" };
const TUNNEL = { a4: "10.232.0.1", b4: "10.232.0.2", a6: "fd00:232::1", b6: "fd00:232::2" };

/** Runs the WireGuard act; throws on the first thing that does not work. */
export async function wireguardAct(say: (s: string) => void): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "warren-demo-" });
  const spaces: Netns[] = [];
  const nodes: WarrenNode[] = [];
  try {
    say("two hosts: network namespaces joined by a veth pair");
    const a = await Netns.create("warren-demo-a");
    spaces.push(a);
    const b = await Netns.create("warren-demo-b");
    spaces.push(b);
    await linkPair(a, b, WIRE);
    console.log(`${a.name}: ${WIRE.a4}, ${WIRE.a6}\n${b.name}: ${WIRE.b4}, ${WIRE.b6}`);

    say("keys and wg-quick configs");
    const ka = generatePrivateKey(), kb = generatePrivateKey();
    const conf = (priv: Uint8Array, peer: Uint8Array, me: "a" | "b") => {
      const other = me === "a" ? "b" : "a";
      const t = TUNNEL as Record<string, string>;
      const w = WIRE as Record<string, string>;
      return `[Interface]\nPrivateKey = ${formatWgKey(priv)}\n` +
        `Address = ${t[me + "4"]}/24, ${t[me + "6"]}/64\nListenPort = 51820\n\n` +
        `[Peer]\nPublicKey = ${formatWgKey(peer)}\n` +
        `AllowedIPs = ${t[other + "4"]}/32, ${t[other + "6"]}/128\n` +
        `Endpoint = ${w[other + "4"]}:51820\n`;
    };
    console.log(
      conf(ka, publicKeyFrom(kb), "a").replace(/PrivateKey = .*/, "PrivateKey = (secret)"),
    );

    say("warren tun up --wg-config in both namespaces");
    for (const [ns, name, key, peer] of [[a, "a", ka, kb], [b, "b", kb, ka]] as const) {
      nodes.push(
        await WarrenNode.start(ns, `warren-${name}`, conf(key, publicKeyFrom(peer), name), dir),
      );
      console.log(`${ns.name}: warren-${name} is up`);
    }

    say(`ping ${TUNNEL.b4} and ${TUNNEL.b6} from ${a.name}, ${TUNNEL.a4} from ${b.name}`);
    for (
      const [ns, dst] of [[a, TUNNEL.b4], [a, TUNNEL.b6], [b, TUNNEL.a4], [b, TUNNEL.a6]] as const
    ) {
      const r = await ns.exec(["ping", "-c", "3", "-i", "0.2", "-W", "2", dst], { check: false });
      const summary = r.stdout.split("\n").filter((l) => /packets transmitted|rtt/.test(l));
      console.log(`${ns.name} → ${dst}: ${summary.join("; ") || r.stderr.trim()}`);
      if (r.code !== 0) throw new Error(`ping ${dst} from ${ns.name} failed`);
    }

    say(`warren tun status --peers --routes (in ${a.name})`);
    console.log((await nodes[0].cli(["status", "--peers", "--routes"])).stdout.trimEnd());

    say("warren tun down (a) and SIGTERM (b)");
    console.log((await nodes[0].cli(["down"])).stdout.trimEnd());
    await nodes[0].proc.status;
    const { code } = await nodes[1].stop();
    console.log(`warren-b exited with code ${code} after SIGTERM`);
    for (const [ns, name] of [[a, "warren-a"], [b, "warren-b"]] as const) {
      const links = (await ns.exec(["ip", "-o", "link"])).stdout;
      const routes = (await ns.exec(["ip", "route"])).stdout +
        (await ns.exec(["ip", "-6", "route"])).stdout;
      const left = links.includes(name) || routes.includes(name);
      console.log(
        `${ns.name}: ${
          left ? `${name} or its routes are still there` : `${name} and its routes are gone`
        }`,
      );
      if (left) throw new Error(`${name} was not torn down`);
    }
  } catch (e) {
    for (const n of nodes) console.error(`${n.tun} log:\n${(await n.stop()).log}`);
    throw e;
  } finally {
    for (const n of nodes) await n.stop("SIGKILL");
    for (const ns of spaces) await ns.delete();
    await Deno.remove(dir, { recursive: true });
  }
}

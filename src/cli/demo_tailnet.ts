/**
 * The tailnet act of `warren demo`: a coordination server and a DERP relay
 * in a hub namespace, two warren nodes behind their own NAT routers joining
 * with a pre-auth key, MagicDNS names, traffic over DERP and then over the
 * direct path disco finds through the NATs, netcheck and status — a whole
 * local tailnet — and a third node running as user nobody in userspace
 * mode: no TUN, no capability, warren's own IP stack answering pings and
 * carrying a download through its SOCKS5 proxy — a subnet router and exit
 * node (demo_router.ts), and two networks in one process with the status
 * page (demo_service.ts).
 *
 * @module
 */
import { unprivileged } from "../testbed/privileges.ts";
import { curlSha, startBodyServer } from "../testbed/body_server.ts";
import { routerScene } from "./demo_router.ts";
import { serviceScene } from "./demo_service.ts";
import { Tailnet } from "../testbed/tailnet.ts";

const DNS_QUERY = new URL("../../tests/testdata/dns_query.ts", import.meta.url).pathname;

/** Runs the tailnet act; throws on the first thing that does not work. */
export async function tailnetAct(say: (s: string) => void): Promise<void> {
  say("a hub namespace: coordination server (TS2021, Headscale-style) and `warren tun derp`");
  const t = await Tailnet.create({ keepAliveSeconds: 10 });
  try {
    console.log(`control ${t.controlUrl}, DERP region 900 at http://10.80.0.1:3340, STUN :3478`);

    say(
      "warren tun up --auth-key … in two namespaces (alpha with --accept-routes, beta), each behind its own NAT router",
    );
    for (const name of ["alpha", "beta"]) {
      await t.addHostBehindNat(name);
      await t.up(name, name === "alpha" ? ["--accept-routes"] : []);
      const st = await t.status(name);
      console.log(`${name}: Running as ${(st.addresses as string[]).join(", ")}`);
    }
    const deadline = Date.now() + 15_000;
    while ((await t.status("alpha")).peers.length === 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
    }

    say("MagicDNS at 100.100.100.100, asked from alpha");
    const alpha = t.hosts.get("alpha")!, beta = t.hosts.get("beta")!;
    let betaIp = "";
    for (const [name, type] of [["beta.tailnet.test", "A"], ["beta.tailnet.test", "AAAA"]]) {
      const r = await alpha.exec([
        Deno.execPath(),
        "run",
        "-A",
        DNS_QUERY,
        "100.100.100.100",
        name,
        type,
      ]);
      console.log(`${name} ${type} → ${r.stdout.trim()}`);
      if (type === "A") betaIp = r.stdout.trim().split(" ")[1] ?? "";
    }
    if (!betaIp) throw new Error("MagicDNS did not answer for beta");

    say(`ping beta (${betaIp}) from alpha, and alpha from beta`);
    const alphaIp = ((await t.status("alpha")).addresses as string[])[0].split("/")[0];
    for (const [ns, dst] of [[alpha, betaIp], [beta, alphaIp]] as const) {
      const r = await ns.exec(["ping", "-c", "3", "-i", "0.2", "-W", "3", dst], { check: false });
      const summary = r.stdout.split("\n").filter((l) => /packets transmitted|rtt/.test(l));
      console.log(`${dst}: ${summary.join("; ") || r.stderr.trim()}`);
      if (r.code !== 0) throw new Error(`ping ${dst} failed`);
    }

    say(
      "warren tun ping beta (from alpha): answered over the path disco punched through both NATs",
    );
    const ping = await t.warren("alpha", ["ping", "beta", "-c", "20"], false);
    console.log(ping.stdout.trimEnd() || ping.stderr.trim());
    const until = Date.now() + 10_000;
    while ((await t.status("alpha")).peers[0]?.pathState !== "direct" && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 200));
    }

    say("warren tun netcheck (alpha)");
    console.log((await t.warren("alpha", ["netcheck"])).stdout.trimEnd());

    say("warren tun status --peers --routes (alpha)");
    console.log((await t.warren("alpha", ["status", "--peers", "--routes"])).stdout.trimEnd());

    say(
      "warren tun up --tun userspace-networking as user nobody (gamma): no TUN, no capability",
    );
    await using user = await unprivileged();
    await t.addHostBehindNat("gamma");
    await t.up("gamma", ["--state-dir", "mem:", "--socks5-server", "127.0.0.1:1055"], {
      tun: "userspace-networking",
      wrapper: user.wrapper,
    });
    const gamma = await t.status("gamma");
    const gammaIp = (gamma.addresses as string[])[0].split("/")[0];
    const gammaLinks = (await t.hosts.get("gamma")!.exec(["ip", "-o", "link"])).stdout;
    console.log(
      `gamma: ${gamma.state} in ${gamma.mode} mode as ${
        (gamma.addresses as string[]).join(", ")
      }; links in its namespace: ${
        gammaLinks.split("\n").filter(Boolean).map((l) => l.split(":")[1].trim()).join(", ")
      }`,
    );
    const seen = Date.now() + 15_000;
    while (
      !(await t.status("alpha")).peers.some((p) => p.name === "gamma.tailnet.test") &&
      Date.now() < seen
    ) await new Promise((r) => setTimeout(r, 200));
    const pg = await alpha.exec(["ping", "-c", "3", "-i", "0.2", "-W", "3", gammaIp], {
      check: false,
    });
    const echoed = ((await t.status("gamma")).netstack as { ip: { echoReplied: number } }).ip;
    console.log(
      `ping ${gammaIp} from alpha: ${
        pg.stdout.split("\n").find((l) => /packets transmitted/.test(l)) ?? pg.stderr.trim()
      }; gamma's netstack answered ${echoed.echoReplied} echo requests`,
    );
    if (pg.code !== 0) throw new Error(`ping ${gammaIp} (gamma, userspace) failed`);

    say("curl --socks5-hostname 127.0.0.1:1055 http://alpha:8000/body (in gamma's namespace)");
    const body = await startBodyServer(alpha, [`${alphaIp}:8000`], 8 << 20);
    try {
      const got = await curlSha(t.hosts.get("gamma")!, [
        "--socks5-hostname",
        "127.0.0.1:1055",
        "http://alpha:8000/body",
      ]);
      console.log(
        `${got.bytes} bytes from alpha by its MagicDNS name through gamma's SOCKS5 proxy and ` +
          `warren's TCP in ${got.seconds.toFixed(2)} s; SHA-256 ${
            got.sha === body.sha ? "matches" : "DIFFERS"
          }`,
      );
      if (got.sha !== body.sha) throw new Error("the body came through the proxy changed");
    } finally {
      await body.stop();
    }

    await routerScene(t, "alpha", "beta", say);
    await serviceScene(t, say);

    say("warren tun down (alpha) and SIGTERM (beta)");
    console.log((await t.warren("alpha", ["down"])).stdout.trimEnd());
    await t.stop("node-beta");
    for (const [name, ns] of [["alpha", alpha], ["beta", beta]] as const) {
      const links = (await ns.exec(["ip", "-o", "link"])).stdout;
      const routes = (await ns.exec(["ip", "route"])).stdout;
      const left = links.includes("warren0") || routes.includes("warren0");
      console.log(
        `${name}: ${
          left ? "warren0 or its routes are still there" : "warren0 and its routes are gone"
        }`,
      );
      if (left) throw new Error(`${name} was not torn down`);
    }
  } catch (e) {
    await t.dumpLogs(2000);
    throw e;
  } finally {
    await t.close();
  }
}

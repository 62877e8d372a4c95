/**
 * Memory benchmark: idle and peak RSS of each warren mode beside an empty
 * Deno process with the same V8 flags, in one run, on namespaces.
 *
 *   deno task bench:memory [--settle 10] [--later 60] [--only deno,wg,wg-keepalive,tailnet,derp,bundle]
 *
 * Rows: an empty Deno process (a script that only keeps a timer), `warren tun
 * up --wg-config` with one wireguard-go peer, `warren tun up --auth-key` on a
 * tailnet with one warren peer, the tailnet's `warren tun derp`, and the
 * wireguard-go peer for reference; `wg-keepalive` (not in the default set) the wg-config node
 * with `PersistentKeepalive = 25` on its peer, as a NAT'd wg-quick client has; `bundle` (not in
 * the default set either) adds the
 * same tailnet node run from a one-file bundle of main.ts (`deno task bundle`), on a
 * tailnet of its own. Each node exchanges a few pings first so
 * its data plane has run; then each process's VmRSS is read from
 * /proc/PID/status `--settle` seconds after it came up and again `--later`
 * seconds after, and VmHWM (peak RSS) at the end.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { v8FlagsArg, WARREN_DENO_FLAGS } from "../src/cli/v8_flags.ts";
import { generatePrivateKey, publicKeyFrom } from "../src/crypto/x25519.ts";
import { formatWgKey } from "../src/key/wg_key.ts";
import { linkPair, Netns } from "../src/testbed/netns.ts";
import { bundleWarren } from "../src/testbed/bundle.ts";
import { Tailnet } from "../src/testbed/tailnet.ts";
import { WarrenNode } from "../src/testbed/warren_node.ts";
import { WireguardGo } from "../src/testbed/wireguard_go.ts";
import { exitUnlessReady } from "./_needs.ts";
import { findDenoPid, readRss } from "./_rss.ts";
import { smapsBreakdown } from "./_smaps.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    settle: { type: "string", default: "10" },
    later: { type: "string", default: "60" },
    only: { type: "string", default: "deno,wg,tailnet,derp" },
  },
});
const SETTLE_S = Number(values.settle);
const LATER_S = Number(values.later);
const ONLY = new Set(values.only.split(","));

await exitUnlessReady({ wireguardGo: true, commands: ["nft"] });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A process to sample: its pid (resolved to the deno process) and when it came up. */
interface Target {
  label: string;
  pid: number;
  upAt: number;
  settled?: number;
  later?: number;
  laterAnon?: number;
  /** KiB of the deno binary's text and read-only data, at the later sample. */
  laterBinary?: number;
  /** KiB of malloc's main heap, at the later sample. */
  laterMalloc?: number;
}

const dir = await Deno.makeTempDir({ prefix: "warren-bench-mem-" });
const targets: Target[] = [];
const stops: (() => Promise<unknown>)[] = [];
const spaces: Netns[] = [];
const add = async (label: string, pid: number) =>
  targets.push({ label, pid: await findDenoPid(pid), upAt: performance.now() });
try {
  if (ONLY.has("deno")) {
    const script = `${dir}/idle.ts`;
    await Deno.writeTextFile(script, "setInterval(() => {}, 60_000);\n");
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", ...WARREN_DENO_FLAGS, v8FlagsArg(), script],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    stops.push(async () => {
      child.kill("SIGTERM");
      await child.status;
    });
    await sleep(500);
    await add("empty Deno process", child.pid);
  }

  /**
   * A wg-config node with one wireguard-go peer on link `net` (10.2{net}.0.x outside,
   * 10.254.{net - 52}.x inside); with `keepalive`, the node's peer has `PersistentKeepalive` set.
   */
  const wgNode = async (label: string, net: number, tag: string, keepalive?: number) => {
    const a = await Netns.create(`wm-${tag}a`), b = await Netns.create(`wm-${tag}b`);
    spaces.push(a, b);
    await linkPair(a, b, {
      a4: `10.2${net}.0.1`,
      b4: `10.2${net}.0.2`,
      a6: `fd00:2${net}::1`,
      b6: `fd00:2${net}::2`,
    });
    const [ka, kb] = [generatePrivateKey(), generatePrivateKey()];
    const pub = (k: Uint8Array) => formatWgKey(publicKeyFrom(k));
    const wg = await WireguardGo.start(b, {
      name: `wm${tag}${b.name.slice(-5)}`,
      privateKey: formatWgKey(kb),
      listenPort: 51820,
      addresses: [`10.254.${net - 52}.2/24`],
      peers: [{
        publicKey: pub(ka),
        allowedIps: [`10.254.${net - 52}.1/32`],
        endpoint: `10.2${net}.0.1:51820`,
      }],
    }, dir);
    stops.push(() => wg.stop());
    const node = await WarrenNode.start(
      a,
      `wm-${tag}warren`,
      `[Interface]\nPrivateKey = ${formatWgKey(ka)}\nAddress = 10.254.${net - 52}.1/24\n` +
        `ListenPort = 51820\n\n[Peer]\nPublicKey = ${pub(kb)}\n` +
        `AllowedIPs = 10.254.${net - 52}.2/32\nEndpoint = 10.2${net}.0.2:51820\n` +
        (keepalive ? `PersistentKeepalive = ${keepalive}\n` : ""),
      dir,
    );
    stops.push(() => node.stop());
    await a.exec(["ping", "-c", "20", "-i", "0.05", "-q", `10.254.${net - 52}.2`]);
    await add(label, node.proc.pid);
    return wg;
  };
  if (ONLY.has("wg")) {
    const wg = await wgNode("warren tun up --wg-config (1 peer)", 53, "");
    await add("wireguard-go (its peer, reference)", wg.proc.pid);
  }
  if (ONLY.has("wg-keepalive")) {
    await wgNode("tun up --wg-config, keepalive 25 s", 55, "k", 25);
  }

  /** A tailnet of two nodes, alpha and beta, that have pinged each other. */
  const pingedPair = async (opts: Parameters<typeof Tailnet.create>[0] = {}) => {
    const t = await Tailnet.create(opts);
    stops.push(() => t.close());
    await t.addHost("alpha");
    await t.addHost("beta");
    await t.up("alpha");
    await t.up("beta");
    const alphaIp = ((await t.status("alpha")).addresses as string[])[0].split("/")[0];
    await t.hosts.get("beta")!.exec(["ping", "-c", "20", "-i", "0.05", "-q", alphaIp]);
    return t;
  };

  if (ONLY.has("tailnet") || ONLY.has("derp")) {
    const t = await pingedPair();
    if (ONLY.has("tailnet")) {
      await add("warren tun up --auth-key (1 peer)", t.procs.get("node-alpha")!.child.pid);
    }
    if (ONLY.has("derp")) await add("warren tun derp", t.procs.get("derp")!.child.pid);
  }

  if (ONLY.has("bundle")) {
    const t = await pingedPair({ warrenMain: await bundleWarren(`${dir}/bundle`) });
    await add("… the same, bundled (deno task bundle)", t.procs.get("node-alpha")!.child.pid);
  }

  const sampleAt = async (key: "settled" | "later", seconds: number) => {
    for (const tg of [...targets].sort((x, y) => x.upAt - y.upAt)) {
      const wait = tg.upAt + seconds * 1000 - performance.now();
      if (wait > 0) await sleep(wait);
      const r = await readRss(tg.pid);
      tg[key] = r.rssKiB;
      if (key === "later") {
        tg.laterAnon = r.anonKiB;
        const by = await smapsBreakdown(tg.pid);
        tg.laterBinary = (by.get("exe text") ?? 0) + (by.get("exe rodata") ?? 0);
        tg.laterMalloc = by.get("malloc main heap") ?? 0;
      }
    }
  };
  await sampleAt("settled", SETTLE_S);
  await sampleAt("later", SETTLE_S + LATER_S);
  const peaks = await Promise.all(targets.map(async (tg) => (await readRss(tg.pid)).hwmKiB));

  const mb = (kib: number | undefined) => ((kib ?? NaN) * 1024 / 1e6).toFixed(1);
  const floor = targets.find((tg) => tg.label.startsWith("empty"))?.later;
  console.log(
    `\nwarren memory benchmark (${Deno.build.arch}, ${navigator.hardwareConcurrency} cores, ` +
      `Deno ${Deno.version.deno}, ${v8FlagsArg()}); MB = 10^6 bytes`,
  );
  console.log(
    `${"process".padEnd(38)} ${`idle @${SETTLE_S}s`.padStart(10)} ${
      `idle @${SETTLE_S + LATER_S}s`.padStart(10)
    } ${"peak".padStart(8)} ${"above Deno".padStart(11)} ${"anon".padStart(7)} ${
      "malloc".padStart(7)
    } ${"binary".padStart(7)}`,
  );
  targets.forEach((tg, i) => {
    const above = floor === undefined || tg.label.startsWith("wireguard-go")
      ? ""
      : mb((tg.later ?? NaN) - floor);
    console.log(
      `${tg.label.padEnd(38)} ${mb(tg.settled).padStart(10)} ${mb(tg.later).padStart(10)} ${
        mb(peaks[i]).padStart(8)
      } ${above.padStart(11)} ${mb(tg.laterAnon).padStart(7)} ${mb(tg.laterMalloc).padStart(7)} ${
        mb(tg.laterBinary).padStart(7)
      }`,
    );
  });
  console.log(
    "idle = VmRSS, peak = VmHWM, anon = RssAnon at the later sample (/proc/PID/status); " +
      "above Deno = later idle − empty Deno's; malloc = malloc's main heap (part of anon: " +
      "Deno's module graph), binary = the executable's text and read-only data resident, at " +
      "the later sample (/proc/PID/smaps).\nRSS − anon is pages of the deno binary and " +
      "libraries: shared, and dropped by the kernel under memory pressure, so it varies run to " +
      "run; anon (V8 heap, malloc) is the process's own. The first run after a code change is " +
      "higher: V8's code cache is rebuilt.",
  );
} finally {
  for (const s of stops.reverse()) await s().catch(() => {});
  for (const ns of spaces) await ns.delete();
  await Deno.remove(dir, { recursive: true });
}

/**
 * Runs the test control server as a process, printing one line per event:
 *
 *   deno run -A tests/control/main.ts --listen 127.0.0.1:8080 \
 *     --derp-url http://127.0.0.1:3340 --auth-key KEY [--state-file control.json]
 *
 * @module
 */

import { parseArgs } from "node:util";
import { parsePrivate } from "../../src/key/node_key.ts";
import type { FilterRule } from "../../src/netmap/tailcfg.ts";
import { IpAllocator } from "./ip_alloc.ts";
import { TestControlServer, type TestControlServerOptions } from "./server.ts";
import type { PreAuthKeySpec } from "./types.ts";

const USAGE = `usage: deno run -A tests/control/main.ts [flags]

  --listen HOST:PORT        listen address (default 127.0.0.1:8080)
  --server-url URL          public URL for AuthURLs and Domain (default http://<listen>)
  --derp-url URL            DERP server URL; repeat for more nodes in the region
  --derp-region ID          DERP region ID (default 900)
  --stun-port N             STUN port of the DERP nodes (default 3478, -1 = none)
  --derp-insecure           set InsecureForTests on DERP nodes (default: for http:// URLs)
  --derp-cert-name NAME     DERPNode.CertName (a name, or sha256-raw:<hex> to pin a certificate)
  --auth-key KEY            reusable pre-auth key; repeatable
  --auth-key-once KEY       single-use pre-auth key; repeatable
  --ephemeral-key KEY       reusable pre-auth key for ephemeral nodes; repeatable
  --base-domain NAME        MagicDNS base domain (default tailnet.test)
  --nameserver IP           upstream resolver; repeatable
  --policy FILE             JSON array of FilterRules (default allow all)
  --state-file PATH         keep the tailnet (server key, nodes, pre-auth keys, addresses)
                            in PATH, loaded on start and rewritten after each change, so
                            a restarted server keeps its nodes (default: memory only)
  --private-key privkey:HEX Noise server key; wins over the key stored in --state-file
                            (default: the stored key, else a fresh one)
  --keepalive SECONDS       map keep-alive period (default 50, plus up to 9 s jitter)
  --offline-grace SECONDS   delay before a disconnected node is offline (default 10)
  --online-change           report online changes as OnlineChange
  --shuffle-peers           send a full map's Peers in random order
  --first-map-delay MS      hold each map stream's first message back MS milliseconds
  --prefix-v4 CIDR          node IPv4 range (Headscale's prefixes.v4; default 100.64.0.0/10)
  --prefix-v6 CIDR          node IPv6 range, at most a /96 (default fd7a:115c:a1e0::/48)
  -h, --help                this text`;

function fail(msg: string): never {
  console.error(`control: ${msg}`);
  Deno.exit(2);
}

function splitListen(s: string): { hostname: string; port: number } {
  const m = /^\[?([^\]]*?)\]?:(\d+)$/.exec(s);
  if (!m) fail(`--listen "${s}" is not HOST:PORT`);
  return { hostname: m[1] === "" ? "0.0.0.0" : m[1], port: Number(m[2]) };
}

async function main(): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      args: Deno.args,
      options: {
        listen: { type: "string", default: "127.0.0.1:8080" },
        "server-url": { type: "string" },
        "derp-url": { type: "string", multiple: true, default: [] },
        "derp-region": { type: "string" },
        "stun-port": { type: "string" },
        "derp-insecure": { type: "boolean" },
        "derp-cert-name": { type: "string" },
        "auth-key": { type: "string", multiple: true, default: [] },
        "auth-key-once": { type: "string", multiple: true, default: [] },
        "ephemeral-key": { type: "string", multiple: true, default: [] },
        "base-domain": { type: "string" },
        nameserver: { type: "string", multiple: true, default: [] },
        policy: { type: "string" },
        "private-key": { type: "string" },
        "state-file": { type: "string" },
        keepalive: { type: "string" },
        "offline-grace": { type: "string" },
        "online-change": { type: "boolean" },
        "shuffle-peers": { type: "boolean" },
        "first-map-delay": { type: "string" },
        "prefix-v4": { type: "string" },
        "prefix-v6": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (e) {
    fail(`${(e as Error).message}\n${USAGE}`);
  }
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const { hostname, port } = splitListen(values.listen!);
  const keys: PreAuthKeySpec[] = [
    ...values["auth-key"]!.map((key) => ({ key, reusable: true })),
    ...values["auth-key-once"]!.map((key) => ({ key, reusable: false })),
    ...values["ephemeral-key"]!.map((key) => ({ key, reusable: true, ephemeral: true })),
  ];
  let filter: FilterRule[] | undefined;
  if (values.policy) {
    try {
      filter = JSON.parse(await Deno.readTextFile(values.policy));
    } catch (e) {
      fail(`cannot read --policy ${values.policy}: ${(e as Error).message}`);
    }
    if (!Array.isArray(filter)) fail(`--policy ${values.policy} must hold a JSON array`);
  }
  const num = (name: string, v: string | undefined): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n)) fail(`--${name} "${v}" is not a number`);
    return n;
  };
  const keepalive = num("keepalive", values.keepalive);
  const grace = num("offline-grace", values["offline-grace"]);
  const opts: TestControlServerOptions = {
    hostname,
    port,
    authKeys: keys,
    serverUrl: values["server-url"],
    baseDomain: values["base-domain"],
    filter,
    dns: { nameservers: values.nameserver },
    derp: {
      urls: values["derp-url"],
      regionId: num("derp-region", values["derp-region"]),
      stunPort: num("stun-port", values["stun-port"]),
      insecureForTests: values["derp-insecure"] ? true : undefined,
      certName: values["derp-cert-name"],
    },
    keepAliveMs: keepalive === undefined ? undefined : keepalive * 1000,
    keepAliveJitterMs: keepalive === undefined ? undefined : 0,
    offlineGraceMs: grace === undefined ? undefined : grace * 1000,
    useOnlineChange: values["online-change"],
    shufflePeers: values["shuffle-peers"],
    firstMapDelayMs: num("first-map-delay", values["first-map-delay"]),
    prefixes: { v4: values["prefix-v4"], v6: values["prefix-v6"] },
    stateFile: values["state-file"],
    logf: (line) => console.log(`${new Date().toISOString()} ${line}`),
  };
  try {
    new IpAllocator(opts.prefixes);
  } catch (e) {
    fail((e as Error).message.replace(/^Cannot allocate from/, "--prefix-v4/--prefix-v6:"));
  }
  if (values["private-key"]) {
    try {
      opts.serverPrivateKey = parsePrivate(values["private-key"]);
    } catch (e) {
      fail(`--private-key: ${(e as Error).message}`);
    }
  }
  let srv: TestControlServer;
  try {
    srv = await TestControlServer.start(opts);
  } catch (e) {
    const msg = (e as Error).message;
    if (/^Cannot (load|keep) control state/.test(msg)) fail(msg);
    fail(`cannot listen on ${values.listen}: ${msg}`);
  }
  const stop = () => {
    srv.close().finally(() => Deno.exit(0));
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
}

if (import.meta.main) await main();

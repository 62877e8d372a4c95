import assert from "node:assert/strict";
import { namespaceSupport, Netns, veth } from "../src/testbed/netns.ts";
import { testOrSkip } from "../src/testing/skip.ts";

const PROBE = new URL("./testdata/nftables_probe.ts", import.meta.url).pathname;

/** Why these tests cannot run here (root, namespaces, and nft to look at the result), or null. */
async function skipReason(): Promise<string | null> {
  const ns = await namespaceSupport();
  if (ns !== null) return ns;
  const nft = await new Deno.Command("nft", { args: ["--version"], stdout: "null", stderr: "null" })
    .output().catch(() => null);
  return nft?.success
    ? null
    : "the nft command (nftables), which checks the result, is not installed";
}
const reason = await skipReason();

/** Runs the probe in `ns` and parses its JSON line. */
async function probe(ns: Netns, ...args: string[]): Promise<Record<string, unknown>> {
  const r = await ns.exec([Deno.execPath(), "run", "-A", PROBE, ...args]);
  return JSON.parse(r.stdout);
}

/** `nft -j list ruleset` in `ns` without metainfo and handles: only what the rules say. */
async function ruleset(ns: Netns): Promise<unknown[]> {
  const r = await ns.exec(["nft", "-j", "list", "ruleset"]);
  const strip = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(strip);
    if (v === null || typeof v !== "object") return v;
    return Object.fromEntries(
      Object.entries(v).filter(([k]) => k !== "handle").map(([k, x]) => [k, strip(x)]),
    );
  };
  const list = JSON.parse(r.stdout).nftables as Record<string, unknown>[];
  return list.filter((e) => !("metainfo" in e)).map(strip) as unknown[];
}

const base = { family: "inet", table: "warren" };

/** What nft lists for warren's table with this interface and these masquerade prefixes. */
function expected(tun: string, v4?: [string, number], v6?: [string, number]): unknown[] {
  const accept = { accept: null };
  const out: unknown[] = [
    { table: { family: "inet", name: "warren" } },
    {
      chain: {
        ...base,
        name: "forward",
        type: "filter",
        hook: "forward",
        prio: 0,
        policy: "accept",
      },
    },
  ];
  if (v4 || v6) {
    out.push({
      chain: {
        ...base,
        name: "postrouting",
        type: "nat",
        hook: "postrouting",
        prio: 100,
        policy: "accept",
      },
    });
  }
  const rule = (chain: string, expr: unknown[]) => ({ rule: { ...base, chain, expr } });
  out.push(
    rule("forward", [
      { match: { op: "==", left: { meta: { key: "iifname" } }, right: tun } },
      accept,
    ]),
    rule("forward", [
      {
        match: { op: "in", left: { ct: { key: "state" } }, right: ["established", "related"] },
      },
      accept,
    ]),
  );
  for (const [protocol, p] of [["ip", v4], ["ip6", v6]] as const) {
    if (!p) continue;
    out.push(rule("postrouting", [
      {
        match: {
          op: "==",
          left: { payload: { protocol, field: "saddr" } },
          right: { prefix: { addr: p[0], len: p[1] } },
        },
      },
      { match: { op: "!=", left: { meta: { key: "oifname" } }, right: tun } },
      { masquerade: null },
    ]));
  }
  return out;
}

const FULL = {
  table: "warren",
  tun: "warren0",
  snatV4: "100.64.0.0/10",
  snatV6: "fd7a:115c:a1e0::/48",
};

async function withNs(fn: (ns: Netns) => Promise<void>): Promise<void> {
  const ns = await Netns.create("nft");
  try {
    await fn(ns);
  } finally {
    await ns.delete();
  }
}

testOrSkip(import.meta, reason, {
  name: "installForwarding() creates exactly warren's table, chains and rules, as nft lists them",
  fn: () =>
    withNs(async (ns) => {
      assert.deepEqual(await probe(ns, "exists", "warren"), { exists: false });
      assert.deepEqual(await probe(ns, "install", JSON.stringify(FULL)), { ok: true });
      assert.deepEqual(
        await ruleset(ns),
        expected("warren0", ["100.64.0.0", 10], ["fd7a:115c:a1e0::", 48]),
      );
      assert.deepEqual(await probe(ns, "exists", "warren"), { exists: true });
    }),
});

testOrSkip(import.meta, reason, {
  name: "installForwarding() replaces a stale table of the same name instead of merging with it",
  fn: () =>
    withNs(async (ns) => {
      // What a crashed run could have left: other chains, other rules, a drop policy.
      const stale = `table inet warren {
        chain input { type filter hook input priority 0; policy accept; tcp dport 22 drop; }
        chain forward { type filter hook forward priority 0; policy drop; iifname "old0" accept; }
      }`;
      await ns.exec(["nft", stale]);
      assert.deepEqual(await probe(ns, "exists", "warren"), { exists: true });
      const v4only = { table: "warren", tun: "tun7", snatV4: "10.20.0.0/16" };
      assert.deepEqual(await probe(ns, "install", JSON.stringify(v4only)), { ok: true });
      assert.deepEqual(await ruleset(ns), expected("tun7", ["10.20.0.0", 16]));
      // Installing again (a restart) replaces it once more: no rule appears twice.
      assert.deepEqual(await probe(ns, "install", JSON.stringify(v4only)), { ok: true });
      assert.deepEqual(await ruleset(ns), expected("tun7", ["10.20.0.0", 16]));
      // Without masquerade there is no nat chain at all.
      const plain = { table: "warren", tun: "tun7" };
      assert.deepEqual(await probe(ns, "install", JSON.stringify(plain)), { ok: true });
      assert.deepEqual(await ruleset(ns), expected("tun7"));
    }),
});

testOrSkip(import.meta, reason, {
  name: "removeTable() leaves no table behind and reports one that is not there",
  fn: () =>
    withNs(async (ns) => {
      // Another program's table in the same family is not touched.
      await ns.exec(["nft", "add table inet other"]);
      assert.deepEqual(await probe(ns, "install", JSON.stringify(FULL)), { ok: true });
      assert.deepEqual(await probe(ns, "remove", "warren"), { removed: true });
      assert.deepEqual(await ruleset(ns), [{ table: { family: "inet", name: "other" } }]);
      assert.deepEqual(await probe(ns, "exists", "warren"), { exists: false });
      assert.deepEqual(await probe(ns, "remove", "warren"), { removed: false });
    }),
});

testOrSkip(import.meta, reason, {
  name: "A refused batch names the refused step and applies none of its messages",
  fn: () =>
    withNs(async (ns) => {
      const r = await probe(ns, "refused", "fresh", "nosuch");
      assert.equal(r.code, "ENOENT");
      assert.match(
        r.error as string,
        /^Cannot run the refused batch: delete table inet nosuch: netlink nf_tables batch failed with ENOENT/,
      );
      // The batch's first message created a table; the refusal of the second undid it.
      assert.deepEqual(await ruleset(ns), []);
    }),
});

/** The first line `child` prints (the probe's "ready"), keeping the stream for later reads. */
async function firstLine(child: Deno.ChildProcess): Promise<string> {
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`The server exited before it was ready: ${text}`);
    text += value;
  }
  reader.releaseLock();
  return text.slice(0, text.indexOf("\n"));
}

testOrSkip(import.meta, reason, {
  name:
    "Forwarded traffic from the client side reaches the server with the router's address after installForwarding()",
  fn: async () => {
    const spaces: Netns[] = [];
    let server: Deno.ChildProcess | null = null;
    try {
      const client = await Netns.create("nftc");
      spaces.push(client);
      const router = await Netns.create("nftr");
      spaces.push(router);
      const srv = await Netns.create("nfts");
      spaces.push(srv);
      const sfx = router.name.slice(-6);
      const lan = `rc-${sfx}`; // the router's client-facing side plays warren's TUN
      await veth(
        { ns: client, ifname: `c-${sfx}`, addrs: ["10.77.1.2/24", "fd77:1::2/64"] },
        { ns: router, ifname: lan, addrs: ["10.77.1.1/24", "fd77:1::1/64"] },
      );
      await veth(
        { ns: router, ifname: `rs-${sfx}`, addrs: ["10.77.2.1/24", "fd77:2::1/64"] },
        { ns: srv, ifname: `s-${sfx}`, addrs: ["10.77.2.2/24", "fd77:2::2/64"] },
      );
      await client.exec(["ip", "route", "add", "default", "via", "10.77.1.1"]);
      await client.exec(["ip", "-6", "route", "add", "default", "via", "fd77:1::1"]);
      // The server can route back to the client, so without masquerade it sees the client's
      // own address: the control that shows the rules, not the topology, change the source.
      await srv.exec(["ip", "route", "add", "10.77.1.0/24", "via", "10.77.2.1"]);
      await srv.exec(["ip", "-6", "route", "add", "fd77:1::/64", "via", "fd77:2::1"]);
      await router.exec(["sysctl", "-qw", "net.ipv4.ip_forward=1"]);
      await router.exec(["sysctl", "-qw", "net.ipv6.conf.all.forwarding=1"]);

      server = srv.spawn([Deno.execPath(), "run", "-A", PROBE, "echo-peer", "7077"]);
      assert.deepEqual(JSON.parse(await firstLine(server)), { ready: true });
      const peers = async () => [
        (await probe(client, "ask", "10.77.2.2", "7077")).peer,
        (await probe(client, "ask", "fd77:2::2", "7077")).peer,
      ];
      assert.deepEqual(await peers(), ["10.77.1.2", "fd77:1::2"]);

      const cfg = { table: "warren", tun: lan, snatV4: "10.77.1.0/24", snatV6: "fd77:1::/64" };
      assert.deepEqual(await probe(router, "install", JSON.stringify(cfg)), { ok: true });
      assert.deepEqual(await peers(), ["10.77.2.1", "fd77:2::1"]);

      assert.deepEqual(await probe(router, "remove", "warren"), { removed: true });
      assert.deepEqual(await peers(), ["10.77.1.2", "fd77:1::2"]);
    } finally {
      if (server !== null) {
        server.kill("SIGTERM");
        await server.status;
        await server.stderr.cancel().catch(() => {});
      }
      for (const ns of spaces) await ns.delete();
    }
  },
});

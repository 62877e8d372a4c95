import assert from "node:assert/strict";
import { TunDevice } from "./tun.ts";
import { Driver, ipJson, needsRoot, run, withNetns } from "./testdata/netns.ts";
import { skipRest, testOrSkip } from "../src/testing/skip.ts";

interface IpAddrInfo {
  family: string;
  local: string;
  prefixlen: number;
  label?: string;
}
interface IpLink {
  ifname: string;
  ifindex: number;
  mtu: number;
  flags: string[];
  addr_info: IpAddrInfo[];
}

const skipReason = needsRoot();

Deno.test("TunDevice.open() rejects an interface name longer than 15 bytes", () => {
  assert.throws(() => TunDevice.open("warren-much-too-long"), RangeError);
  assert.throws(() => TunDevice.open("bad/name"), RangeError);
});

testOrSkip(import.meta, skipReason, {
  name: "TunDevice sets MTU, IPv4 and IPv6 addresses and up, and close() removes it",
  fn: () =>
    withNetns(async (ns) => {
      const d = Driver.start(ns);
      try {
        const dev = await d.ok("open", { name: "wt%d" }) as { name: string; index: number };
        assert.equal(dev.name, "wt0");
        await d.ok("mtu", { mtu: 1380 });
        await d.ok("addr", { ip: "10.9.0.1", bits: 24 });
        await d.ok("addr", { ip: "10.9.1.1", bits: 32 });
        await d.ok("addr", { ip: "fd00:9::1", bits: 64 });
        await d.ok("up");
        const [link] = await ipJson(ns, "addr", "show", "dev", dev.name) as IpLink[];
        assert.equal(link.ifindex, dev.index);
        assert.equal(link.mtu, 1380);
        assert.ok(link.flags.includes("UP"), `flags ${link.flags}`);
        const addrs = link.addr_info.map((a) => `${a.local}/${a.prefixlen}`);
        assert.ok(addrs.includes("10.9.0.1/24"), `addresses ${addrs}`);
        assert.ok(addrs.includes("10.9.1.1/32"), `addresses ${addrs}`);
        assert.ok(addrs.includes("fd00:9::1/64"), `addresses ${addrs}`);
        await d.ok("close");
        const gone = await run(["ip", "netns", "exec", ns, "ip", "link", "show", "dev", dev.name]);
        assert.notEqual(gone.code, 0, "interface still present after close");
      } finally {
        await d.stop();
      }
    }),
});

testOrSkip(import.meta, skipReason, {
  name: "removeTunAddress() takes one address off and leaves the others (renumbering)",
  fn: () =>
    withNetns(async (ns) => {
      const d = Driver.start(ns);
      try {
        const dev = await d.ok("open", { name: "wtrenum" }) as { name: string };
        await d.ok("addr", { ip: "100.64.0.1", bits: 32 });
        await d.ok("addr", { ip: "fd7a:115c:a1e0::1", bits: 128 });
        await d.ok("up");
        await d.ok("addr", { ip: "100.64.0.9", bits: 32 });
        await d.ok("addr", { ip: "fd7a:115c:a1e0::9", bits: 128 });
        await d.ok("unaddr", { ip: "100.64.0.1", bits: 32 });
        await d.ok("unaddr", { ip: "fd7a:115c:a1e0::1", bits: 128 });
        const [link] = await ipJson(ns, "addr", "show", "dev", dev.name) as IpLink[];
        const addrs = link.addr_info.filter((a) => !a.local.startsWith("fe80"))
          .map((a) => `${a.local}/${a.prefixlen}`).sort();
        assert.deepEqual(addrs, ["100.64.0.9/32", "fd7a:115c:a1e0::9/128"]);
        const again = await d.call("unaddr", { ip: "100.64.0.1", bits: 32 });
        assert.equal(again.ok, false);
        assert.match(again.error!, /^Cannot delete address 100\.64\.0\.1\/32 from wtrenum: /);
      } finally {
        await d.stop();
      }
    }),
});

testOrSkip(import.meta, skipReason, {
  name: "TunDevice.open() of a name already attached fails with EBUSY and says why",
  fn: () =>
    withNetns(async (ns) => {
      const d = Driver.start(ns);
      try {
        await d.ok("open", { name: "wtbusy" });
        const r = await d.call("open", { name: "wtbusy" });
        assert.equal(r.ok, false);
        assert.equal(r.code, "EBUSY");
        assert.equal(r.syscall, "ioctl(TUNSETIFF)");
        assert.match(
          r.error!,
          /^Cannot create TUN interface "wtbusy": .*interface name is in use$/,
        );
      } finally {
        await d.stop();
      }
    }),
});

testOrSkip(import.meta, skipReason, {
  name: "TunDevice reads ping's echo requests and writes replies ping accepts (IPv4, IPv6)",
  fn: () =>
    withNetns(async (ns) => {
      const d = Driver.start(ns);
      try {
        await d.ok("open", { name: "wtping" });
        await d.ok("addr", { ip: "10.9.0.1", bits: 24 });
        await d.ok("addr", { ip: "fd00:9::1", bits: 64 });
        await d.ok("up");
        const echo = d.ok("echo", { timeoutMs: 15000, count: 2 });
        const exec = ["ip", "netns", "exec", ns, "ping", "-n", "-c", "1", "-W", "10"];
        const p4 = await run([...exec, "10.9.0.2"]);
        const p6 = await run([...exec, "-6", "fd00:9::2"]);
        const res = await echo as { replied: number; kinds: string[] };
        assert.equal(p4.code, 0, `ping 10.9.0.2: ${p4.stdout}${p4.stderr}`);
        assert.equal(p6.code, 0, `ping fd00:9::2: ${p6.stdout}${p6.stderr}`);
        assert.equal(res.replied, 2);
        assert.deepEqual(res.kinds.sort(), ["icmp4", "icmp6"]);
      } finally {
        await d.stop();
      }
    }),
});

testOrSkip(import.meta, skipReason, {
  name: "TunDevice.open() without privileges says it needs root or CAP_NET_ADMIN",
  fn: async (t) => {
    const hasSetpriv = (await run(["sh", "-c", "command -v setpriv"])).code === 0;
    if (!hasSetpriv) return skipRest(t, "setpriv (util-linux) is not installed");
    const home = await Deno.makeTempDir({ prefix: "warren-nobody-" });
    await Deno.chmod(home, 0o777);
    try {
      await withNetns(async (ns) => {
        const d = Driver.start(
          ns,
          ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--inh-caps=-all"],
          { DENO_DIR: home, HOME: home },
        );
        try {
          const r = await d.call("open", { name: "wtnobody" });
          assert.equal(r.ok, false, "opening a TUN as nobody succeeded");
          assert.ok(r.code === "EACCES" || r.code === "EPERM", r.error);
          assert.match(r.error!, /needs root or CAP_NET_ADMIN$/);
          const rt = await d.call("route_add", { ip: "10.77.0.0", bits: 16, dev: "lo" });
          assert.equal(rt.ok, false, "adding a route as nobody succeeded");
          assert.equal(rt.code, "EPERM");
          assert.match(rt.error!, /^Cannot add route 10\.77\.0\.0\/16 dev lo: .*CAP_NET_ADMIN$/);
        } finally {
          await d.stop();
        }
      });
    } finally {
      await Deno.remove(home, { recursive: true });
    }
  },
});

testOrSkip(import.meta, skipReason, {
  name: "TunDevice.open() without /dev/net/tun says how to provide it",
  fn: async (t) => {
    const hasUnshare = (await run(["sh", "-c", "command -v unshare"])).code === 0;
    if (!hasUnshare) return skipRest(t, "unshare (util-linux) is not installed");
    await withNetns(async (ns) => {
      // A private mount namespace with an empty /dev/net: the host's device is untouched.
      const hide = ["unshare", "--mount", "--", "sh", "-c"];
      const d = Driver.start(ns, [...hide, 'mount -t tmpfs tmpfs /dev/net && exec "$0" "$@"']);
      try {
        const r = await d.call("open", { name: "wtnodev" });
        assert.equal(r.ok, false, "opening a TUN without /dev/net/tun succeeded");
        assert.equal(r.code, "ENOENT");
        assert.match(r.error!, /no \/dev\/net\/tun \(load the tun module or pass --device/);
      } finally {
        await d.stop();
      }
    });
  },
});

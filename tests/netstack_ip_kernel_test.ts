/**
 * The netstack's IP layer against the Linux kernel through a TUN pair: the
 * kernel's ping (IPv4 and IPv6, small and fragmented) is answered by
 * icmp_echo, a datagram from nc reaches a bound UDP endpoint and the reply
 * comes back, and a datagram to an unbound port makes the kernel report
 * "connection refused" from the ICMP port unreachable. Needs root and
 * netcat-openbsd (`nc`).
 */
import { skipRest, testOrSkip } from "../src/testing/skip.ts";
import assert from "node:assert/strict";
import { IpInput } from "../src/netstack/ip_input.ts";
import { systemClock } from "../src/netstack/types.ts";
import { TunPair } from "../src/testbed/tun_pair.ts";

async function why(): Promise<string | null> {
  const ns = await TunPair.unsupported();
  if (ns !== null) return ns;
  const nc = await new Deno.Command("nc", { args: ["-h"], stderr: "null", stdout: "null" })
    .output().then(() => null, () => "nc (netcat-openbsd) is not installed");
  return nc;
}

/** The kernel's count of ICMP destination unreachables received, and of bad ICMP, per family. */
async function kernelIcmp(pair: TunPair) {
  const r = await pair.exec(["cat", "/proc/net/snmp", "/proc/net/snmp6"]);
  const lines = r.stdout.split("\n").filter((l) => l.startsWith("Icmp: "));
  const names = lines[0].split(/\s+/), values = lines[1].split(/\s+/).map(Number);
  const v4 = (n: string) => values[names.indexOf(n)];
  const v6 = (n: string) => Number(r.stdout.match(new RegExp(`^${n}\\s+(\\d+)`, "m"))?.[1]);
  return {
    v4: { unreach: v4("InDestUnreachs"), errors: v4("InErrors") + v4("InCsumErrors") },
    v6: {
      unreach: v6("Icmp6InDestUnreachs"),
      errors: v6("Icmp6InErrors") + v6("Icmp6InCsumErrors"),
    },
  };
}

const skip = await why();

testOrSkip(import.meta, skip, {
  name: "netstack IP layer answers the kernel's ping and UDP, and refuses unbound ports",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    await using pair = await TunPair.create({ prefix: "nsip" });
    const ip = new IpInput({
      clock: systemClock,
      out: (p) => pair.send(p),
      addresses: [pair.stack4, pair.stack6],
      mtu: 1280,
    });
    pair.onPacket((p) => ip.input(p));
    const echo = ip.udp.bind({ port: 7 });
    const served = (async () => {
      while (true) {
        const d = await echo.receive().catch(() => null);
        if (d === null) return;
        const upper = new TextEncoder().encode(new TextDecoder().decode(d.payload).toUpperCase());
        echo.send(upper, d.src, d.dst.ip);
      }
    })();

    for (const [fam, addr] of [["-4", pair.stack4Text], ["-6", pair.stack6Text]]) {
      await t.step(`ping ${fam} -c 3 ${addr} is answered`, async () => {
        const r = await pair.exec(["ping", fam, "-c", "3", "-i", "0.2", "-W", "2", addr]);
        assert.equal(r.code, 0, r.stdout + r.stderr);
        assert.match(r.stdout, / 3 received/);
      });
      await t.step(`ping ${fam} -s 3000 (fragmented both ways) is answered`, async () => {
        const r = await pair.exec(["ping", fam, "-c", "2", "-i", "0.2", "-s", "3000", addr]);
        assert.equal(r.code, 0, r.stdout + r.stderr);
        assert.match(r.stdout, / 2 received/);
      });
      await t.step(`nc -u ${fam} to a bound port gets the endpoint's reply`, async () => {
        const r = await pair.exec(["nc", "-u", fam, "-w", "1", addr, "7"], {
          stdin: new TextEncoder().encode("hello netstack\n"),
        });
        assert.match(r.stdout, /HELLO NETSTACK/, r.stderr);
      });
      await t.step(`nc -u ${fam} to an unbound port is refused`, async () => {
        const before = await kernelIcmp(pair);
        // With -v, nc probes the port with writes; the ICMP port unreachable turns the next
        // into ECONNREFUSED, so it fails without "succeeded" (and a bound port succeeds).
        const r = await pair.exec(["nc", "-u", "-v", fam, "-w", "2", addr, "9"], {
          stdin: new TextEncoder().encode("anyone?\n"),
        });
        assert.notEqual(r.code, 0, r.stderr);
        assert.doesNotMatch(r.stderr, /succeeded/);
        const bound = await pair.exec(["nc", "-u", "-v", fam, "-w", "1", addr, "7"], {
          stdin: new TextEncoder().encode("x\n"),
        });
        assert.match(bound.stderr, /succeeded/);
        // The kernel took our ICMP as a valid destination unreachable (checksum, quote).
        const after = await kernelIcmp(pair);
        const key = fam === "-4" ? "v4" : "v6";
        assert.ok(after[key].unreach > before[key].unreach, JSON.stringify({ before, after }));
        assert.equal(after[key].errors, before[key].errors);
      });
      await t.step(
        `a connected UDP socket (${fam}) to an unbound port gets ECONNREFUSED`,
        async (st) => {
          const python = await Deno.stat("/usr/bin/python3").then(() => true, () => false);
          if (!python) return skipRest(st, "no /usr/bin/python3");
          const af = fam === "-4" ? "AF_INET" : "AF_INET6";
          const r = await pair.exec([
            "/usr/bin/python3",
            "-c",
            [
              "import socket",
              `s = socket.socket(socket.${af}, socket.SOCK_DGRAM)`,
              "s.settimeout(3)",
              `s.connect(("${addr}", 9))`,
              "s.send(b'hi')",
              "try:\n  s.recv(100)\nexcept ConnectionRefusedError as e:\n  print(e)",
            ].join("\n"),
          ]);
          assert.match(r.stdout, /Connection refused/, r.stderr);
        },
      );
    }
    assert.ok(ip.counters.echoReplied >= 10);
    assert.ok(ip.reassembler.counters.reassembled >= 4, "the large pings came in fragments");
    assert.equal(ip.counters.badChecksum + ip.counters.malformed, 0);
    assert.ok(ip.icmpErrors.sent >= 2);
    echo.close();
    await served;
  },
});

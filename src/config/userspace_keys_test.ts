import assert from "node:assert/strict";
import { parseNetworksConfig } from "./networks.ts";
import { formatConfigProblem, NetworksConfigError } from "./problems.ts";
import type { TailnetNetwork } from "./types.ts";
import { formatForward, parseByteSize } from "./userspace.ts";

const FILE = "/etc/warren/w.json";
const parse = (section: unknown) =>
  parseNetworksConfig(JSON.stringify({ networks: { n: { tailnet: section } } }), FILE, {
    readText: () => "",
    stateRoot: "/s",
  }).networks[0] as TailnetNetwork;

function problems(section: unknown): string[] {
  try {
    parse(section);
  } catch (e) {
    if (e instanceof NetworksConfigError) return e.problems.map(formatConfigProblem);
    throw e;
  }
  assert.fail("accepted");
}

Deno.test("forward, netstackMaxConnections and netstackTcpBuffer read as the flags do", () => {
  const n = parse({
    tun: "userspace-networking",
    forward: ["tcp:80=127.0.0.1:8080", "udp:53=[::1]:5353"],
    netstackMaxConnections: 512,
    netstackTcpBuffer: "1M",
    netstackTcpMemory: "64M",
  });
  assert.deepEqual(n.forwards?.map(formatForward), ["tcp:80=127.0.0.1:8080", "udp:53=[::1]:5353"]);
  assert.deepEqual(n.netstackLimits, {
    maxConnections: 512,
    tcpBufferBytes: 1 << 20,
    tcpMemoryBytes: 64 << 20,
  });
  assert.deepEqual(
    parse({ tun: "userspace-networking", netstackTcpBuffer: 65536 }).netstackLimits,
    { tcpBufferBytes: 65536 },
  );
  const bare = parse({ tun: "userspace-networking" });
  assert.equal(bare.forwards, undefined);
  assert.equal(bare.netstackLimits, undefined);
});

Deno.test("bad userspace keys are reported at their path; with a TUN they are refused", () => {
  const at = (k: string) => `${FILE}: networks.n.tailnet.${k}`;
  assert.deepEqual(
    problems({
      tun: "userspace-networking",
      forward: ["tcp:80=127.0.0.1:8080", 7, "tcp:80=127.0.0.1:9", "icmp:1=a:1"],
      netstackMaxConnections: 3,
      netstackTcpBuffer: "1K",
      netstackTcpMemory: "1K",
    }),
    [
      `${at("forward[1]")}: want a string, got 7`,
      `${at("forward[2]")}: tcp port 80 is forwarded twice`,
      `${at("forward[3]")}: "icmp:1=a:1" is not PROTO:PORT=HOST:PORT (e.g. ` +
      `tcp:80=127.0.0.1:8080; PROTO is tcp or udp)`,
      `${at("netstackMaxConnections")}: want a whole number from 16 to 1048576, got 3`,
      `${at("netstackTcpBuffer")}: 1024 is outside 16384-67108864 bytes`,
      `${at("netstackTcpMemory")}: 1024 is outside 1048576-68719476736 bytes`,
    ],
  );
  assert.deepEqual(problems({ tun: "userspace-networking", netstackTcpBuffer: true }), [
    `${at("netstackTcpBuffer")}: want a byte count or a size such as "256K", got true`,
  ]);
  const tun = problems({ forward: ["tcp:80=127.0.0.1:8080"], netstackTcpBuffer: "64K" });
  assert.deepEqual(tun, [
    `${at("forward")}: needs "tun": "userspace-networking" (it runs on warren's own stack)`,
    `${
      at("netstackTcpBuffer")
    }: needs "tun": "userspace-networking" (it runs on warren's own stack)`,
  ]);
});

Deno.test("parseByteSize reads plain counts and K/M/G suffixes (powers of 1024)", () => {
  assert.deepEqual(
    ["4096", "256K", "256k", "1M", "1MiB", "2MB", "1G", "10B"].map(parseByteSize),
    [4096, 262144, 262144, 1 << 20, 1 << 20, 2 << 20, 1 << 30, 10],
  );
  for (const bad of ["", "1.5M", "-1", "1T", "K"]) {
    assert.throws(() => parseByteSize(bad), SyntaxError);
  }
});

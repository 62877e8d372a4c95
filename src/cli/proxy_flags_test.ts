import assert from "node:assert/strict";
import { checkUserspaceFlags } from "./proxy_flags.ts";
import { UsageError } from "./usage.ts";

const usage = (re: RegExp) => (e: unknown) => e instanceof UsageError && re.test(e.message);

Deno.test("proxy flags need userspace networking and a HOST:PORT, else a usage error", () => {
  assert.equal(checkUserspaceFlags({}, false), null);
  assert.deepEqual(checkUserspaceFlags({ "socks5-server": "127.0.0.1:1055" }, true)?.proxies, {
    "socks5-server": "127.0.0.1:1055",
  });
  assert.deepEqual(
    checkUserspaceFlags({ "outbound-http-proxy-listen": "[::1]:8080" }, true)?.proxies,
    { "outbound-http-proxy-listen": "[::1]:8080" },
  );
  assert.throws(
    () => checkUserspaceFlags({ "socks5-server": "127.0.0.1:1055" }, false),
    usage(/--socks5-server needs --tun userspace-networking/),
  );
  assert.throws(
    () => checkUserspaceFlags({ "outbound-http-proxy-listen": "nope" }, true),
    usage(/--outbound-http-proxy-listen/),
  );
});

Deno.test("TS_SOCKS5_SERVER and TS_OUTBOUND_HTTP_PROXY_LISTEN stand in for the flags; a flag wins", () => {
  const env = (vars: Record<string, string>) => (name: string) => vars[name];
  const both = env({
    TS_SOCKS5_SERVER: "localhost:1055",
    TS_OUTBOUND_HTTP_PROXY_LISTEN: "localhost:1056",
  });
  assert.deepEqual(checkUserspaceFlags({}, true, both)?.proxies, {
    "socks5-server": "localhost:1055",
    "outbound-http-proxy-listen": "localhost:1056",
  });
  assert.deepEqual(
    checkUserspaceFlags({ "socks5-server": "127.0.0.1:9" }, true, both)?.proxies,
    { "socks5-server": "127.0.0.1:9", "outbound-http-proxy-listen": "localhost:1056" },
  );
  assert.deepEqual(checkUserspaceFlags({}, true, env({ TS_SOCKS5_SERVER: "" }))?.proxies, {});
  assert.throws(
    () => checkUserspaceFlags({}, true, env({ TS_SOCKS5_SERVER: "1055" })),
    usage(/TS_SOCKS5_SERVER \(--socks5-server\) "1055": missing ':PORT'/),
  );
  assert.throws(
    () => checkUserspaceFlags({}, false, both),
    usage(/^TS_SOCKS5_SERVER \(--socks5-server\) needs --tun userspace-networking/),
  );
});

Deno.test("--forward and the netstack limits parse, or name the flag and say why", () => {
  const ok = checkUserspaceFlags({
    forward: ["tcp:80=127.0.0.1:8080", "udp:53=[::1]:5353", "tcp:53=localhost:53"],
    "netstack-max-connections": "100",
    "netstack-tcp-buffer": "1M",
    "netstack-tcp-memory": "64M",
  }, true)!;
  assert.deepEqual(ok.forwards, [
    { proto: "tcp", port: 80, target: { hostname: "127.0.0.1", port: 8080 } },
    { proto: "udp", port: 53, target: { hostname: "::1", port: 5353 } },
    { proto: "tcp", port: 53, target: { hostname: "127.0.0.1", port: 53 } },
  ]);
  assert.deepEqual(ok.limits, {
    maxConnections: 100,
    tcpBufferBytes: 1 << 20,
    tcpMemoryBytes: 64 << 20,
  });
  assert.deepEqual(checkUserspaceFlags({}, true), { proxies: {}, forwards: [], limits: {} });
  const bad: [Record<string, unknown>, RegExp][] = [
    [
      { forward: ["sctp:80=127.0.0.1:80"] },
      /^Bad --forward "sctp:80=127\.0\.0\.1:80" is not PROTO:PORT=HOST:PORT/,
    ],
    [
      { forward: ["tcp:0=127.0.0.1:80"] },
      /^Bad --forward "tcp:0=127\.0\.0\.1:80": port 0 is not 1-65535/,
    ],
    [{ forward: ["tcp:80=127.0.0.1"] }, /^Bad --forward "tcp:80=127\.0\.0\.1": .*missing ':PORT'/],
    [{ forward: ["tcp:80=:8080"] }, /the target needs a host/],
    [{ forward: ["tcp:80=127.0.0.1:0"] }, /the target port must not be 0/],
    [{ forward: ["tcp:80=::1:80"] }, /needs brackets/],
    [{ forward: ["tcp:80=a:1", "tcp:80=b:2"] }, /"tcp:80=b:2": tcp port 80 is forwarded twice/],
    [
      { "netstack-max-connections": "lots" },
      /^Bad --netstack-max-connections "lots": not a whole number/,
    ],
    [
      { "netstack-max-connections": "1" },
      /^Bad --netstack-max-connections "1": 1 is outside 16-1048576/,
    ],
    [
      { "netstack-tcp-buffer": "1KB" },
      /^Bad --netstack-tcp-buffer "1KB": 1024 is outside 16384-67108864 bytes/,
    ],
    [{ "netstack-tcp-buffer": "big" }, /^Bad --netstack-tcp-buffer: "big" is not a size/],
    [
      { "netstack-tcp-memory": "512K" },
      /^Bad --netstack-tcp-memory "512K": 524288 is outside 1048576-68719476736 bytes/,
    ],
  ];
  for (const [flags, re] of bad) assert.throws(() => checkUserspaceFlags(flags, true), usage(re));
  for (
    const f of ["forward", "netstack-max-connections", "netstack-tcp-buffer", "netstack-tcp-memory"]
  ) {
    const flags = { [f]: f === "forward" ? ["tcp:80=127.0.0.1:80"] : "100" };
    assert.throws(
      () => checkUserspaceFlags(flags, false),
      usage(new RegExp(`^--${f} needs --tun userspace-networking`)),
    );
  }
});

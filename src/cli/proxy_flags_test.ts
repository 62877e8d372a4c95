import assert from "node:assert/strict";
import { checkProxyFlags } from "./proxy_flags.ts";
import { UsageError } from "./usage.ts";

Deno.test("proxy flags need userspace networking and a HOST:PORT, else a usage error", () => {
  assert.equal(checkProxyFlags({}, false), false);
  assert.equal(checkProxyFlags({ "socks5-server": "127.0.0.1:1055" }, true), true);
  assert.equal(checkProxyFlags({ "outbound-http-proxy-listen": "[::1]:8080" }, true), true);
  assert.throws(
    () => checkProxyFlags({ "socks5-server": "127.0.0.1:1055" }, false),
    (e) =>
      e instanceof UsageError && /--socks5-server needs --tun userspace-networking/.test(e.message),
  );
  assert.throws(
    () => checkProxyFlags({ "outbound-http-proxy-listen": "nope" }, true),
    (e) => e instanceof UsageError && /--outbound-http-proxy-listen/.test(e.message),
  );
});

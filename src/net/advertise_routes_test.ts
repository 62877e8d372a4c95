import assert from "node:assert/strict";
import { formatPrefix } from "./ip.ts";
import { AdvertiseRoutesError, parseAdvertiseRoutes, sortPrefixTexts } from "./advertise_routes.ts";

const texts = (t: string, exit = false) => parseAdvertiseRoutes(t, exit).map(formatPrefix);

Deno.test("advertise-routes: sorted as tailscaled's RoutableIPs, exit routes added", () => {
  // The order of Hostinfo.RoutableIPs in the Headscale capture (tailscaled 1.96.5).
  assert.deepEqual(texts("10.98.8.0/24", true), ["0.0.0.0/0", "10.98.8.0/24", "::/0"]);
  assert.deepEqual(texts("fd00::/64,10.0.0.0/24,10.0.0.0/24"), ["10.0.0.0/24", "fd00::/64"]);
  assert.deepEqual(texts(""), []);
  assert.deepEqual(texts("", true), ["0.0.0.0/0", "::/0"]);
});

Deno.test("advertise-routes: tailscale's messages for bad values", () => {
  const refuse = (t: string, msg: string) =>
    assert.throws(() => parseAdvertiseRoutes(t, false), (e) => {
      assert.ok(e instanceof AdvertiseRoutesError);
      assert.equal(e.message, msg);
      return true;
    });
  refuse("foo", `"foo" is not a valid IP address or CIDR prefix`);
  refuse("10.0.0.0/24,10.0.0.1", `"10.0.0.1" is not a valid IP address or CIDR prefix`);
  refuse("10.0.0.0/33", `"10.0.0.0/33" is not a valid IP address or CIDR prefix`);
  refuse("1.2.3.4/16", "1.2.3.4/16 has non-address bits set; expected 1.2.0.0/16");
  refuse("fd00::1/64", "fd00::1/64 has non-address bits set; expected fd00::/64");
  refuse(
    "0.0.0.0/0",
    "0.0.0.0/0 advertised without its IPv6 counterpart, please also advertise ::/0",
  );
  refuse("::/0", "::/0 advertised without its IPv4 counterpart, please also advertise 0.0.0.0/0");
});

Deno.test("sortPrefixTexts orders as Headscale's AllowedIPs and drops junk", () => {
  assert.deepEqual(
    sortPrefixTexts(["fd7a:115c:a1e0::1/128", "::/0", "100.64.0.1/32", "10.98.8.0/24", "x"]),
    ["10.98.8.0/24", "100.64.0.1/32", "::/0", "fd7a:115c:a1e0::1/128"],
  );
});

/**
 * `tun up --socks5-server` and `--outbound-http-proxy-listen`: checked
 * before the node starts, so a bad flag is a usage error (exit 2), not a
 * node that comes up and then fails.
 *
 * @module
 */
import { parseListenAddr } from "../proxy/listen_addr.ts";
import type { ProxyListenFlags } from "../daemon/userspace_proxies.ts";
import { UsageError } from "./usage.ts";

/** The proxy flags as `tun up` takes them. */
export type ProxyFlags = ProxyListenFlags;

/**
 * Checks the proxy flags before the node starts. They need userspace
 * networking here: with a TUN the kernel already routes the tailnet, so any
 * proxy on the host reaches it (tailscaled starts its proxies in TUN mode too;
 * warren refuses so a flag that would do nothing of its own is not silently taken).
 *
 * Returns whether any proxy flag was given.
 *
 * @throws {UsageError} naming the flag when it does not parse or the mode is wrong
 */
export function checkProxyFlags(flags: ProxyFlags, userspace: boolean): boolean {
  const names = (["socks5-server", "outbound-http-proxy-listen"] as const).filter((f) =>
    flags[f] !== undefined
  );
  for (const f of names) {
    if (!userspace) {
      throw new UsageError(`--${f} needs --tun userspace-networking (with a TUN, dial directly)`);
    }
    try {
      parseListenAddr(flags[f]!, `--${f}`);
    } catch (e) {
      throw new UsageError(e instanceof Error ? e.message : String(e));
    }
  }
  return names.length > 0;
}

/**
 * The listen-address syntax of `--socks5-server` and `--outbound-http-proxy-listen`, apart
 * from the proxies themselves so checking the flags does not load them (a node that runs no
 * proxy never imports listen.ts).
 *
 * @module
 */
import { ipOrNull } from "./socks5_codec.ts";
import type { ProxyAddr } from "./types.ts";

export type { ProxyAddr } from "./types.ts";

/**
 * Parses a listen flag: `127.0.0.1:1055`, `[::1]:1055`, `localhost:1055`
 * (127.0.0.1, as Go's listener picks), `:1055` (every address, IPv4 and
 * IPv6, as Go's `net.Listen` does). Port 0 asks for an ephemeral port.
 *
 * @example
 * ```ts
 * import { parseListenAddr } from "./listen_addr.ts";
 * parseListenAddr(":1055"); // { hostname: "::", port: 1055 }
 * parseListenAddr("[::1]:8080"); // { hostname: "::1", port: 8080 }
 * ```
 * @throws {SyntaxError} naming the flag text and what is wrong with it
 * @throws {RangeError} if the port is above 65535
 */
export function parseListenAddr(text: string, flag = "listen address"): ProxyAddr {
  const fail = (why: string) =>
    new SyntaxError(`Cannot parse ${flag} ${JSON.stringify(text)}: ${why}`);
  let host: string;
  let portText: string;
  if (text.startsWith("[")) {
    const close = text.indexOf("]");
    if (close < 0) throw fail("missing ']' after the IPv6 address");
    if (text[close + 1] !== ":") throw fail("expected ':PORT' after ']'");
    host = text.slice(1, close);
    portText = text.slice(close + 2);
    const ip = ipOrNull(host);
    if (ip === null || ip.length !== 16) {
      throw fail(`${JSON.stringify(host)} is not an IPv6 address`);
    }
  } else {
    const colon = text.lastIndexOf(":");
    if (colon < 0) throw fail("missing ':PORT' (e.g. localhost:1055)");
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (host.includes(":")) throw fail("an IPv6 address needs brackets, as in [::1]:1055");
    if (/^[0-9.]+$/.test(host) && ipOrNull(host) === null) {
      throw fail(`${JSON.stringify(host)} is not an IPv4 address`);
    }
    if (host !== "" && !/^[A-Za-z0-9.-]+$/.test(host)) {
      throw fail(`${JSON.stringify(host)} is not an IP address or host name`);
    }
  }
  if (!/^[0-9]{1,5}$/.test(portText)) {
    throw fail(
      portText === "" ? "missing port" : `port ${JSON.stringify(portText)} is not a number`,
    );
  }
  const port = Number(portText);
  if (port > 65535) {
    throw new RangeError(`Cannot parse ${flag} ${JSON.stringify(text)}: port ${port} above 65535`);
  }
  if (host === "") host = "::";
  else if (host.toLowerCase() === "localhost") host = "127.0.0.1";
  return { hostname: host, port };
}

/**
 * `host:port` as a flag spells it, an IPv6 host in brackets: the inverse of
 * {@linkcode parseListenAddr}.
 *
 * @example
 * ```ts
 * import { formatListenAddr } from "./listen_addr.ts";
 * formatListenAddr({ hostname: "::1", port: 1055 }); // "[::1]:1055"
 * ```
 */
export function formatListenAddr(a: ProxyAddr): string {
  return a.hostname.includes(":") ? `[${a.hostname}]:${a.port}` : `${a.hostname}:${a.port}`;
}

/**
 * Outbound proxies for userspace mode: `--socks5-server` (SOCKS5 with
 * optional username/password, CONNECT and UDP ASSOCIATE) and
 * `--outbound-http-proxy-listen` (HTTP CONNECT and absolute-URI requests),
 * over a {@linkcode ProxyDialer} that sends tailnet destinations through the
 * netstack and the rest through the host.
 *
 * @example
 * ```ts ignore
 * import { hostDialer, routingDialer, startProxies } from "./mod.ts";
 * const proxies = startProxies({
 *   dialer: routingDialer({ tailnet: netstackDialer, host: hostDialer(), resolve: magicDns }),
 *   socks5: "localhost:1055",
 *   http: "localhost:8080",
 * });
 * await proxies.close();
 * ```
 *
 * @module
 */

export {
  type AcceptedConn,
  type ByteSink,
  type ByteSource,
  type DialFailure,
  dialFailureOf,
  type ProxyAddr,
  type ProxyConn,
  type ProxyDatagram,
  type ProxyDatagramSocket,
  type ProxyDialer,
  ProxyDialError,
} from "./types.ts";
export { hostDialer } from "./host_dialer.ts";
export {
  isTailnetAddress,
  type Route,
  type RoutingDialer,
  routingDialer,
  type RoutingDialerOptions,
} from "./routing_dialer.ts";
export { credentialsMatch, type ProxyCredentials } from "./credentials.ts";
export { Socks5Server, type Socks5ServerOptions } from "./socks5_server.ts";
export { type HttpProxyOptions, HttpProxyServer } from "./http_proxy.ts";
export {
  parseListenAddr,
  type ProxyListeners,
  type ProxyStatus,
  startProxies,
  type StartProxiesOptions,
} from "./listen.ts";
export { fromDenoConn } from "./deno_conn.ts";
export { relay } from "./relay.ts";

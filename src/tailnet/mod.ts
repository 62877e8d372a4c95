/**
 * The tailnet as a library: a Deno program joins a tailnet in process, in
 * userspace-networking mode (warren's own TCP/IP stack; no TUN, no root, no
 * capability), and uses it with APIs shaped like Deno's own —
 * `connect`/`listen`/`listenDatagram` as `Deno.connect`/`Deno.listen`/
 * `Deno.listenDatagram`, `serve` as `Deno.serve`, and `fetch` for plain HTTP
 * to peers. Names are MagicDNS names (short or FQDN), resolved in process;
 * IP literals work too. Run with `deno run -A` (the node uses FFI for its UDP
 * socket).
 *
 * @example
 * ```ts ignore
 * import { Tailnet } from "./mod.ts";
 *
 * await using node = await Tailnet.up({
 *   authKey: Deno.env.get("TS_AUTHKEY"),
 *   hostname: "hello",
 *   stateDir: "mem:",
 *   ephemeral: true,
 * });
 * console.log("tailnet addresses:", node.addresses);
 * node.serve({ port: 80 }, (req) => new Response(`hi from ${new URL(req.url).pathname}\n`));
 * const res = await node.fetch("http://peer:8080/");
 * console.log(res.status, await res.text());
 * const conn = await node.connect({ hostname: "peer", port: 22 });
 * conn.close();
 * ```
 *
 * @module
 */

export { Tailnet } from "./tailnet.ts";
export type {
  TailnetConnectOptions,
  TailnetHttpServer,
  TailnetListenOptions,
  TailnetServeOptions,
} from "./sockets.ts";
export {
  type TailnetAcceptSource,
  TailnetConn,
  TailnetListener,
  type TailnetStream,
} from "./conn.ts";
export { type ResolveIp, TailnetDatagramConn, type TailnetUdpEndpoint } from "./datagram.ts";
export { type HttpHandler, type HttpServeInfo } from "./http_server.ts";
export {
  DEFAULT_CONTROL_URL,
  type TailnetNodeStatus,
  type TailnetPeerStatus,
  type TailnetUpOptions,
} from "./options.ts";

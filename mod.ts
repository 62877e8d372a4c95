/**
 * warren as a library: join a tailnet from a Deno program, in process and
 * without privilege, and use it with Deno-shaped sockets. See
 * {@linkcode Tailnet} and `src/tailnet/mod.ts`.
 *
 * @example
 * ```ts ignore
 * import { Tailnet } from "./mod.ts";
 * await using node = await Tailnet.up({ authKey: Deno.env.get("TS_AUTHKEY"), hostname: "app" });
 * const res = await node.fetch("http://peer:8080/");
 * ```
 *
 * @module
 */

export * from "./src/tailnet/mod.ts";

/**
 * Example: a Deno program on a tailnet, with no TUN and no root. It joins
 * with an auth key, serves HTTP on its tailnet addresses, and (given a URL)
 * fetches one from a peer by MagicDNS name.
 *
 *     TS_AUTHKEY=tskey-auth-... deno run -A examples/tailnet_http.ts \
 *       [--control-url URL] [--hostname NAME] [--fetch http://peer:8080/]
 *
 * Ctrl-C leaves the tailnet (the node is ephemeral, so control forgets it).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { Tailnet } from "../mod.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    "control-url": { type: "string" },
    hostname: { type: "string", default: "deno-hello" },
    fetch: { type: "string" },
    port: { type: "string", default: "80" },
  },
});

await using node = await Tailnet.up({
  authKey: Deno.env.get("TS_AUTHKEY"),
  controlUrl: values["control-url"],
  hostname: values.hostname,
  stateDir: "mem:",
  ephemeral: true,
});
const st = node.status();
console.log(`joined as ${st.name} (${node.addresses.join(", ")}), ${st.peers.length} peers`);

const server = node.serve({ port: Number(values.port) }, (req, info) => {
  return new Response(
    `hello ${info.remoteAddr.hostname}, you asked for ${new URL(req.url).pathname}\n`,
  );
});
console.log(`serving on http://${st.name}:${server.addr.port}/`);

if (values.fetch) {
  const res = await node.fetch(values.fetch);
  console.log(`${values.fetch}: ${res.status}\n${await res.text()}`);
}

// Until Ctrl-C: `await using` closes the node on the way out.
await new Promise<void>((resolve) => Deno.addSignalListener("SIGINT", resolve));
await server.shutdown();

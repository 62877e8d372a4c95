/**
 * Runs one nftables client call in the namespace it is started in (a netlink socket acts on the
 * namespace of the process that opens it) and prints the outcome as one JSON line:
 * `install '{"table":…,"tun":…,"snatV4":"P","snatV6":"P"}'`, `remove NAME`, `exists NAME`, or
 * `refused` (a batch whose second message the kernel refuses), and `echo-peer PORT` /
 * `ask HOST PORT` for the forwarding test: a TCP server that tells each client the source
 * address it saw, and a client that prints what it was told.
 *
 * @module
 */

import { installForwarding, NfTables, removeTable, tableExists } from "../nftables.ts";
import { deleteTableMessage, newTableMessage } from "../nftables_codec.ts";
import { parsePrefix } from "../../src/net/ip.ts";

const [op, a, b] = Deno.args;
const out = (v: unknown) => console.log(JSON.stringify(v));
const failure = (e: unknown) =>
  e instanceof Error
    ? { error: e.message, code: (e as { code?: string }).code }
    : { error: `${e}` };

if (op === "install") {
  const cfg = JSON.parse(a);
  try {
    installForwarding({
      table: cfg.table,
      tun: cfg.tun,
      snatV4: cfg.snatV4 ? parsePrefix(cfg.snatV4) : undefined,
      snatV6: cfg.snatV6 ? parsePrefix(cfg.snatV6) : undefined,
    });
    out({ ok: true });
  } catch (e) {
    out(failure(e));
  }
} else if (op === "remove") {
  out({ removed: removeTable(a) });
} else if (op === "exists") {
  out({ exists: tableExists(a) });
} else if (op === "refused") {
  try {
    using nft = NfTables.open();
    nft.apply([newTableMessage(a), deleteTableMessage(b)], "Cannot run the refused batch");
    out({ ok: true });
  } catch (e) {
    out(failure(e));
  }
} else if (op === "echo-peer") {
  using l = Deno.listen({ hostname: "::", port: Number(a) });
  out({ ready: true });
  for await (const c of l) {
    const peer = (c.remoteAddr as Deno.NetAddr).hostname.replace(/^::ffff:/, "");
    await c.write(new TextEncoder().encode(peer));
    c.close();
  }
} else if (op === "ask") {
  const c = await Deno.connect({ hostname: a, port: Number(b) });
  out({ peer: await new Response(c.readable).text() });
} else {
  throw new Error(`Unknown probe op ${op}`);
}

/**
 * What a benchmark needs before it builds anything: network namespaces (root), optionally
 * wireguard-go, and the commands it runs. The first thing missing is printed as one line and
 * the benchmark exits 1.
 *
 * @module
 */
import { namespaceSupport, run } from "../src/testbed/netns.ts";
import { wireguardGoSupport } from "../src/testbed/wireguard_go.ts";

/** Exits with `bench: <what is missing>` unless namespaces, wireguard-go and `commands` are there. */
export async function exitUnlessReady(
  opts: { wireguardGo?: boolean; commands?: string[] } = {},
): Promise<void> {
  const commands = opts.commands ?? [];
  const check = commands.map((c) => `command -v ${c}`).join(" && ");
  const missing = (await namespaceSupport()) ??
    (opts.wireguardGo ? await wireguardGoSupport() : null) ??
    (commands.length > 0 && (await run(["sh", "-c", check], { check: false })).code !== 0
      ? `${commands.join(", ")} ${commands.length > 1 ? "are" : "is"} needed`
      : null);
  if (missing) {
    console.error(`bench: ${missing}`);
    Deno.exit(1);
  }
}

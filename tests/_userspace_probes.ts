/**
 * Helpers of the userspace-networking end-to-end tests: a node's address by
 * family, the body server (tests/testdata/http_body_server.ts) in a
 * namespace, and curl piped through sha256sum.
 *
 * @module
 */
import { namespaceSupport, type Netns, run } from "../src/testbed/netns.ts";
import type { Tailnet } from "../src/testbed/tailnet.ts";

const UDP_ECHO = new URL("./testdata/udp_echo.ts", import.meta.url).pathname;

/** tailscaled's `--tun` value for warren's own stack. */
export const USERSPACE = "userspace-networking";

/** Why the userspace end-to-end tests cannot run here (no namespaces, curl, setpriv), or null. */
export async function userspaceSkip(): Promise<string | null> {
  return (await namespaceSupport()) ??
    ((await run(["sh", "-c", "command -v curl && command -v setpriv && command -v sha256sum"], {
        check: false,
      })).code !== 0
      ? "curl, setpriv (util-linux) or sha256sum is not installed"
      : null);
}

/** Stops a helper process started with `Netns.spawn` and releases its pipes. */
export async function stopChild(child: Deno.ChildProcess): Promise<void> {
  child.kill("SIGTERM");
  await child.status;
  await child.stdout.cancel().catch(() => {});
  await child.stderr.cancel().catch(() => {});
}

/** Starts tests/testdata/udp_echo.ts in `ns` on `listen` (`host:port`); resolves once bound. */
export async function startUdpEcho(ns: Netns, listen: string): Promise<{ stop(): Promise<void> }> {
  const echo = ns.spawn([Deno.execPath(), "run", "-A", UDP_ECHO, listen]);
  const er = echo.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const first = (await er.read()).value ?? "";
  er.releaseLock();
  if (!/listening/.test(first)) {
    await stopChild(echo);
    throw new Error(`UDP echo did not start: ${first}`);
  }
  return { stop: () => stopChild(echo) };
}

/** A node's status as `tun status --json` gives it. */
export type Status = Awaited<ReturnType<Tailnet["status"]>>;

/** The node's tailnet address of family `v`, without the prefix length. */
export const addrOf = (st: Status, v: 4 | 6): string =>
  (st.addresses as string[]).find((a) => (v === 4) !== a.includes(":"))!.split("/")[0];

export {
  type BodyServer,
  curlSha,
  startBodyServer as startServer,
} from "../src/testbed/body_server.ts";

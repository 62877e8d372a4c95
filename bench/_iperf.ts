/**
 * One iperf3 run between two namespaces: a one-shot server bound to `serverIp`, the client
 * against it with JSON output.
 *
 * @module
 */
import type { Netns } from "../src/testbed/netns.ts";

/** What a run reports. */
export interface IperfResult {
  /** Mbit/s the receiver counted. */
  mbit: number;
  /** TCP segments the sender retransmitted. */
  retransmits: number;
}

/**
 * Runs `iperf3 -c serverIp -t seconds -J …args` in `client` against a server in `server`;
 * `onStart` runs once the server is up, just before the client starts.
 */
export async function iperf3(
  client: Netns,
  server: Netns,
  serverIp: string,
  seconds: number,
  args: string[],
  onStart?: () => void,
): Promise<IperfResult> {
  const srv = server.spawn(["iperf3", "-s", "-1", "-B", serverIp], { stdout: "null" });
  await new Promise((r) => setTimeout(r, 300));
  onStart?.();
  try {
    const out = await client.exec(["iperf3", "-c", serverIp, "-t", `${seconds}`, "-J", ...args]);
    const j = JSON.parse(out.stdout);
    return {
      mbit: j.end.sum_received.bits_per_second / 1e6,
      retransmits: j.end.sum_sent.retransmits,
    };
  } finally {
    await srv.status;
    await srv.stderr.cancel();
  }
}

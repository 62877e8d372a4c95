/**
 * A checksummed TCP transfer between two test hosts: a receiver in one
 * namespace, a sender in the other (`tests/testdata/tcp_xfer.ts`), each end
 * reporting "<bytes> <sha256>" so a test can compare them.
 *
 * @module
 */
import type { Netns } from "./netns.ts";

const XFER = new URL("../../tests/testdata/tcp_xfer.ts", import.meta.url).pathname;

/** What each end of a transfer reported. */
export interface TransferResult {
  /** The sender's "<bytes> <sha256>". */
  sent: string;
  /** The receiver's "<bytes> <sha256>". */
  received: string;
}

/**
 * Sends `bytes` pseudo-random bytes from `from` to a receiver listening on
 * `host`:`port` in `to`, at most `rate` bytes/s if given. `during` runs while
 * the bytes are in flight (to cut and restore paths mid-transfer).
 */
export async function transfer(
  from: Netns,
  to: Netns,
  host: string,
  port: number,
  bytes: number,
  opts: { rate?: number; during?: () => Promise<void> } = {},
): Promise<TransferResult> {
  const server = to.spawn([Deno.execPath(), "run", "-A", XFER, "serve", host, `${port}`]);
  const reader = server.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("listening")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("transfer receiver exited before listening");
    text += value;
  }
  const rate = opts.rate === undefined ? [] : [`${opts.rate}`];
  const sender = from.exec([
    Deno.execPath(),
    "run",
    "-A",
    XFER,
    "send",
    host,
    `${port}`,
    `${bytes}`,
    ...rate,
  ]);
  await opts.during?.();
  const sent = (await sender).stdout.trim();
  let rest = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    rest += value;
  }
  await server.status;
  await server.stderr.cancel();
  return { sent, received: rest.trim() };
}

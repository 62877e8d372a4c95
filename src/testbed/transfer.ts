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

/** Options of {@linkcode transfer}. */
export interface TransferOptions {
  /** At most this many bytes/s. */
  rate?: number;
  /** Gives the sender at most this many seconds (`timeout`), so a stalled path fails the test. */
  maxSeconds?: number;
  /**
   * Runs while the bytes are in flight (to cut and restore paths, or change settings,
   * mid-transfer); `senderDone()` tells whether the sender has finished already.
   */
  during?: (senderDone: () => boolean) => Promise<void>;
}

/**
 * Sends `bytes` pseudo-random bytes from `from` to a receiver listening on
 * `host`:`port` in `to`; see {@linkcode TransferOptions}. The receiver is
 * killed if anything fails.
 */
export async function transfer(
  from: Netns,
  to: Netns,
  host: string,
  port: number,
  bytes: number,
  opts: TransferOptions = {},
): Promise<TransferResult> {
  const server = to.spawn([Deno.execPath(), "run", "-A", XFER, "serve", host, `${port}`]);
  try {
    const reader = server.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while (!text.includes("listening")) {
      const { value, done } = await reader.read();
      if (done) throw new Error("transfer receiver exited before listening");
      text += value;
    }
    const rate = opts.rate === undefined ? [] : [`${opts.rate}`];
    const limit = opts.maxSeconds === undefined ? [] : ["timeout", `${opts.maxSeconds}`];
    const sender = from.exec([
      ...limit,
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
    let done = false;
    void sender.then(() => done = true, () => done = true);
    await opts.during?.(() => done);
    const sent = (await sender).stdout.trim();
    let rest = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      rest += value;
    }
    return { sent, received: rest.trim() };
  } finally {
    try {
      server.kill("SIGKILL"); // a receiver that finished has exited already
    } catch {
      // already exited
    }
    await server.status;
    await server.stderr.cancel().catch(() => {});
  }
}

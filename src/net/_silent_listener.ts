/**
 * Test helper: a TCP listener that accepts connections and never says a word — a TLS
 * server that never answers the ClientHello, an HTTP server that never replies. Its
 * close() checks that every dialler hung up.
 *
 * @module
 */

/** A running silent listener. */
export interface SilentListener {
  /** The loopback port. */
  port: number;
  /** Stops listening; throws if a dialler left its socket open for 5 s. */
  close(): Promise<void>;
}

/** Listens on 127.0.0.1 with an ephemeral port. */
export function silentListener(): SilentListener {
  const ln = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted: Deno.Conn[] = [];
  const loop = (async () => {
    for await (const c of ln) accepted.push(c);
  })();
  return {
    port: (ln.addr as Deno.NetAddr).port,
    async close() {
      ln.close();
      await loop.catch(() => {});
      const open: number[] = [];
      for (const [i, c] of accepted.entries()) {
        // Reads reach EOF once the dialler hangs up (after its ClientHello or request, if any).
        const eof = (async () => {
          while ((await c.read(new Uint8Array(16 * 1024)).catch(() => null)) !== null) {
            // drain
          }
          return true;
        })();
        let t: ReturnType<typeof setTimeout> | undefined;
        const timeout = new Promise<boolean>((r) => t = setTimeout(() => r(false), 5000));
        if (!(await Promise.race([eof, timeout]))) open.push(i);
        clearTimeout(t);
        c.close();
      }
      if (open.length > 0) throw new Error(`Dialler left ${open.length} socket(s) open`);
    },
  };
}

/**
 * How a dial against such a listener ended: its error, "connected" (the connection is closed
 * at once), or "hung" if it neither connects nor fails within `ms`.
 */
export async function dialOutcome(
  p: Promise<{ close(): void }>,
  ms: number,
): Promise<unknown> {
  let t: ReturnType<typeof setTimeout> | undefined;
  const hung = new Promise<string>((r) => t = setTimeout(() => r("hung"), ms));
  try {
    return await Promise.race([
      p.then((c) => {
        c.close();
        return "connected";
      }, (e: unknown) => e),
      hung,
    ]);
  } finally {
    clearTimeout(t);
  }
}

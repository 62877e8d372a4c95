/**
 * Headless Chromium for browser tests, driven over the Chrome DevTools
 * Protocol from Deno: no npm package, no browser download, just Debian's
 * `chromium` package and a WebSocket to one page.
 *
 * @module
 */

/** Where Debian's `chromium` package puts the browser. */
export const CHROMIUM_PATH = "/usr/bin/chromium";

/**
 * The flags Chromium needs on these machines: root (no sandbox), no GPU, and
 * none of the background connections a closed network refuses.
 */
export const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-extensions",
  "--disable-default-apps",
  "--hide-scrollbars",
];

/**
 * Why a browser test cannot run here (for `testOrSkip`), or null.
 *
 * @example
 * ```ts
 * import { chromiumMissing } from "./chromium.ts";
 * console.assert(chromiumMissing("/nonexistent") !== null);
 * ```
 */
export function chromiumMissing(path = CHROMIUM_PATH): string | null {
  try {
    Deno.statSync(path);
    return null;
  } catch {
    return `needs Debian's chromium package (${path})`;
  }
}

/** One page of a running headless Chromium. */
export interface ChromiumPage {
  /** Sends a CDP command to the page and resolves with its result. */
  send(method: string, params?: Record<string, unknown>): Promise<Record<string, unknown>>;
  /** Evaluates an expression in the page and returns its (JSON) value. */
  evaluate(expression: string): Promise<unknown>;
  /** Polls `expression` until it is truthy; throws after `timeoutMs`. */
  waitFor(expression: string, timeoutMs?: number): Promise<unknown>;
  /** Stops the browser and removes its profile. */
  close(): Promise<void>;
  /** Same as {@link ChromiumPage.close}. */
  [Symbol.asyncDispose](): Promise<void>;
}

async function devtoolsPort(stderr: ReadableStream<Uint8Array>): Promise<number> {
  const lines = stderr.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  for (;;) {
    const { value, done } = await lines.read();
    if (done) throw new Error(`Chromium exited before its DevTools port was known: ${seen}`);
    seen += value;
    const m = /DevTools listening on ws:\/\/[^:]+:(\d+)\//.exec(seen);
    if (m) {
      // Keep draining so Chromium never blocks on a full stderr pipe.
      (async () => {
        while (!(await lines.read()).done) { /* discard */ }
      })().catch(() => {});
      return Number(m[1]);
    }
  }
}

/**
 * Starts headless Chromium with a fresh profile and connects to its one page.
 *
 * @example
 * ```ts ignore
 * import { launchChromium } from "./chromium.ts";
 * await using page = await launchChromium();
 * await page.send("Page.navigate", { url: "http://127.0.0.1:8384/" });
 * ```
 */
export async function launchChromium(
  opts: { path?: string; width?: number; height?: number } = {},
): Promise<ChromiumPage> {
  const profile = await Deno.makeTempDir({ prefix: "warren-chromium-" });
  const child = new Deno.Command(opts.path ?? CHROMIUM_PATH, {
    args: [
      ...CHROMIUM_FLAGS,
      `--user-data-dir=${profile}`,
      "--remote-debugging-port=0",
      `--window-size=${opts.width ?? 1200},${opts.height ?? 800}`,
      "about:blank",
    ],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let ws: WebSocket | null = null;
  const close = async () => {
    ws?.close();
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
    await child.status;
    await Deno.remove(profile, { recursive: true }).catch(() => {});
  };
  try {
    const port = await devtoolsPort(child.stderr);
    const targets = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json() as {
      type: string;
      webSocketDebuggerUrl: string;
    }[];
    const page = targets.find((t) => t.type === "page");
    if (!page) throw new Error("Chromium has no page target");
    const sock = new WebSocket(page.webSocketDebuggerUrl);
    ws = sock;
    await new Promise((resolve, reject) => {
      sock.onopen = resolve;
      sock.onerror = () => reject(new Error("Cannot open the DevTools WebSocket"));
    });
    let nextId = 1;
    const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
    sock.onmessage = (e) => {
      const msg = JSON.parse(e.data);
      const p = pending.get(msg.id);
      if (!p) return; // an event
      pending.delete(msg.id);
      if (msg.error) p.reject(new Error(`CDP ${msg.error.message}`));
      else p.resolve(msg.result);
    };
    sock.onclose = () => {
      for (const p of pending.values()) p.reject(new Error("DevTools connection closed"));
      pending.clear();
    };
    const send = (method: string, params: Record<string, unknown> = {}) =>
      new Promise<Record<string, unknown>>((resolve, reject) => {
        const id = nextId++;
        pending.set(id, { resolve: (v) => resolve(v as Record<string, unknown>), reject });
        sock.send(JSON.stringify({ id, method, params }));
      });
    const evaluate = async (expression: string) => {
      const r = await send("Runtime.evaluate", { expression, returnByValue: true });
      const ex = r.exceptionDetails as { text?: string } | undefined;
      if (ex) throw new Error(`Page threw evaluating ${expression}: ${ex.text}`);
      return (r.result as { value?: unknown }).value;
    };
    const waitFor = async (expression: string, timeoutMs = 10_000) => {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const v = await evaluate(expression);
        if (v) return v;
        if (Date.now() > until) throw new Error(`Timed out waiting for ${expression}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    return { send, evaluate, waitFor, close, [Symbol.asyncDispose]: close };
  } catch (e) {
    await close();
    throw e;
  }
}

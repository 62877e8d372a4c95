/**
 * Helpers for the control server's tests: a node identity driven through the
 * project's own ControlClient, and bounded waits on map streams.
 *
 * @module
 */

import { ControlClient } from "../../src/control/client.ts";
import { generatePrivateKey, publicKeyFrom } from "../../src/crypto/x25519.ts";
import {
  formatDiscoPublic,
  formatNodePublic,
  generateNodePrivate,
} from "../../src/key/node_key.ts";
import type { Hostinfo, MapResponse } from "../../src/netmap/tailcfg.ts";
import type { TestControlServer } from "./server.ts";

/** A test node: keys, Hostinfo and a client bound to the server. */
export interface TestNode {
  /** The client. */
  client: ControlClient;
  /** Machine private key. */
  machineKey: Uint8Array;
  /** Node public key. */
  nodeKey: Uint8Array;
  /** Disco public key. */
  discoKey: Uint8Array;
  /** Hostinfo it reports. */
  hostinfo: Hostinfo;
}

/** Makes a node identity with a fresh machine, node and disco key. */
export function makeNode(srv: TestControlServer, hostname: string, capver?: number): TestNode {
  const machineKey = generatePrivateKey();
  return {
    client: new ControlClient({ controlUrl: srv.url, machineKey, capver, watchdogMs: 10_000 }),
    machineKey,
    nodeKey: publicKeyFrom(generateNodePrivate()),
    discoKey: publicKeyFrom(generateNodePrivate()),
    hostinfo: { Hostname: hostname, OS: "linux", BackendLogID: "ab".repeat(32) } as Hostinfo,
  };
}

/** Opens a streaming map request for a node; returns the iterator and its abort controller. */
export function openStream(
  n: TestNode,
  extra: Record<string, unknown> = {},
): { it: AsyncGenerator<MapResponse>; abort: AbortController } {
  const abort = new AbortController();
  const it = n.client.streamMap({
    NodeKey: formatNodePublic(n.nodeKey),
    DiscoKey: formatDiscoPublic(n.discoKey),
    Hostinfo: n.hostinfo,
    Stream: true,
    KeepAlive: true,
    Compress: "zstd",
    ...extra,
  }, abort.signal);
  return { it, abort };
}

/** The next message of a stream, failing after ms. */
export async function nextMessage(
  it: AsyncGenerator<MapResponse>,
  ms = 5000,
): Promise<MapResponse> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const r = await Promise.race([
      it.next(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no map message within ${ms} ms`)), ms);
      }),
    ]);
    if (r.done) throw new Error("map stream ended");
    return r.value;
  } finally {
    clearTimeout(timer);
  }
}

/** Reads messages until one satisfies pred (keep-alives and others are skipped). */
export async function waitForMessage(
  it: AsyncGenerator<MapResponse>,
  pred: (m: MapResponse) => boolean,
  ms = 5000,
): Promise<MapResponse> {
  const deadline = Date.now() + ms;
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`no matching map message within ${ms} ms`);
    const m = await nextMessage(it, left);
    if (pred(m)) return m;
  }
}

/** A `tests/control/main.ts` process and the first line it printed ("control listening on … key …"). */
export interface ControlProcess {
  /** The process. */
  child: Deno.ChildProcess;
  /** Its first stdout line. */
  firstLine: string;
  /** Stops it with `signal` and waits. */
  stop(signal?: Deno.Signal): Promise<void>;
}

/** Starts `tests/control/main.ts` with `args` and waits (≤ 20 s) for its first line. */
export async function startControlProcess(
  args: string[],
  stderr: "piped" | "null" = "null",
): Promise<ControlProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("./main.ts", import.meta.url).pathname, ...args],
    stdout: "piped",
    stderr,
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const r = await reader.read();
    if (r.done) break;
    text += r.value;
  }
  return {
    child,
    firstLine: text,
    async stop(signal: Deno.Signal = "SIGTERM") {
      clearTimeout(timer);
      try {
        child.kill(signal);
      } catch {
        // already gone
      }
      await reader.cancel().catch(() => {});
      if (stderr === "piped") await child.stderr.cancel().catch(() => {});
      await child.status;
    },
  };
}

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

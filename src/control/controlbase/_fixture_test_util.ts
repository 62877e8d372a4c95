/**
 * Loads the real tailscaled 1.96.5 ↔ Headscale 0.28 TS2021 capture kept in
 * `src/control/testdata/` (copied from the shared fixtures).
 *
 * @module
 */
import { fromHex } from "../../bytes/hex.ts";
import { KEY_LEN } from "../../key/node_key.ts";

/** The fields of the capture the tests use. */
export interface Ts2021Fixture {
  /** 101-byte initiation. */
  initiation: Uint8Array;
  /** 51-byte response frame. */
  response: Uint8Array;
  /** Server static private key. */
  serverPrivate: Uint8Array;
  /** Server static public key. */
  serverPublic: Uint8Array;
  /** Machine static private key. */
  machinePrivate: Uint8Array;
  /** Machine static public key. */
  machinePublic: Uint8Array;
  /** First 128 bytes the server sent after the response. */
  serverStream: Uint8Array;
  /** First 128 bytes the client sent after the upgrade headers. */
  clientStream: Uint8Array;
  /** The parsed JSON. */
  raw: Record<string, unknown>;
}

const URL_ = new URL(
  "../testdata/ts2021-handshake-tailscaled-1.96.5-headscale-0.28.json",
  import.meta.url,
);

const strip = (s: unknown) => fromHex(String(s).replace(/^[a-z]+:/, ""), KEY_LEN);

/** Reads the fixture. */
export function loadTs2021Fixture(): Ts2021Fixture {
  const raw = JSON.parse(Deno.readTextFileSync(URL_));
  return {
    initiation: Uint8Array.from(atob(raw.initiation_base64), (c) => c.charCodeAt(0)),
    response: fromHex(raw.response_hex),
    serverPrivate: strip(raw.server_static_private),
    serverPublic: strip(raw.server_static_public),
    machinePrivate: strip(raw.machine_static_private),
    machinePublic: strip(raw.machine_static_public),
    serverStream: fromHex(raw.server_stream_after_response_first_128_hex),
    clientStream: fromHex(raw.client_stream_after_headers_first_128_hex),
    raw,
  };
}

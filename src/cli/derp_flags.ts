/**
 * Flags of `warren tun derp`, read into one config object before anything starts.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { DEFAULT_STUN_PORT } from "../stun/constants.ts";
import { fromHex } from "../bytes/hex.ts";
import { KEY_LEN } from "../key/node_key.ts";
import { parseDurationMs } from "./duration.ts";

/** The `--help` text of `warren tun derp`. */
export const DERP_USAGE = `usage: warren tun derp [flags]

Run a DERP relay server (and a STUN server) for a Tailscale-compatible tailnet.

  --port N                  TCP port for HTTP/HTTPS and /derp (default 3340)
  --address ADDR            address to bind (default :: = all, IPv4 and IPv6)
  --cert FILE --key FILE    serve TLS with this certificate and key (PEM)
  --hostname NAME           serve TLS for NAME; without --cert/--key, a self-signed
                            certificate is generated (saved to --cert/--key paths
                            when given), and its sha256-raw: pin and a DERPMap
                            region JSON are printed
  --region-id N             region ID in the printed DERPMap JSON (default 900)
  --stun-port N             UDP port for STUN (default 3478)
  --no-stun                 do not run STUN
  --key-file FILE           persistent server key (derper's JSON); created 0600 if missing
  --mesh-key HEX            64-hex mesh pre-shared key shared by the region's servers
  --mesh-key-file FILE      read the mesh key from FILE
  --mesh-with H1,H2,…       mesh with these servers (host[:port] or http(s) URLs)
  --mesh-cert-name VALUE    CertName (e.g. sha256-raw:…) expected from TLS mesh peers
  --max-conns N             most TCP connections at once (default 65536)
  --accept-connection-limit N
                            accept at most N connections per second (default no
                            limit); more are closed at once, as derper does
  --accept-connection-burst N
                            ... with bursts of up to N (default: the limit, at least 1)
  --tcp-keepalive-time DUR  TCP keep-alive idle time and interval (default 10m; 0 = the
                            kernel's); plain-HTTP connections only
  --tcp-user-timeout DUR    drop a connection whose sent data stays unacknowledged this
                            long (default 15s; 0 = the kernel's ~15 min); plain HTTP only
  --verify-client-url URL   admission controller; clients are denied if it fails
  --bootstrap-dns-names H1,H2,…
                            names whose addresses /bootstrap-dns serves (resolved every
                            10 min), for clients whose own DNS is broken
  --unpublished-bootstrap-dns-names H1,…
                            names /bootstrap-dns answers only when asked (?q=NAME)
  --quiet                   do not log per-client connects and disconnects
  --help                    show this help

Stops on SIGINT/SIGTERM after telling clients it is restarting.
`;

/** Everything `warren tun derp` was asked to do, checked. */
export interface DerpConfig {
  /** TCP port for HTTP/HTTPS and /derp (0 = any free port). */
  port: number;
  /** Address to bind. */
  address: string;
  /** PEM certificate path (`--cert`; given with `keyFile` or not at all). */
  certFile?: string;
  /** PEM private key path (`--key`). */
  keyFile?: string;
  /** TLS host name (`--hostname`). */
  hostname?: string;
  /** Region ID in the printed DERPMap JSON. */
  regionId: number;
  /** UDP port for STUN. */
  stunPort: number;
  /** Whether to run STUN at all (`--no-stun` clears it). */
  stun: boolean;
  /** Persistent server key file. */
  serverKeyFile?: string;
  /** Mesh pre-shared key, from `--mesh-key` or `--mesh-key-file`. */
  meshKey?: Uint8Array;
  /** Servers to mesh with, as given (host[:port] or URLs). */
  meshWith: string[];
  /** CertName expected from TLS mesh peers. */
  meshCertName?: string;
  /** Most TCP connections at once. */
  maxConns: number;
  /** Accept rate limit, if any. */
  acceptLimit?: { perSecond: number; burst: number };
  /** TCP keep-alive idle time and interval, ms (0 = the kernel's). */
  keepAliveMs: number;
  /** TCP user timeout, ms (0 = the kernel's). */
  userTimeoutMs: number;
  /** Admission controller URL. */
  verifyClientUrl?: string;
  /** Names whose addresses /bootstrap-dns serves. */
  bootstrapNames: string[];
  /** Names /bootstrap-dns answers only when asked for. */
  unpublishedNames: string[];
  /** Drop per-client connect/disconnect log lines. */
  quiet: boolean;
}

/**
 * Reads `warren tun derp`'s flags (and the mesh key file, if named).
 *
 * @returns the config, or `"help"` when `--help` was given
 * @throws {Error} with the one-line usage message for any bad flag
 */
export async function parseDerpFlags(argv: string[]): Promise<DerpConfig | "help"> {
  const v = parseFlags(argv);
  if (v.help) return "help";
  const port = intFlag(v.port, "port", 3340, 0, 65535);
  const stunPort = intFlag(v["stun-port"], "stun-port", DEFAULT_STUN_PORT, 0, 65535);
  const maxConns = intFlag(v["max-conns"], "max-conns", 65536, 1, 10_000_000);
  const regionId = intFlag(v["region-id"], "region-id", 900, 1, 2 ** 53 - 1);
  const acceptLimit = acceptLimitFlags(v["accept-connection-limit"], v["accept-connection-burst"]);
  const keepAliveMs = durationFlag(v["tcp-keepalive-time"], "tcp-keepalive-time", 600_000);
  const userTimeoutMs = durationFlag(v["tcp-user-timeout"], "tcp-user-timeout", 15_000);
  const bootstrapNames = hostNames(v["bootstrap-dns-names"]);
  const unpublishedNames = hostNames(v["unpublished-bootstrap-dns-names"]);
  for (const n of [...bootstrapNames, ...unpublishedNames]) {
    if (!/^[A-Za-z0-9.-]+$/.test(n)) {
      throw new Error(
        `bootstrap DNS name "${n}" is not a host name (rollout percentages are not supported)`,
      );
    }
  }
  if ((v.cert === undefined) !== (v.key === undefined)) {
    throw new Error("--cert and --key must be given together");
  }
  if (v["mesh-key"] !== undefined && v["mesh-key-file"] !== undefined) {
    throw new Error("give --mesh-key or --mesh-key-file, not both");
  }
  if (v.hostname !== undefined && !/^[A-Za-z0-9.:_-]+$/.test(v.hostname)) {
    throw new Error(`--hostname "${v.hostname}" is not a host name or IP address`);
  }
  if (v["verify-client-url"] !== undefined) checkHttpUrl(v["verify-client-url"]);
  const meshKey = await meshKeyFlags(v["mesh-key"], v["mesh-key-file"]);
  const meshWith = (v["mesh-with"] ?? "").split(",").map((s) => s.trim()).filter((s) => s);
  if (meshWith.length > 0 && !meshKey) {
    throw new Error("--mesh-with requires --mesh-key or --mesh-key-file");
  }
  return {
    port,
    address: v.address ?? "::",
    certFile: v.cert,
    keyFile: v.key,
    hostname: v.hostname,
    regionId,
    stunPort,
    stun: !v["no-stun"],
    serverKeyFile: v["key-file"],
    meshKey,
    meshWith,
    meshCertName: v["mesh-cert-name"],
    maxConns,
    acceptLimit,
    keepAliveMs,
    userTimeoutMs,
    verifyClientUrl: v["verify-client-url"],
    bootstrapNames,
    unpublishedNames,
    quiet: v.quiet ?? false,
  };
}

function parseFlags(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        port: { type: "string" },
        address: { type: "string" },
        cert: { type: "string" },
        key: { type: "string" },
        hostname: { type: "string" },
        "region-id": { type: "string" },
        "stun-port": { type: "string" },
        "no-stun": { type: "boolean" },
        "key-file": { type: "string" },
        "mesh-key": { type: "string" },
        "mesh-key-file": { type: "string" },
        "mesh-with": { type: "string" },
        "mesh-cert-name": { type: "string" },
        "max-conns": { type: "string" },
        "accept-connection-limit": { type: "string" },
        "accept-connection-burst": { type: "string" },
        "tcp-keepalive-time": { type: "string" },
        "tcp-user-timeout": { type: "string" },
        "verify-client-url": { type: "string" },
        "bootstrap-dns-names": { type: "string" },
        "unpublished-bootstrap-dns-names": { type: "string" },
        quiet: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    }).values;
  } catch (e) {
    // node:util's messages run on with a hint paragraph; the first line says it.
    throw new Error((e as Error).message.split("\n")[0]);
  }
}

function intFlag(
  v: string | undefined,
  name: string,
  def: number,
  min: number,
  max: number,
): number {
  if (v === undefined) return def;
  if (!/^-?\d+$/.test(v)) throw new RangeError(`--${name} "${v}" is not an integer`);
  const n = Number(v);
  if (n < min || n > max) throw new RangeError(`--${name} ${n} is out of range ${min}..${max}`);
  return n;
}

function durationFlag(v: string | undefined, name: string, defMs: number): number {
  if (v === undefined) return defMs;
  let ms: number;
  try {
    ms = parseDurationMs(v);
  } catch (e) {
    throw new RangeError(`--${name} ${(e as Error).message}`);
  }
  if (ms > 2 ** 31 - 1) throw new RangeError(`--${name} "${v}" is too long`);
  return ms;
}

/** `--accept-connection-limit` and its `-burst`; the burst defaults to the limit, at least 1. */
function acceptLimitFlags(
  limitText: string | undefined,
  burstText: string | undefined,
): { perSecond: number; burst: number } | undefined {
  if (limitText === undefined) {
    if (burstText !== undefined) {
      throw new RangeError("--accept-connection-burst needs --accept-connection-limit");
    }
    return undefined;
  }
  const perSecond = Number(limitText);
  if (!(perSecond > 0) || !/^\d+(\.\d+)?$/.test(limitText)) {
    throw new RangeError(`--accept-connection-limit "${limitText}" is not a positive number`);
  }
  const burst = intFlag(burstText, "accept-connection-burst", 0, 1, 1e9) ||
    Math.max(1, Math.ceil(perSecond));
  return { perSecond, burst };
}

function hostNames(list: string | undefined): string[] {
  return (list ?? "").split(",").map((n) => n.trim()).filter((n) => n !== "");
}

function checkHttpUrl(text: string): void {
  let ok = false;
  try {
    const u = new URL(text);
    ok = u.protocol === "http:" || u.protocol === "https:";
  } catch {
    // not a URL at all
  }
  if (!ok) throw new Error(`--verify-client-url "${text}" is not an http(s) URL`);
}

/** The mesh key from `--mesh-key` or the file `--mesh-key-file` names. */
async function meshKeyFlags(
  text: string | undefined,
  file: string | undefined,
): Promise<Uint8Array | undefined> {
  if (file !== undefined) text = (await Deno.readTextFile(file)).trim();
  if (text === undefined) return undefined;
  if (!/^[0-9a-f]{64}$/.test(text)) {
    throw new SyntaxError("the mesh key must be 64 lowercase hex characters");
  }
  return fromHex(text, KEY_LEN);
}

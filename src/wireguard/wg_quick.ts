/**
 * Parser for wg-quick style WireGuard configuration files (`wg-quick(8)`,
 * `wg(8)` CONFIGURATION FILE FORMAT), for `warren tun up --wg-config`.
 *
 * @module
 */

import { type IpPrefix, parsePrefix, splitHostPort } from "../net/ip.ts";
import { parseWgKey } from "../key/wg_key.ts";
import {
  listItems,
  parseDnsInto,
  parseFwMark,
  parseIntIn,
  parseTable,
  q,
  renamed,
  type WgDns,
} from "./wg_quick_values.ts";

export type { WgDns };

/** One `[Peer]` section. */
export interface WgPeerConfig {
  /** The peer's static public key. */
  publicKey: Uint8Array;
  /** The optional preshared key mixed into the handshake. */
  presharedKey: Uint8Array | null;
  /** Prefixes routed to and accepted from this peer (host bits zeroed). */
  allowedIps: IpPrefix[];
  /** `host:port` or `[v6]:port` as written (validated, not resolved), or null. */
  endpoint: string | null;
  /** Keepalive interval in seconds; 0 means off. */
  persistentKeepalive: number;
  /** Line of the `[Peer]` header, for messages about this peer. */
  line: number;
}

/**
 * wg-quick's `Table`: `"auto"` (the default: routes in main, and a full tunnel — a /0 allowed
 * IP — through a table of its own with policy rules), `"off"` (no routes at all), or a table id
 * to put every route in, without rules (`main` is 254).
 */
export type WgTable = "auto" | "off" | number;

/** A parsed configuration file. */
export interface WgConfig {
  /** The interface's static private key. */
  privateKey: Uint8Array;
  /** Interface addresses with their host bits kept ("10.0.0.2/24"). */
  addresses: IpPrefix[];
  /** UDP port to listen on, or null to pick one. */
  listenPort: number | null;
  /** Interface MTU, or null for the default. */
  mtu: number | null;
  /** Which routing table the allowed IPs' routes go in (`Table`, default "auto"). */
  table: WgTable;
  /** Firewall mark for the WireGuard socket's packets (`FwMark`); 0 when off or not set. */
  fwmark: number;
  /** `DNS`: name servers and search domains for the host while up (empty lists when unset). */
  dns: WgDns;
  /** The peers, in file order. */
  peers: WgPeerConfig[];
  /** Lines that are valid wg-quick but that warren ignores, for a warning each. */
  unsupported: ConfigProblem[];
}

/** A problem tied to one line of a config file (line 0: the file as a whole). */
export interface ConfigProblem {
  /** The file name as given to the parser. */
  file: string;
  /** 1-based line number, or 0 when the problem is not on one line. */
  line: number;
  /** What is wrong, in a sentence without trailing period. */
  message: string;
}

/**
 * Formats a problem as `file:line: message` (or `file: message` for line 0),
 * the form editors and terminals turn into a link.
 *
 * @example
 * ```ts
 * import { formatProblem } from "./wg_quick.ts";
 * formatProblem({ file: "wg0.conf", line: 3, message: "Unknown key \"Foo\"" });
 * // 'wg0.conf:3: Unknown key "Foo"'
 * ```
 */
export function formatProblem(p: ConfigProblem): string {
  return p.line > 0 ? `${p.file}:${p.line}: ${p.message}` : `${p.file}: ${p.message}`;
}

/**
 * A config file that cannot be used. `problems` lists every bad line, and the
 * message holds them all, one `file:line: reason` per line.
 */
export class ConfigError extends Error {
  /** Every problem found, in line order. */
  readonly problems: ConfigProblem[];

  /** Builds the error from its problems (at least one). */
  constructor(problems: ConfigProblem[]) {
    super(problems.map(formatProblem).join("\n"));
    this.name = "ConfigError";
    this.problems = problems;
  }
}

/** Interface keys wg-quick accepts that warren ignores, by lower-case name. */
const UNSUPPORTED: Record<string, string> = {
  preup: "PreUp",
  postup: "PostUp",
  predown: "PreDown",
  postdown: "PostDown",
  saveconfig: "SaveConfig",
};

const INTERFACE_KEYS: Record<string, string> = {
  privatekey: "PrivateKey",
  address: "Address",
  listenport: "ListenPort",
  mtu: "MTU",
  table: "Table",
  fwmark: "FwMark",
  dns: "DNS",
};

const PEER_KEYS: Record<string, string> = {
  publickey: "PublicKey",
  presharedkey: "PresharedKey",
  allowedips: "AllowedIPs",
  endpoint: "Endpoint",
  persistentkeepalive: "PersistentKeepalive",
};

/** Keys that may appear once per section; the list keys accumulate instead. */
const SINGLE = new Set([
  "PrivateKey",
  "ListenPort",
  "MTU",
  "Table",
  "FwMark",
  "PublicKey",
  "PresharedKey",
  "Endpoint",
  "PersistentKeepalive",
]);

/** The smallest IPv4 datagram every host must accept (RFC 791). */
const MIN_MTU_V4 = 576;
/** The smallest link MTU IPv6 allows (RFC 8200 §5); Linux drops IPv6 from a smaller link. */
const MIN_MTU_V6 = 1280;
const MAX_MTU = 65535;

interface PeerDraft extends Omit<WgPeerConfig, "publicKey"> {
  publicKey: Uint8Array | null;
  seen: Map<string, number>;
}

/**
 * Parses a wg-quick configuration. Keys are case-insensitive, `#` starts a
 * comment, list values are comma-separated, and repeated `Address` or
 * `AllowedIPs` lines accumulate.
 *
 * The whole file is checked before anything is rejected, so the error lists
 * every bad line at once. Keys that wg-quick knows but warren does not act on
 * (DNS, Pre/PostUp/Down, SaveConfig) are accepted and reported in
 * `unsupported`.
 *
 * @param file the name used in problem messages
 * @example
 * ```ts
 * import { parseWgQuick } from "./wg_quick.ts";
 * const conf = parseWgQuick(
 *   `[Interface]
 * PrivateKey = yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=
 * Address = 10.192.122.1/24
 *
 * [Peer]
 * PublicKey = xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=
 * AllowedIPs = 10.192.122.3/32
 * `,
 *   "wg0.conf",
 * );
 * conf.peers.length; // 1
 * ```
 * @throws {ConfigError} listing every problem with its file and line
 */
export function parseWgQuick(text: string, file: string): WgConfig {
  const problems: ConfigProblem[] = [];
  const unsupported: ConfigProblem[] = [];
  const problem = (line: number, message: string) => problems.push({ file, line, message });

  let privateKey: Uint8Array | null = null;
  const addresses: IpPrefix[] = [];
  let listenPort: number | null = null;
  let mtu: number | null = null;
  let mtuLine = 0;
  let table: WgTable = "auto";
  let fwmark = 0;
  const dns: WgDns = { servers: [], search: [] };
  let interfaceLine = 0;
  const interfaceSeen = new Map<string, number>();
  const peers: PeerDraft[] = [];
  /** Public key (base64) → line where a peer first used it. */
  const peerKeys = new Map<string, number>();

  type Section = "none" | "interface" | "peer" | "unknown";
  let section: Section = "none";
  let peer: PeerDraft | null = null;

  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const n = i + 1;
    const hash = lines[i].indexOf("#");
    const content = (hash >= 0 ? lines[i].slice(0, hash) : lines[i]).trim();
    if (content === "") continue;

    if (content.startsWith("[")) {
      const m = /^\[\s*([A-Za-z]+)\s*\]$/.exec(content);
      const name = m?.[1].toLowerCase();
      if (name === "interface") {
        section = "interface";
        if (interfaceLine === 0) interfaceLine = n;
      } else if (name === "peer") {
        section = "peer";
        peer = {
          publicKey: null,
          presharedKey: null,
          allowedIps: [],
          endpoint: null,
          persistentKeepalive: 0,
          line: n,
          seen: new Map(),
        };
        peers.push(peer);
      } else {
        section = "unknown";
        problem(
          n,
          m
            ? `Unknown section [${m[1]}] (expected [Interface] or [Peer]); its lines are skipped`
            : `Malformed section header ${q(content)}`,
        );
      }
      continue;
    }

    const eq = content.indexOf("=");
    if (eq < 0) {
      problem(n, `Line has no '=' (expected "Key = value"): ${q(content)}`);
      continue;
    }
    const rawKey = content.slice(0, eq).trim();
    const value = content.slice(eq + 1).trim();
    if (rawKey === "") {
      problem(n, "Missing key name before '='");
      continue;
    }
    if (section === "unknown") continue;
    if (section === "none") {
      problem(n, `${rawKey} is outside a section (put it under [Interface] or [Peer])`);
      continue;
    }
    const lower = rawKey.toLowerCase();

    if (section === "interface") {
      if (lower in UNSUPPORTED) {
        unsupported.push({
          file,
          line: n,
          message: `${UNSUPPORTED[lower]} is not supported by warren (ignored)`,
        });
        continue;
      }
      const key = INTERFACE_KEYS[lower];
      if (key === undefined) {
        problem(n, unknownKey(rawKey, "Interface"));
        continue;
      }
      if (!firstTime(interfaceSeen, key, n, problem)) continue;
      try {
        switch (key) {
          case "PrivateKey":
            privateKey = parseWgKey(value, "PrivateKey");
            break;
          case "Address":
            for (const item of listItems(value, "Address")) {
              addresses.push(renamed(() => parsePrefix(item, { keepHostBits: true }), "Address"));
            }
            break;
          case "ListenPort":
            listenPort = parseIntIn(value, "ListenPort", 0, 65535); // 0: any free port, as wg(8)
            break;
          case "MTU":
            mtu = parseIntIn(value, "MTU", MIN_MTU_V4, MAX_MTU, {
              why: `; ${MIN_MTU_V4} is the smallest IPv4 datagram every host must accept (RFC 791)`,
            });
            mtuLine = n;
            break;
          case "Table":
            table = parseTable(value);
            break;
          case "FwMark":
            fwmark = parseFwMark(value);
            break;
          case "DNS":
            parseDnsInto(value, dns);
            break;
        }
      } catch (e) {
        problem(n, (e as Error).message);
      }
      continue;
    }

    // section === "peer"
    const p = peer!;
    const key = PEER_KEYS[lower];
    if (key === undefined) {
      problem(n, unknownKey(rawKey, "Peer"));
      continue;
    }
    if (!firstTime(p.seen, key, n, problem)) continue;
    try {
      switch (key) {
        case "PublicKey": {
          const k = parseWgKey(value, "PublicKey");
          const id = value;
          const first = peerKeys.get(id);
          if (first !== undefined) {
            problem(n, `Duplicate peer PublicKey (already used by the [Peer] on line ${first})`);
          } else {
            peerKeys.set(id, n);
          }
          p.publicKey = k;
          break;
        }
        case "PresharedKey":
          p.presharedKey = parseWgKey(value, "PresharedKey");
          break;
        case "AllowedIPs":
          for (const item of listItems(value, "AllowedIPs")) {
            p.allowedIps.push(renamed(() => parsePrefix(item), "AllowedIPs"));
          }
          break;
        case "Endpoint":
          renamed(() => splitHostPort(value), "Endpoint");
          p.endpoint = value;
          break;
        case "PersistentKeepalive":
          p.persistentKeepalive = value.toLowerCase() === "off"
            ? 0
            : parseIntIn(value, "PersistentKeepalive", 0, 65535, { alt: `"off" or ` });
          break;
      }
    } catch (e) {
      problem(n, (e as Error).message);
    }
  }

  if (interfaceLine === 0) {
    problem(0, "Missing [Interface] section");
  } else if (privateKey === null && !interfaceSeen.has("PrivateKey")) {
    problem(interfaceLine, "[Interface] has no PrivateKey");
  }
  for (const p of peers) {
    if (p.publicKey === null && !p.seen.has("PublicKey")) {
      problem(p.line, "[Peer] has no PublicKey");
    }
  }
  const v6Address = addresses.some((a) => a.ip.length === 16);
  if (mtu !== null && mtu < MIN_MTU_V6 && v6Address) {
    problem(
      mtuLine,
      `MTU ${mtu} is below ${MIN_MTU_V6}, the minimum IPv6 allows (RFC 8200), and an IPv6 Address is set`,
    );
  }

  if (problems.length > 0) {
    problems.sort((a, b) => a.line - b.line);
    throw new ConfigError(problems);
  }
  return {
    privateKey: privateKey!,
    addresses,
    listenPort,
    mtu,
    table,
    fwmark,
    dns,
    peers: peers.map(({ seen: _seen, ...rest }) => ({ ...rest, publicKey: rest.publicKey! })),
    unsupported,
  };
}

// --- internals ---

function unknownKey(key: string, section: "Interface" | "Peer"): string {
  const lower = key.toLowerCase();
  if (section === "Peer" && (lower in INTERFACE_KEYS || lower in UNSUPPORTED)) {
    const name = INTERFACE_KEYS[lower] ?? UNSUPPORTED[lower];
    return `${name} belongs in the [Interface] section, not [Peer]`;
  }
  if (section === "Interface" && lower in PEER_KEYS) {
    return `${PEER_KEYS[lower]} belongs in a [Peer] section, not [Interface]`;
  }
  return `Unknown key ${q(key)} in [${section}] section`;
}

/** Records the first use of a single-valued key; reports a repeat. */
function firstTime(
  seen: Map<string, number>,
  key: string,
  line: number,
  problem: (line: number, message: string) => void,
): boolean {
  if (!SINGLE.has(key)) return true;
  const first = seen.get(key);
  if (first !== undefined) {
    problem(line, `Duplicate ${key} (first set on line ${first})`);
    return false;
  }
  seen.set(key, line);
  return true;
}

/** Comma-separated entries; an empty value is an empty list, an empty entry is an error. */

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

/** The `[Interface]` values read so far; `line` is its first header's line (0: none yet). */
interface InterfaceDraft {
  privateKey: Uint8Array | null;
  addresses: IpPrefix[];
  listenPort: number | null;
  mtu: number | null;
  mtuLine: number;
  table: WgTable;
  fwmark: number;
  dns: WgDns;
  line: number;
  seen: Map<string, number>;
}

/** Records a problem on a line. */
type Report = (line: number, message: string) => void;

/** What a `[Peer]` key handler may need beyond its own peer. */
interface PeerContext {
  /** Public key (base64) → line where a peer first used it. */
  peerKeys: Map<string, number>;
  problem: Report;
}

/** One handler per `[Interface]` key: reads the value into the draft, throws on a bad value. */
const INTERFACE_HANDLERS: Record<string, (d: InterfaceDraft, value: string, n: number) => void> = {
  PrivateKey(d, value) {
    d.privateKey = parseWgKey(value, "PrivateKey");
  },
  Address(d, value) {
    for (const item of listItems(value, "Address")) {
      d.addresses.push(renamed(() => parsePrefix(item, { keepHostBits: true }), "Address"));
    }
  },
  ListenPort(d, value) {
    d.listenPort = parseIntIn(value, "ListenPort", 0, 65535); // 0: any free port, as wg(8)
  },
  MTU(d, value, n) {
    d.mtu = parseIntIn(value, "MTU", MIN_MTU_V4, MAX_MTU, {
      why: `; ${MIN_MTU_V4} is the smallest IPv4 datagram every host must accept (RFC 791)`,
    });
    d.mtuLine = n;
  },
  Table(d, value) {
    d.table = parseTable(value);
  },
  FwMark(d, value) {
    d.fwmark = parseFwMark(value);
  },
  DNS(d, value) {
    parseDnsInto(value, d.dns);
  },
};

/** One handler per `[Peer]` key: reads the value into the peer, throws on a bad value. */
const PEER_HANDLERS: Record<
  string,
  (p: PeerDraft, value: string, n: number, ctx: PeerContext) => void
> = {
  PublicKey(p, value, n, ctx) {
    const k = parseWgKey(value, "PublicKey");
    const first = ctx.peerKeys.get(value);
    if (first !== undefined) {
      ctx.problem(n, `Duplicate peer PublicKey (already used by the [Peer] on line ${first})`);
    } else {
      ctx.peerKeys.set(value, n);
    }
    p.publicKey = k;
  },
  PresharedKey(p, value) {
    p.presharedKey = parseWgKey(value, "PresharedKey");
  },
  AllowedIPs(p, value) {
    for (const item of listItems(value, "AllowedIPs")) {
      p.allowedIps.push(renamed(() => parsePrefix(item), "AllowedIPs"));
    }
  },
  Endpoint(p, value) {
    renamed(() => splitHostPort(value), "Endpoint");
    p.endpoint = value;
  },
  PersistentKeepalive(p, value) {
    p.persistentKeepalive = value.toLowerCase() === "off"
      ? 0
      : parseIntIn(value, "PersistentKeepalive", 0, 65535, { alt: `"off" or ` });
  },
};

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
  const parser = new WgQuickParser(file);
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) parser.line(i + 1, lines[i]);
  return parser.finish();
}

/** The line-by-line state of one parse: the section it is in and what it has read. */
class WgQuickParser {
  readonly #file: string;
  readonly #problems: ConfigProblem[] = [];
  readonly #unsupported: ConfigProblem[] = [];
  readonly #iface: InterfaceDraft = {
    privateKey: null,
    addresses: [],
    listenPort: null,
    mtu: null,
    mtuLine: 0,
    table: "auto",
    fwmark: 0,
    dns: { servers: [], search: [] },
    line: 0,
    seen: new Map(),
  };
  readonly #peers: PeerDraft[] = [];
  readonly #peerContext: PeerContext;
  #section: "none" | "interface" | "peer" | "unknown" = "none";
  #peer: PeerDraft | null = null;

  constructor(file: string) {
    this.#file = file;
    this.#peerContext = { peerKeys: new Map(), problem: this.#problem };
  }

  #problem: Report = (line, message) => {
    this.#problems.push({ file: this.#file, line, message });
  };

  /** Reads line `n` (1-based). */
  line(n: number, raw: string): void {
    const hash = raw.indexOf("#");
    const content = (hash >= 0 ? raw.slice(0, hash) : raw).trim();
    if (content === "") return;
    if (content.startsWith("[")) this.#header(n, content);
    else this.#assignment(n, content);
  }

  #header(n: number, content: string): void {
    const m = /^\[\s*([A-Za-z]+)\s*\]$/.exec(content);
    const name = m?.[1].toLowerCase();
    if (name === "interface") {
      this.#section = "interface";
      if (this.#iface.line === 0) this.#iface.line = n;
    } else if (name === "peer") {
      this.#section = "peer";
      this.#peer = {
        publicKey: null,
        presharedKey: null,
        allowedIps: [],
        endpoint: null,
        persistentKeepalive: 0,
        line: n,
        seen: new Map(),
      };
      this.#peers.push(this.#peer);
    } else {
      this.#section = "unknown";
      this.#problem(
        n,
        m
          ? `Unknown section [${m[1]}] (expected [Interface] or [Peer]); its lines are skipped`
          : `Malformed section header ${q(content)}`,
      );
    }
  }

  #assignment(n: number, content: string): void {
    const eq = content.indexOf("=");
    if (eq < 0) {
      this.#problem(n, `Line has no '=' (expected "Key = value"): ${q(content)}`);
      return;
    }
    const rawKey = content.slice(0, eq).trim();
    const value = content.slice(eq + 1).trim();
    if (rawKey === "") {
      this.#problem(n, "Missing key name before '='");
      return;
    }
    if (this.#section === "unknown") return;
    if (this.#section === "none") {
      this.#problem(n, `${rawKey} is outside a section (put it under [Interface] or [Peer])`);
      return;
    }
    if (this.#section === "interface") this.#interfaceKey(n, rawKey, value);
    else this.#peerKey(n, this.#peer!, rawKey, value);
  }

  #interfaceKey(n: number, rawKey: string, value: string): void {
    const lower = rawKey.toLowerCase();
    if (lower in UNSUPPORTED) {
      this.#unsupported.push({
        file: this.#file,
        line: n,
        message: `${UNSUPPORTED[lower]} is not supported by warren (ignored)`,
      });
      return;
    }
    const key = INTERFACE_KEYS[lower];
    if (key === undefined) {
      this.#problem(n, unknownKey(rawKey, "Interface"));
      return;
    }
    if (!firstTime(this.#iface.seen, key, n, this.#problem)) return;
    this.#handle(n, () => INTERFACE_HANDLERS[key](this.#iface, value, n));
  }

  #peerKey(n: number, p: PeerDraft, rawKey: string, value: string): void {
    const key = PEER_KEYS[rawKey.toLowerCase()];
    if (key === undefined) {
      this.#problem(n, unknownKey(rawKey, "Peer"));
      return;
    }
    if (!firstTime(p.seen, key, n, this.#problem)) return;
    this.#handle(n, () => PEER_HANDLERS[key](p, value, n, this.#peerContext));
  }

  /** Runs a key handler; a bad value becomes a problem on its line. */
  #handle(n: number, handler: () => void): void {
    try {
      handler();
    } catch (e) {
      this.#problem(n, (e as Error).message);
    }
  }

  /** The whole-file checks; the config, or every problem at once. */
  finish(): WgConfig {
    const d = this.#iface;
    if (d.line === 0) {
      this.#problem(0, "Missing [Interface] section");
    } else if (d.privateKey === null && !d.seen.has("PrivateKey")) {
      this.#problem(d.line, "[Interface] has no PrivateKey");
    }
    for (const p of this.#peers) {
      if (p.publicKey === null && !p.seen.has("PublicKey")) {
        this.#problem(p.line, "[Peer] has no PublicKey");
      }
    }
    const v6Address = d.addresses.some((a) => a.ip.length === 16);
    if (d.mtu !== null && d.mtu < MIN_MTU_V6 && v6Address) {
      this.#problem(
        d.mtuLine,
        `MTU ${d.mtu} is below ${MIN_MTU_V6}, the minimum IPv6 allows (RFC 8200), and an IPv6 Address is set`,
      );
    }
    if (this.#problems.length > 0) {
      this.#problems.sort((a, b) => a.line - b.line);
      throw new ConfigError(this.#problems);
    }
    return {
      privateKey: d.privateKey!,
      addresses: d.addresses,
      listenPort: d.listenPort,
      mtu: d.mtu,
      table: d.table,
      fwmark: d.fwmark,
      dns: d.dns,
      peers: this.#peers.map(({ seen: _seen, ...rest }) => ({
        ...rest,
        publicKey: rest.publicKey!,
      })),
      unsupported: this.#unsupported,
    };
  }
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

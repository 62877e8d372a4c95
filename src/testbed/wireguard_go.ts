/**
 * The reference peer: a Debian `wireguard-go` interface configured with
 * `wg`, inside a namespace, for interop tests and side-by-side benchmarks.
 *
 * @module
 */
import { type Netns, run, waitFor } from "./netns.ts";

/** Why wireguard-go can't be used here, or null if it can. */
export async function wireguardGoSupport(): Promise<string | null> {
  for (const tool of ["wireguard-go", "wg"]) {
    try {
      await run(["sh", "-c", `command -v ${tool}`]);
    } catch {
      return `${tool} is not installed (apt-get install wireguard-go wireguard-tools)`;
    }
  }
  return null;
}

/** What a wireguard-go interface is set up with. */
export interface WgGoConfig {
  /** Interface name; unique machine-wide because wireguard-go's UAPI socket dir is shared. */
  name: string;
  /** Base64 private key. */
  privateKey: string;
  /** UDP listen port. */
  listenPort: number;
  /** Addresses with prefix length. */
  addresses: string[];
  /** MTU (default 1420). */
  mtu?: number;
  /** Peers. */
  peers: {
    publicKey: string;
    allowedIps: string[];
    endpoint?: string;
    presharedKey?: string;
    /** Seconds between keepalives (`wg set … persistent-keepalive`). */
    persistentKeepalive?: number;
  }[];
}

/** A running wireguard-go interface. */
export class WireguardGo {
  /** The foreground wireguard-go process. */
  readonly proc: Deno.ChildProcess;
  /** The namespace it runs in. */
  readonly ns: Netns;
  /** Interface name. */
  readonly name: string;

  private constructor(proc: Deno.ChildProcess, ns: Netns, name: string) {
    this.proc = proc;
    this.ns = ns;
    this.name = name;
  }

  /** Starts wireguard-go in `ns` and configures it with `wg` and `ip`. */
  static async start(ns: Netns, cfg: WgGoConfig, dir: string): Promise<WireguardGo> {
    const proc = ns.spawn(["wireguard-go", "-f", cfg.name], { stdout: "null" });
    const wg = new WireguardGo(proc, ns, cfg.name);
    try {
      await waitFor(
        `wireguard-go ${cfg.name}`,
        async () => (await ns.exec(["ip", "link", "show", cfg.name], { check: false })).code === 0,
      );
      const keyFile = `${dir}/${cfg.name}.key`;
      await Deno.writeTextFile(keyFile, cfg.privateKey + "\n", { mode: 0o600 });
      await ns.exec([
        "wg",
        "set",
        cfg.name,
        "private-key",
        keyFile,
        "listen-port",
        `${cfg.listenPort}`,
      ]);
      for (const p of cfg.peers) {
        const args = [
          "wg",
          "set",
          cfg.name,
          "peer",
          p.publicKey,
          "allowed-ips",
          p.allowedIps.join(","),
        ];
        if (p.endpoint) args.push("endpoint", p.endpoint);
        if (p.persistentKeepalive) args.push("persistent-keepalive", `${p.persistentKeepalive}`);
        if (p.presharedKey) {
          const pskFile = `${dir}/${cfg.name}.psk`;
          await Deno.writeTextFile(pskFile, p.presharedKey + "\n", { mode: 0o600 });
          args.push("preshared-key", pskFile);
        }
        await ns.exec(args);
      }
      for (const a of cfg.addresses) await ns.exec(["ip", "addr", "add", a, "dev", cfg.name]);
      await ns.exec(["ip", "link", "set", cfg.name, "mtu", `${cfg.mtu ?? 1420}`, "up"]);
      for (const p of cfg.peers) {
        for (const r of p.allowedIps) {
          await ns.exec(["ip", "route", "replace", r, "dev", cfg.name]);
        }
      }
      return wg;
    } catch (e) {
      await wg.stop();
      throw e;
    }
  }

  /** `wg show NAME dump` parsed to the peers' latest handshake (Unix seconds). */
  async latestHandshakes(): Promise<Map<string, number>> {
    const out = (await this.ns.exec(["wg", "show", this.name, "latest-handshakes"])).stdout;
    const m = new Map<string, number>();
    for (const line of out.trim().split("\n")) {
      const [k, t] = line.split("\t");
      if (k) m.set(k, Number(t));
    }
    return m;
  }

  /** Stops the process (which removes the interface). */
  async stop(): Promise<void> {
    try {
      this.proc.kill("SIGTERM");
    } catch {
      // already gone
    }
    await this.proc.output().catch(() => {});
  }
}

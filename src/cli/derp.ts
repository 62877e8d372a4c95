/**
 * `warren tun derp`: run a DERP relay (plus STUN) that stock Tailscale clients can use.
 *
 * @module
 */

import { DerpServer } from "../derp/server.ts";
import { DerpHttpServer } from "../derp/http_server.ts";
import { type FfiTcpListener, listenPlainDerp } from "../derp/ffi_listener.ts";
import type { FfiTlsListener } from "../derp/ffi_tls_listener.ts";
import { MeshPeer, meshUrl } from "../derp/mesh.ts";
import { verifyClientUrl } from "../derp/verify_client.ts";
import { certPin, generateSelfSignedCert } from "../derp/selfsigned_cert.ts";
import { generateMetaCert, withMetaCert } from "../derp/meta_cert.ts";
import { unpem } from "../derp/der.ts";
import { PROTOCOL_VERSION } from "../derp/constants.ts";
import { loadOrCreateServerKey } from "../derp/server_key_file.ts";
import { BootstrapDns } from "../derp/bootstrap_dns.ts";
import { logUnhandledRejections } from "./foreground.ts";
import { StunServer } from "../stun/server.ts";
import { parseIp } from "../net/ip.ts";
import { formatNodePublic, generateNodePrivate } from "../key/node_key.ts";
import { DERP_USAGE, type DerpConfig, parseDerpFlags } from "./derp_flags.ts";

type Logf = (line: string) => void;

/** The certificate and key the relay serves, and the pin clients put in CertName. */
interface TlsMaterial {
  cert: string;
  key: string;
  pin: string;
}

/** The running pieces, shared by start-up, the status page and shutdown. */
interface Relay {
  server: DerpServer;
  http: DerpHttpServer;
  bootstrapDns: BootstrapDns;
  meshPeers: MeshPeer[];
  stun: StunServer | null;
  tls: TlsMaterial | null;
}

/** Prints a one-line usage error and returns exit code 2. */
function bad(msg: string): number {
  console.error(`warren tun derp: ${msg}`);
  return 2;
}

/**
 * Runs the DERP server until SIGINT/SIGTERM.
 *
 * @param argv the arguments after `tun derp`
 * @returns the process exit code: 0 after a clean stop, 1 on a start failure, 2 on bad flags
 */
export async function derpCommand(argv: string[]): Promise<number> {
  let cfg: DerpConfig | "help";
  try {
    cfg = await parseDerpFlags(argv);
  } catch (e) {
    return bad((e as Error).message);
  }
  if (cfg === "help") {
    console.log(DERP_USAGE);
    return 0;
  }
  const logf = relayLog(cfg.quiet);

  let privateKey: Uint8Array;
  try {
    privateKey = await loadIdentity(cfg, logf);
  } catch (e) {
    console.error(`warren tun derp: ${(e as Error).message}`);
    return 1;
  }
  let tls: TlsMaterial | null;
  try {
    tls = await loadTls(cfg, logf);
  } catch (e) {
    console.error(`warren tun derp: TLS setup failed: ${(e as Error).message}`);
    return 1;
  }
  const relay = buildRelay(cfg, privateKey, tls, logf);

  // Listen for signals before anything is printed, so an early Ctrl+C still stops cleanly.
  const signals = hookSignals();
  let listener: Deno.Listener | FfiTcpListener | FfiTlsListener;
  try {
    listener = await listen(cfg, relay, logf);
  } catch (e) {
    console.error(
      `warren tun derp: cannot listen on ${cfg.address} port ${cfg.port}: ${(e as Error).message}`,
    );
    await relay.server.close();
    signals.unhook();
    return 1;
  }
  const boundPort = (listener.addr as Deno.NetAddr).port;
  if (cfg.stun) {
    try {
      relay.stun = await listenStun(cfg, relay.server);
    } catch (e) {
      const why = (e as Error).message;
      console.error(`warren tun derp: cannot listen for STUN on udp port ${cfg.stunPort}: ${why}`);
      listener.close();
      await relay.server.close();
      signals.unhook();
      return 1;
    }
  }
  const serving = relay.http.serve(listener);
  void relay.bootstrapDns.start();
  printBanner(cfg, relay, boundPort);
  startMesh(cfg, relay, privateKey, boundPort, logf);

  const unhookRejections = logUnhandledRejections((l) => logf(`derp: ${l}`));
  await Promise.race([signals.stopped, serving.then(() => "listener closed")]);
  signals.unhook();
  await shutdown(relay, logf);
  unhookRejections();
  return 0;
}

/** Timestamped log lines on stderr; `quiet` drops per-client connects and disconnects. */
function relayLog(quiet: boolean): Logf {
  return (line: string) => {
    if (quiet && / (connected|disconnected)/.test(line) && !line.includes("mesh")) return;
    console.error(`${new Date().toISOString()} ${line}`);
  };
}

/** The server's private key: from `--key-file` (created if missing), else a fresh one. */
async function loadIdentity(cfg: DerpConfig, logf: Logf): Promise<Uint8Array> {
  if (cfg.serverKeyFile !== undefined) {
    const k = await loadOrCreateServerKey(cfg.serverKeyFile);
    if (k.created) logf(`derp: created server key file ${cfg.serverKeyFile}`);
    return k.privateKey;
  }
  logf("derp: no --key-file: using a fresh server key for this run");
  return generateNodePrivate();
}

/**
 * The TLS certificate: read from `--cert`/`--key`, or self-signed for
 * `--hostname` (written to those paths when they are given but absent);
 * null for plain HTTP.
 */
async function loadTls(cfg: DerpConfig, logf: Logf): Promise<TlsMaterial | null> {
  const { certFile, keyFile, hostname } = cfg;
  if (certFile !== undefined && keyFile !== undefined) {
    const exists = await Deno.stat(certFile).then(() => true, () => false);
    if (!exists && hostname !== undefined) {
      const c = await generateSelfSignedCert(hostname);
      await Deno.writeTextFile(certFile, c.certPem);
      await Deno.writeTextFile(keyFile, c.keyPem, { mode: 0o600 });
      await Deno.chmod(keyFile, 0o600);
      logf(`derp: wrote a self-signed certificate for ${hostname} to ${certFile}`);
      return { cert: c.certPem, key: c.keyPem, pin: c.pin };
    }
    const cert = await Deno.readTextFile(certFile);
    const key = await Deno.readTextFile(keyFile);
    return { cert, key, pin: `sha256-raw:${certPin(unpem(cert, "CERTIFICATE"))}` };
  }
  if (hostname !== undefined) {
    const c = await generateSelfSignedCert(hostname);
    logf("derp: generated a self-signed certificate for this run (pass --cert/--key to keep it)");
    return { cert: c.certPem, key: c.keyPem, pin: c.pin };
  }
  return null;
}

/** The DERP server and its HTTP front, not yet listening. */
function buildRelay(
  cfg: DerpConfig,
  privateKey: Uint8Array,
  tls: TlsMaterial | null,
  logf: Logf,
): Relay {
  const server = new DerpServer({
    privateKey,
    meshKey: cfg.meshKey,
    logf,
    verifyClient: cfg.verifyClientUrl ? verifyClientUrl(cfg.verifyClientUrl) : undefined,
  });
  const bootstrapDns = new BootstrapDns({
    published: cfg.bootstrapNames,
    unpublished: cfg.unpublishedNames,
    logf,
  });
  const http = new DerpHttpServer({
    server,
    maxConns: cfg.maxConns,
    acceptLimit: cfg.acceptLimit,
    bootstrapDns,
    logf,
    statusLines: () => [
      `STUN: ${relay.stun ? `udp port ${relay.stun.port}` : "off"}`,
      `TLS: ${relay.tls ? relay.tls.pin : "off"}`,
      ...relay.meshPeers.map((p) =>
        `mesh ${p.name}: ${p.connected ? "up" : "down"} (${p.remoteKeys} keys)`
      ),
    ],
  });
  const relay: Relay = { server, http, bootstrapDns, meshPeers: [], stun: null, tls };
  return relay;
}

/** A promise that settles on SIGINT/SIGTERM, and the way to stop listening for them. */
function hookSignals(): { stopped: Promise<string>; unhook: () => void } {
  let onSignal = () => {};
  const stopped = new Promise<string>((resolve) => {
    onSignal = () => resolve("signal");
  });
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  for (const s of signals) Deno.addSignalListener(s, onSignal);
  const unhook = () => {
    for (const s of signals) Deno.removeSignalListener(s, onSignal);
  };
  return { stopped, unhook };
}

/** The TCP listener: warren's own epoll sockets (plain or TLS), else Deno's. */
async function listen(
  cfg: DerpConfig,
  relay: Relay,
  logf: Logf,
): Promise<Deno.Listener | FfiTcpListener | FfiTlsListener> {
  const { address, port, keepAliveMs, userTimeoutMs } = cfg;
  const socket = {
    keepAlive: keepAliveMs > 0
      ? { idle: secs(keepAliveMs), interval: secs(keepAliveMs), count: 9 }
      : undefined,
    userTimeoutMs,
  };
  if (relay.tls) {
    // The meta certificate rides after the real chain so TLS 1.3 clients can fast-start.
    const chain = withMetaCert(
      relay.tls.cert,
      await generateMetaCert(relay.server.publicKey, PROTOCOL_VERSION),
    );
    // Imported here: a plain-HTTP relay does not load the TLS server.
    const { listenTlsDerp } = await import("../derp/ffi_tls_listener.ts");
    return listenTlsDerp(address, port, chain, relay.tls.key, logf, socket);
  }
  // Plain HTTP runs on our own epoll sockets (far less memory per idle client).
  return listenPlainDerp(address, port, logf, socket);
}

/** The STUN server beside the relay, counting into the relay's metrics. */
function listenStun(cfg: DerpConfig, server: DerpServer): Promise<StunServer> {
  return StunServer.listen({
    hostname: cfg.address,
    port: cfg.stunPort,
    onAnswer: () => server.metrics.stunRequests++,
    onIgnore: () => server.metrics.stunIgnored++,
  });
}

/** Tells the person where the relay is, and with TLS the DERPMap region to paste. */
function printBanner(cfg: DerpConfig, relay: Relay, boundPort: number): void {
  const { tls, stun, server } = relay;
  const scheme = tls ? "https" : "http";
  const shownHost = cfg.hostname ??
    (cfg.address === "::" || cfg.address === "0.0.0.0" ? "localhost" : cfg.address);
  console.log(`warren tun derp: serving ${scheme}://${hostPort(shownHost, boundPort)}/derp`);
  console.log(`warren tun derp: server key ${formatNodePublic(server.publicKey)}`);
  console.log(`warren tun derp: STUN ${stun ? `on udp port ${stun.port}` : "off"}`);
  if (tls) {
    console.log(`warren tun derp: certificate pin ${tls.pin}`);
    console.log('warren tun derp: DERPMap region (paste under "Regions"):');
    console.log(
      JSON.stringify({
        [String(cfg.regionId)]: regionJson(
          cfg.regionId,
          shownHost,
          tls.pin,
          boundPort,
          stun?.port ?? -1,
        ),
      }),
    );
  }
}

/** Connects to every `--mesh-with` server, over the scheme this relay itself serves. */
function startMesh(
  cfg: DerpConfig,
  relay: Relay,
  privateKey: Uint8Array,
  boundPort: number,
  logf: Logf,
): void {
  for (const entry of cfg.meshWith) {
    const url = meshUrl(entry, relay.tls ? "https" : "http", boundPort);
    relay.meshPeers.push(
      new MeshPeer({
        server: relay.server,
        privateKey,
        meshKey: cfg.meshKey!,
        url,
        certName: cfg.meshCertName,
        logf,
      }),
    );
  }
}

/** Stops accepting, tells clients to reconnect elsewhere, then closes everything. */
async function shutdown(relay: Relay, logf: Logf): Promise<void> {
  logf("derp: shutting down; telling clients to reconnect");
  relay.http.closeListeners();
  await Promise.all(relay.meshPeers.map((p) => p.close()));
  await relay.server.close({ reconnectInMs: 1000, tryForMs: 5_000 });
  relay.http.closeAll();
  relay.bootstrapDns.close();
  await relay.stun?.close();
  logf("derp: stopped");
}

/** Whole seconds, at least 1, for the kernel's keep-alive options. */
function secs(ms: number): number {
  return Math.max(1, Math.round(ms / 1000));
}

function hostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The DERPRegion JSON for this server, ready to paste into a DERPMap. */
function regionJson(
  regionId: number,
  hostname: string,
  pin: string,
  derpPort: number,
  stunPort: number,
): Record<string, unknown> {
  const node: Record<string, unknown> = {
    Name: `${regionId}a`,
    RegionID: regionId,
    HostName: hostname,
    CertName: pin,
  };
  try {
    const ip = parseIp(hostname);
    node[ip.length === 4 ? "IPv4" : "IPv6"] = hostname;
  } catch {
    // A DNS name: clients resolve it.
  }
  node.DERPPort = derpPort;
  node.STUNPort = stunPort;
  return {
    RegionID: regionId,
    RegionCode: "warren",
    RegionName: "warren DERP",
    Nodes: [node],
  };
}

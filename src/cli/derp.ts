/**
 * `warren tun derp`: run a DERP relay (plus STUN) that stock Tailscale clients can use.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { DerpServer } from "../derp/server.ts";
import { DerpHttpServer } from "../derp/http_server.ts";
import { type FfiTcpListener, listenPlainDerp } from "../derp/ffi_listener.ts";
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
import { DEFAULT_STUN_PORT } from "../stun/constants.ts";
import { parseIp } from "../net/ip.ts";
import { parseDurationMs } from "./duration.ts";
import { fromHex } from "../bytes/hex.ts";
import { formatNodePublic, generateNodePrivate, KEY_LEN } from "../key/node_key.ts";

const USAGE = `usage: warren tun derp [flags]

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

/** Prints a one-line usage error and returns exit code 2. */
function bad(msg: string): number {
  console.error(`warren tun derp: ${msg}`);
  return 2;
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

/**
 * Runs the DERP server until SIGINT/SIGTERM.
 *
 * @param argv the arguments after `tun derp`
 * @returns the process exit code: 0 after a clean stop, 1 on a start failure, 2 on bad flags
 */
export async function derpCommand(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
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
    });
  } catch (e) {
    return bad((e as Error).message.split("\n")[0]);
  }
  const v = parsed.values;
  if (v.help) {
    console.log(USAGE);
    return 0;
  }
  let port: number, stunPort: number, maxConns: number, regionId: number;
  try {
    port = intFlag(v.port, "port", 3340, 0, 65535);
    stunPort = intFlag(v["stun-port"], "stun-port", DEFAULT_STUN_PORT, 0, 65535);
    maxConns = intFlag(v["max-conns"], "max-conns", 65536, 1, 10_000_000);
    regionId = intFlag(v["region-id"], "region-id", 900, 1, 2 ** 53 - 1);
  } catch (e) {
    return bad((e as Error).message);
  }
  let acceptLimit: { perSecond: number; burst: number } | undefined;
  let keepAliveMs: number, userTimeoutMs: number;
  try {
    const limitText = v["accept-connection-limit"];
    if (limitText !== undefined) {
      const perSecond = Number(limitText);
      if (!(perSecond > 0) || !/^\d+(\.\d+)?$/.test(limitText)) {
        throw new RangeError(`--accept-connection-limit "${limitText}" is not a positive number`);
      }
      const burst = intFlag(v["accept-connection-burst"], "accept-connection-burst", 0, 1, 1e9) ||
        Math.max(1, Math.ceil(perSecond));
      acceptLimit = { perSecond, burst };
    } else if (v["accept-connection-burst"] !== undefined) {
      throw new RangeError("--accept-connection-burst needs --accept-connection-limit");
    }
    keepAliveMs = durationFlag(v["tcp-keepalive-time"], "tcp-keepalive-time", 600_000);
    userTimeoutMs = durationFlag(v["tcp-user-timeout"], "tcp-user-timeout", 15_000);
  } catch (e) {
    return bad((e as Error).message);
  }
  const names = (flag: "bootstrap-dns-names" | "unpublished-bootstrap-dns-names") =>
    (v[flag] ?? "").split(",").map((n) => n.trim()).filter((n) => n !== "");
  const bootstrapNames = names("bootstrap-dns-names");
  const unpublishedNames = names("unpublished-bootstrap-dns-names");
  for (const n of [...bootstrapNames, ...unpublishedNames]) {
    if (!/^[A-Za-z0-9.-]+$/.test(n)) {
      return bad(
        `bootstrap DNS name "${n}" is not a host name (rollout percentages are not supported)`,
      );
    }
  }
  const address = v.address ?? "::";
  if ((v.cert === undefined) !== (v.key === undefined)) {
    return bad("--cert and --key must be given together");
  }
  if (v["mesh-key"] !== undefined && v["mesh-key-file"] !== undefined) {
    return bad("give --mesh-key or --mesh-key-file, not both");
  }
  if (v.hostname !== undefined && !/^[A-Za-z0-9.:_-]+$/.test(v.hostname)) {
    return bad(`--hostname "${v.hostname}" is not a host name or IP address`);
  }
  if (v["verify-client-url"] !== undefined) {
    try {
      const u = new URL(v["verify-client-url"]);
      if (u.protocol !== "http:" && u.protocol !== "https:") throw new Error();
    } catch {
      return bad(`--verify-client-url "${v["verify-client-url"]}" is not an http(s) URL`);
    }
  }
  let meshKey: Uint8Array | undefined;
  try {
    let meshText = v["mesh-key"];
    if (v["mesh-key-file"] !== undefined) {
      meshText = (await Deno.readTextFile(v["mesh-key-file"])).trim();
    }
    if (meshText !== undefined) {
      if (!/^[0-9a-f]{64}$/.test(meshText)) {
        throw new SyntaxError("the mesh key must be 64 lowercase hex characters");
      }
      meshKey = fromHex(meshText, KEY_LEN);
    }
  } catch (e) {
    return bad((e as Error).message);
  }
  const meshWith = (v["mesh-with"] ?? "").split(",").map((s) => s.trim()).filter((s) => s);
  if (meshWith.length > 0 && !meshKey) {
    return bad("--mesh-with requires --mesh-key or --mesh-key-file");
  }

  const quiet = v.quiet ?? false;
  const logf = (line: string) => {
    if (quiet && / (connected|disconnected)/.test(line) && !line.includes("mesh")) return;
    console.error(`${new Date().toISOString()} ${line}`);
  };

  // Identity.
  let privateKey: Uint8Array;
  try {
    if (v["key-file"] !== undefined) {
      const k = await loadOrCreateServerKey(v["key-file"]);
      privateKey = k.privateKey;
      if (k.created) logf(`derp: created server key file ${v["key-file"]}`);
    } else {
      privateKey = generateNodePrivate();
      logf("derp: no --key-file: using a fresh server key for this run");
    }
  } catch (e) {
    console.error(`warren tun derp: ${(e as Error).message}`);
    return 1;
  }

  // TLS material.
  let tls: { cert: string; key: string; pin: string } | null = null;
  try {
    if (v.cert !== undefined && v.key !== undefined) {
      const exists = await Deno.stat(v.cert).then(() => true, () => false);
      if (!exists && v.hostname !== undefined) {
        const c = await generateSelfSignedCert(v.hostname);
        await Deno.writeTextFile(v.cert, c.certPem);
        await Deno.writeTextFile(v.key, c.keyPem, { mode: 0o600 });
        await Deno.chmod(v.key, 0o600);
        logf(`derp: wrote a self-signed certificate for ${v.hostname} to ${v.cert}`);
        tls = { cert: c.certPem, key: c.keyPem, pin: c.pin };
      } else {
        const cert = await Deno.readTextFile(v.cert);
        const key = await Deno.readTextFile(v.key);
        tls = { cert, key, pin: `sha256-raw:${certPin(unpem(cert, "CERTIFICATE"))}` };
      }
    } else if (v.hostname !== undefined) {
      const c = await generateSelfSignedCert(v.hostname);
      tls = { cert: c.certPem, key: c.keyPem, pin: c.pin };
      logf("derp: generated a self-signed certificate for this run (pass --cert/--key to keep it)");
    }
  } catch (e) {
    console.error(`warren tun derp: TLS setup failed: ${(e as Error).message}`);
    return 1;
  }

  const server = new DerpServer({
    privateKey,
    meshKey,
    logf,
    verifyClient: v["verify-client-url"] ? verifyClientUrl(v["verify-client-url"]) : undefined,
  });
  const meshPeers: MeshPeer[] = [];
  let stun: StunServer | null = null;
  const bootstrapDns = new BootstrapDns({
    published: bootstrapNames,
    unpublished: unpublishedNames,
    logf,
  });
  const http = new DerpHttpServer({
    server,
    maxConns,
    acceptLimit,
    bootstrapDns,
    logf,
    statusLines: () => [
      `STUN: ${stun ? `udp port ${stun.port}` : "off"}`,
      `TLS: ${tls ? tls.pin : "off"}`,
      ...meshPeers.map((p) =>
        `mesh ${p.name}: ${p.connected ? "up" : "down"} (${p.remoteKeys} keys)`
      ),
    ],
  });

  // Listen for signals before anything is printed, so an early Ctrl+C still stops cleanly.
  let onSignal = () => {};
  const stopped = new Promise<string>((resolve) => {
    onSignal = () => resolve("signal");
  });
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  for (const s of signals) Deno.addSignalListener(s, onSignal);
  const unhookSignals = () => {
    for (const s of signals) Deno.removeSignalListener(s, onSignal);
  };
  let listener: Deno.Listener | FfiTcpListener;
  try {
    // Plain HTTP runs on our own epoll sockets (far less memory per idle client).
    listener = tls
      ? Deno.listenTls({
        hostname: address,
        port,
        // The meta certificate rides after the real chain so TLS 1.3 clients can fast-start.
        cert: withMetaCert(tls.cert, await generateMetaCert(server.publicKey, PROTOCOL_VERSION)),
        key: tls.key,
      })
      : listenPlainDerp(address, port, logf, {
        keepAlive: keepAliveMs > 0
          ? { idle: secs(keepAliveMs), interval: secs(keepAliveMs), count: 9 }
          : undefined,
        userTimeoutMs,
      });
  } catch (e) {
    console.error(
      `warren tun derp: cannot listen on ${address} port ${port}: ${(e as Error).message}`,
    );
    await server.close();
    unhookSignals();
    return 1;
  }
  const boundPort = (listener.addr as Deno.NetAddr).port;
  if (!v["no-stun"]) {
    try {
      stun = await StunServer.listen({
        hostname: address,
        port: stunPort,
        onAnswer: () => server.metrics.stunRequests++,
        onIgnore: () => server.metrics.stunIgnored++,
      });
    } catch (e) {
      console.error(
        `warren tun derp: cannot listen for STUN on udp port ${stunPort}: ${(e as Error).message}`,
      );
      listener.close();
      await server.close();
      unhookSignals();
      return 1;
    }
  }
  const serving = http.serve(listener);
  void bootstrapDns.start();

  const scheme = tls ? "https" : "http";
  const shownHost = v.hostname ??
    (address === "::" || address === "0.0.0.0" ? "localhost" : address);
  console.log(`warren tun derp: serving ${scheme}://${hostPort(shownHost, boundPort)}/derp`);
  console.log(`warren tun derp: server key ${formatNodePublic(server.publicKey)}`);
  console.log(`warren tun derp: STUN ${stun ? `on udp port ${stun.port}` : "off"}`);
  if (tls) {
    console.log(`warren tun derp: certificate pin ${tls.pin}`);
    console.log('warren tun derp: DERPMap region (paste under "Regions"):');
    console.log(
      JSON.stringify({
        [String(regionId)]: regionJson(
          regionId,
          v.hostname ?? shownHost,
          tls.pin,
          boundPort,
          stun?.port ?? -1,
        ),
      }),
    );
  }

  for (const entry of meshWith) {
    const url = meshUrl(entry, tls ? "https" : "http", boundPort);
    meshPeers.push(
      new MeshPeer({
        server,
        privateKey,
        meshKey: meshKey!,
        url,
        certName: v["mesh-cert-name"],
        logf,
      }),
    );
  }

  const unhookRejections = logUnhandledRejections((l) => logf(`derp: ${l}`));
  await Promise.race([stopped, serving.then(() => "listener closed")]);
  unhookSignals();

  logf("derp: shutting down; telling clients to reconnect");
  http.closeListeners();
  await Promise.all(meshPeers.map((p) => p.close()));
  await server.close({ reconnectInMs: 1000, tryForMs: 5_000 });
  http.closeAll();
  bootstrapDns.close();
  await stun?.close();
  logf("derp: stopped");
  unhookRejections();
  return 0;
}

/** Whole seconds, at least 1, for the kernel's keep-alive options. */
function secs(ms: number): number {
  return Math.max(1, Math.round(ms / 1000));
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

/**
 * Counters of the DERP server and their Prometheus text form.
 *
 * @module
 */

/** Reasons a packet is dropped, as derper names them. */
export type DropReason =
  | "unknown_dest"
  | "unknown_dest_on_fwd"
  | "gone_disconnected"
  | "queue_head"
  | "queue_tail"
  | "write_error"
  | "dup_client";

const DROP_REASONS: DropReason[] = [
  "unknown_dest",
  "unknown_dest_on_fwd",
  "gone_disconnected",
  "queue_head",
  "queue_tail",
  "write_error",
  "dup_client",
];

/** Mutable counters; the server and its HTTP/STUN front ends add to them. */
export class DerpMetrics {
  /** TCP connections accepted. */
  accepts = 0;
  /** TCP connections open now (HTTP and DERP). */
  connections = 0;
  /** Connections refused because --max-conns was reached. */
  refusedMaxConns = 0;
  /** Connections closed at once by the accept rate limit. */
  refusedRateLimit = 0;
  /** DERP upgrades that asked for fast start (no HTTP response; key from the meta cert). */
  fastStarts = 0;
  /** Handshakes that failed, by reason. */
  handshakeFailures: Map<string, number> = new Map();
  /** Connections closed for a protocol error after the handshake. */
  protocolErrors = 0;
  /** Packets received from clients (SendPacket). */
  packetsRecv = 0;
  /** Bytes received in SendPacket payloads (packet bytes only). */
  bytesRecv = 0;
  /** Packets written to clients (RecvPacket). */
  packetsSent = 0;
  /** Bytes written in RecvPacket payloads (packet bytes only). */
  bytesSent = 0;
  /** Disco packets received. */
  packetsRecvDisco = 0;
  /** Packets handed to a mesh peer. */
  packetsForwardedOut = 0;
  /** Packets received from a mesh peer. */
  packetsForwardedIn = 0;
  /** Dropped packets by reason. */
  drops: Map<DropReason, number> = new Map(DROP_REASONS.map((r) => [r, 0]));
  /** Dropped bytes by reason. */
  dropBytes: Map<DropReason, number> = new Map(DROP_REASONS.map((r) => [r, 0]));
  /** PeerGone frames sent with reason Disconnected. */
  peerGoneDisconnected = 0;
  /** PeerGone frames sent with reason NotHere. */
  peerGoneNotHere = 0;
  /** Pings received. */
  pings = 0;
  /** Pongs sent. */
  pongs = 0;
  /** Keep-alives sent. */
  keepAlives = 0;
  /** Write deadline expiries. */
  writeTimeouts = 0;
  /** Unknown frames skipped. */
  unknownFrames = 0;
  /** Clients rejected by the admission controller. */
  verifyRejects = 0;
  /** STUN binding requests answered. */
  stunRequests = 0;
  /** STUN datagrams ignored (not a valid binding request). */
  stunIgnored = 0;

  /** Adds one drop. */
  drop(reason: DropReason, bytes: number): void {
    this.drops.set(reason, (this.drops.get(reason) ?? 0) + 1);
    this.dropBytes.set(reason, (this.dropBytes.get(reason) ?? 0) + bytes);
  }

  /** Adds one handshake failure. */
  handshakeFailure(reason: string): void {
    this.handshakeFailures.set(reason, (this.handshakeFailures.get(reason) ?? 0) + 1);
  }

  /** Total packets dropped over all reasons. */
  get totalDrops(): number {
    let n = 0;
    for (const v of this.drops.values()) n += v;
    return n;
  }

  /**
   * Renders Prometheus text exposition format 0.0.4.
   *
   * @param gauges point-in-time values the server computes (clients, mesh peers…)
   */
  toPrometheus(gauges: Record<string, number>): string {
    const out: string[] = [];
    const one = (name: string, type: string, help: string, value: number) => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, `${name} ${value}`);
    };
    one("derp_accepts_total", "counter", "TCP connections accepted.", this.accepts);
    one("derp_connections", "gauge", "TCP connections open now.", this.connections);
    one(
      "derp_refused_max_conns_total",
      "counter",
      "Connections refused at --max-conns.",
      this.refusedMaxConns,
    );
    one(
      "derp_refused_rate_limit_total",
      "counter",
      "Connections closed by --accept-connection-limit.",
      this.refusedRateLimit,
    );
    one(
      "derp_fast_starts_total",
      "counter",
      "DERP upgrades with Derp-Fast-Start (client had the key from the meta certificate).",
      this.fastStarts,
    );
    for (const [k, v] of Object.entries(gauges)) {
      one(`derp_${k}`, "gauge", `Current ${k.replaceAll("_", " ")}.`, v);
    }
    one("derp_packets_recv_total", "counter", "Packets received from clients.", this.packetsRecv);
    one("derp_bytes_recv_total", "counter", "Packet bytes received from clients.", this.bytesRecv);
    one("derp_packets_sent_total", "counter", "Packets sent to clients.", this.packetsSent);
    one("derp_bytes_sent_total", "counter", "Packet bytes sent to clients.", this.bytesSent);
    one(
      "derp_packets_recv_disco_total",
      "counter",
      "Disco packets received.",
      this.packetsRecvDisco,
    );
    one(
      "derp_packets_forwarded_out_total",
      "counter",
      "Packets forwarded to mesh peers.",
      this.packetsForwardedOut,
    );
    one(
      "derp_packets_forwarded_in_total",
      "counter",
      "Packets forwarded from mesh peers.",
      this.packetsForwardedIn,
    );
    out.push("# HELP derp_packets_dropped_total Packets dropped, by reason.");
    out.push("# TYPE derp_packets_dropped_total counter");
    for (const [r, v] of this.drops) out.push(`derp_packets_dropped_total{reason="${r}"} ${v}`);
    out.push("# HELP derp_bytes_dropped_total Packet bytes dropped, by reason.");
    out.push("# TYPE derp_bytes_dropped_total counter");
    for (const [r, v] of this.dropBytes) out.push(`derp_bytes_dropped_total{reason="${r}"} ${v}`);
    out.push("# HELP derp_handshake_failures_total Failed handshakes, by reason.");
    out.push("# TYPE derp_handshake_failures_total counter");
    for (const [r, v] of this.handshakeFailures) {
      out.push(`derp_handshake_failures_total{reason="${r}"} ${v}`);
    }
    one(
      "derp_protocol_errors_total",
      "counter",
      "Connections closed for protocol errors.",
      this.protocolErrors,
    );
    one(
      "derp_peer_gone_disconnected_total",
      "counter",
      "PeerGone(disconnected) frames sent.",
      this.peerGoneDisconnected,
    );
    one(
      "derp_peer_gone_not_here_total",
      "counter",
      "PeerGone(not here) frames sent.",
      this.peerGoneNotHere,
    );
    one("derp_pings_total", "counter", "Pings received.", this.pings);
    one("derp_pongs_total", "counter", "Pongs sent.", this.pongs);
    one("derp_keepalives_total", "counter", "Keep-alives sent.", this.keepAlives);
    one(
      "derp_write_timeouts_total",
      "counter",
      "Client write deadline expiries.",
      this.writeTimeouts,
    );
    one("derp_unknown_frames_total", "counter", "Unknown frames skipped.", this.unknownFrames);
    one(
      "derp_verify_rejects_total",
      "counter",
      "Clients rejected by admission control.",
      this.verifyRejects,
    );
    one("stun_requests_total", "counter", "STUN binding requests answered.", this.stunRequests);
    one("stun_ignored_total", "counter", "STUN datagrams ignored.", this.stunIgnored);
    return out.join("\n") + "\n";
  }
}

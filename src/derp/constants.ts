/**
 * DERP protocol constants (protocol doc §5). Each frame type carries its payload layout.
 *
 * @module
 */

/** `"DERP🔑"`: the 8-byte magic at the start of the ServerKey frame. */
export const MAGIC: Uint8Array = new Uint8Array([0x44, 0x45, 0x52, 0x50, 0xf0, 0x9f, 0x94, 0x91]);

/** DERP wire protocol version sent in ClientInfo/ServerInfo and `Derp-Version`. */
export const PROTOCOL_VERSION = 2;

/** Frame header: type u8 ‖ length u32 BE. */
export const FRAME_HEADER_LEN = 5;
/** Length of a node public key on the wire. */
export const KEY_LEN = 32;
/** Length of a NaCl box nonce. */
export const NONCE_LEN = 24;
/** Largest packet (data bytes) one SendPacket/RecvPacket may carry. */
export const MAX_PACKET_SIZE = 64 << 10;
/** Largest frame a client accepts from a server (derp.MaxInfoLen). */
export const MAX_CLIENT_FRAME_LEN = 1 << 20;
/** Largest ClientInfo frame a server accepts from a not-yet-trusted client. */
export const MAX_CLIENT_INFO_LEN = 256 << 10;
/** Largest frame the server reads from a client; bigger ones close the connection. */
export const MAX_SERVER_FRAME_LEN = 1 << 20;
/** Ping payloads the server accepts: 8 to 1000 bytes; it echoes the first 8. */
export const PING_LEN = 8;
/** Upper bound on a Ping frame body the server accepts. */
export const MAX_PING_LEN = 1000;

/** Frame types, one byte. */
export const FrameType = {
  /** S→C: magic(8) ‖ server public key(32) ‖ future bytes. */
  ServerKey: 0x01,
  /** C→S: client public key(32) ‖ nonce(24) ‖ box(JSON ClientInfo). */
  ClientInfo: 0x02,
  /** S→C: nonce(24) ‖ box(JSON ServerInfo). */
  ServerInfo: 0x03,
  /** C→S: destination key(32) ‖ packet. */
  SendPacket: 0x04,
  /** S→C: source key(32) ‖ packet (v2 format). */
  RecvPacket: 0x05,
  /** S→C: empty; a one-way keep-alive. */
  KeepAlive: 0x06,
  /** C→S: 1 byte, 0x01 if this is the client's home DERP, else 0x00. */
  NotePreferred: 0x07,
  /** S→C: peer key(32) ‖ reason(1, optional). */
  PeerGone: 0x08,
  /** S→C: key(32) ‖ IP(16, v4-mapped) ‖ port u16 BE ‖ flags(1). */
  PeerPresent: 0x09,
  /** mesh→S: source key(32) ‖ destination key(32) ‖ packet. */
  ForwardPacket: 0x0a,
  /** mesh C→S: empty; subscribe to PeerPresent/PeerGone for every client. */
  WatchConns: 0x10,
  /** mesh C→S: key(32) of a peer whose connections the server closes. */
  ClosePeer: 0x11,
  /** both: 8 bytes to be echoed in a Pong. */
  Ping: 0x12,
  /** both: the 8 bytes of the Ping being answered. */
  Pong: 0x13,
  /** S→C: UTF-8 problem text; empty clears it. */
  Health: 0x14,
  /** S→C: reconnectIn u32 BE ms ‖ tryFor u32 BE ms. */
  Restarting: 0x15,
} as const;

/** One of the known frame type bytes. */
export type FrameTypeValue = (typeof FrameType)[keyof typeof FrameType];

/** Reason byte of a PeerGone frame. */
export const PeerGoneReason = {
  /** The peer disconnected from this server (or the region). */
  Disconnected: 0x00,
  /** The server has no record of the peer (sent only in reply to disco). */
  NotHere: 0x01,
  /** Client-internal: a mesh watch connection broke; never on the wire. */
  MeshConnBroke: 0xf0,
} as const;

/** PeerPresent flag bits. */
export const PeerPresentFlags = {
  /** A regular client. */
  IsRegular: 0x01,
  /** A mesh peer (another DERP server). */
  IsMeshPeer: 0x02,
  /** A prober. */
  IsProber: 0x04,
  /** The client is not on its ideal (Nodes[0]) node. */
  NotIdeal: 0x08,
} as const;

/** Server keep-alive period; a random jitter in [0, KEEPALIVE_JITTER_MS) is added. */
export const KEEPALIVE_MS = 60_000;
/** Upper bound of the keep-alive jitter. */
export const KEEPALIVE_JITTER_MS = 5_000;
/** Time a new connection has to finish the HTTP request and the DERP handshake. */
export const HANDSHAKE_TIMEOUT_MS = 10_000;
/** A client treats this much silence from the server as a dead connection. */
export const CLIENT_READ_TIMEOUT_MS = 120_000;
/** Client overall connect timeout. */
export const CLIENT_CONNECT_TIMEOUT_MS = 10_000;
/** Time one node's TCP connect may take before the region's next node is tried (derphttp). */
export const DIAL_NODE_TIMEOUT_MS = 1500;
/** Packets buffered per client, separately for disco and other packets. */
export const PER_CLIENT_QUEUE_DEPTH = 32;
/** Write deadline towards a regular client. */
export const WRITE_TIMEOUT_MS = 2_000;
/** Write deadline towards a mesh peer. */
export const MESH_WRITE_TIMEOUT_MS = 30_000;
/** NotHere PeerGone replies per client: one per second, burst 3. */
export const PEER_GONE_NOT_HERE_PER_SEC = 1;
/** Burst for NotHere PeerGone replies. */
export const PEER_GONE_NOT_HERE_BURST = 3;
/** Timeout of a `--verify-client-url` admission request. */
export const VERIFY_CLIENT_TIMEOUT_MS = 5_000;

/** Request header asking the server to skip the 101 response. */
export const FAST_START_HEADER = "Derp-Fast-Start";
/** Request header naming the client's ideal node. */
export const IDEAL_NODE_HEADER = "Ideal-Node";
/** Captive-portal challenge request header on /generate_204. */
export const CHALLENGE_HEADER = "X-Tailscale-Challenge";
/** Captive-portal challenge response header. */
export const CHALLENGE_RESPONSE_HEADER = "X-Tailscale-Response";

// The server queues disco packets apart from others (derp's `LooksLikeDiscoWrapper`); the
// framing is disco's to define, so the check is disco's, re-exported for the server.
export { looksLikeDisco } from "../disco/codec.ts";

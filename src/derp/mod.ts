/**
 * DERP: frame codec, client, reconnecting link, server, HTTP front end, mesh
 * (protocol doc §5).
 *
 * @module
 */

export * from "./constants.ts";
export * from "./messages.ts";
export { decodeFrames, encodeFrame, type Frame, FrameReader, FrameTooLargeError } from "./frame.ts";
export { type DuplexConn, writeAll } from "./conn.ts";
export { DerpClient, type DerpClientOptions, type DerpMessage } from "./client.ts";
export { dialDerp, type DialOptions } from "./dial.ts";
export { backoffDelay, DerpLink, type DerpLinkOptions } from "./link.ts";
export { type AcceptOptions, DerpServer, type DerpServerOptions } from "./server.ts";
export type { VerifyClient } from "./server_handshake.ts";
export type { PacketForwarder } from "./server_registry.ts";
export { type DerpHttpOptions, DerpHttpServer } from "./http_server.ts";
export { MeshPeer, type MeshPeerOptions, meshUrl } from "./mesh.ts";
export { DerpMetrics, type DropReason } from "./metrics.ts";
export { verifyClientUrl } from "./verify_client.ts";
export { certPin, generateSelfSignedCert, type SelfSignedCert } from "./selfsigned_cert.ts";
export { loadOrCreateServerKey, parseServerKey } from "./server_key_file.ts";

/**
 * controlbase: TS2021 framing, the Noise IK handshake (client and server)
 * and the encrypted record connection.
 *
 * @module
 */
export * from "./constants.ts";
export * from "./frame.ts";
export * from "./handshake.ts";
export * from "./record.ts";
export * from "./conn.ts";
export * from "./server.ts";

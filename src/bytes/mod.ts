/**
 * Byte-string helpers shared by every layer: hex and equality.
 *
 * @module
 */

export { bytesEqual, constantTimeEqual } from "./equal.ts";
export { fromHex, toHex } from "./hex.ts";

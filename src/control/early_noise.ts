/**
 * The EarlyNoise payload a TS2021 server sends before HTTP/2 (protocol doc
 * §2.5): `ff ff ff 54 53 ‖ len:u32 BE ‖ JSON {"nodeKeyChallenge":"chalpub:…"}`.
 * If the first 9 plaintext bytes lack the magic they are the start of the
 * HTTP/2 stream and must be replayed.
 *
 * @module
 */
import { bytesEqual } from "../bytes/equal.ts";
import type { EarlyNoise } from "../netmap/tailcfg.ts";
import type { NoiseConn } from "./controlbase/conn.ts";

/** The 5-byte magic `"\xff\xff\xffTS"`. */
export const EARLY_PAYLOAD_MAGIC: Uint8Array = Uint8Array.of(0xff, 0xff, 0xff, 0x54, 0x53);
/** Magic + u32 length. */
export const EARLY_PAYLOAD_HEADER_LEN = 9;
/** Largest JSON body accepted. */
export const EARLY_PAYLOAD_MAX_LEN = 10 << 20;

/**
 * Encodes an early payload.
 *
 * @example
 * ```ts
 * encodeEarlyPayload({ nodeKeyChallenge: "chalpub:" + "0".repeat(64) }).length; // 9 + 95
 * ```
 */
export function encodeEarlyPayload(early: EarlyNoise): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(early));
  const out = new Uint8Array(EARLY_PAYLOAD_HEADER_LEN + json.length);
  out.set(EARLY_PAYLOAD_MAGIC);
  new DataView(out.buffer).setUint32(5, json.length);
  out.set(json, EARLY_PAYLOAD_HEADER_LEN);
  return out;
}

/** Reports whether 9 header bytes start with the early-payload magic. */
function hasEarlyMagic(header: Uint8Array): boolean {
  return bytesEqual(header.subarray(0, EARLY_PAYLOAD_MAGIC.length), EARLY_PAYLOAD_MAGIC);
}

/**
 * Reads the optional early payload from a fresh connection. Returns it, or
 * null after putting the 9 peeked bytes back for the HTTP/2 reader.
 *
 * @throws {RangeError} if the announced length exceeds 10 MiB
 * @throws {SyntaxError} if the JSON does not parse or is not an object
 */
export async function readEarlyPayload(conn: NoiseConn): Promise<EarlyNoise | null> {
  const header = await conn.readExact(EARLY_PAYLOAD_HEADER_LEN);
  if (!hasEarlyMagic(header)) {
    conn.unread(header);
    return null;
  }
  const len = new DataView(header.buffer, header.byteOffset).getUint32(5);
  if (len > EARLY_PAYLOAD_MAX_LEN) {
    throw new RangeError(`control: early payload of ${len} bytes exceeds the 10 MiB limit`);
  }
  const body = await conn.readExact(len);
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(body));
  } catch (err) {
    throw new SyntaxError(`control: early payload is not JSON`, { cause: err });
  }
  // `null`, a number or an array parses too, but is no EarlyNoise (null would also read as
  // "no early payload" with its bytes consumed).
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new SyntaxError(`control: early payload is not a JSON object`);
  }
  return value as EarlyNoise;
}

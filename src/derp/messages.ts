/**
 * Payload codecs for every DERP frame type (protocol doc §5.3, §5.4).
 *
 * Encoders return a whole frame (header included) ready to write; decoders take
 * a frame payload and return views into it.
 *
 * @module
 */

import { encodeFrame } from "./frame.ts";
import { FrameType, KEY_LEN, MAGIC, MAX_PING_LEN, PING_LEN } from "./constants.ts";
import {
  BOX_NONCE_LEN,
  boxBeforeNm,
  boxOpenAfterNm,
  boxSealAfterNm,
  openFrom,
  sealTo,
} from "../crypto/nacl_box.ts";
import { fromHex, toHex } from "../bytes/hex.ts";
import { isZeroKey } from "../key/node_key.ts";

const enc = new TextEncoder();
const dec = new TextDecoder("utf-8", { fatal: true });

/** What a client tells the server about itself (Go's `derp.ClientInfo`). */
export interface ClientInfo {
  /** Protocol version; 2 today. */
  version?: number;
  /** Mesh pre-shared key (32 bytes), only for trusted mesh peers. */
  meshKey?: Uint8Array;
  /** Whether the client answers server pings. */
  CanAckPings?: boolean;
  /** Whether the client is a prober. */
  IsProber?: boolean;
  /** Opaque application name for stats. */
  AppName?: string;
}

/** What the server tells a client after the handshake (Go's `derp.ServerInfo`). */
export interface ServerInfo {
  /** Protocol version; 2 today. */
  version?: number;
  /** Requested client send rate; 0/absent is unlimited. */
  TokenBucketBytesPerSecond?: number;
  /** Requested client send burst. */
  TokenBucketBytesBurst?: number;
}

/** A decoded PeerPresent payload. */
export interface PeerPresent {
  /** The peer's node key. */
  key: Uint8Array;
  /** The peer's address as seen by its server, or undefined from old servers. */
  ip?: Uint8Array;
  /** The peer's port. */
  port?: number;
  /** PeerPresent flag bits; 0 from old servers. */
  flags: number;
}

/** A decoded ForwardPacket payload. */
export interface ForwardedPacket {
  /** Original sender's key. */
  src: Uint8Array;
  /** Destination key. */
  dst: Uint8Array;
  /** Packet bytes. */
  packet: Uint8Array;
}

/**
 * Serialises ClientInfo JSON with Go's field order and omit rules:
 * `meshKey` (omitted when zero), `version` (omitempty), `CanAckPings`, `IsProber`
 * and `AppName` (omitempty).
 */
export function clientInfoJson(info: ClientInfo): string {
  const o: Record<string, unknown> = {};
  if (info.meshKey && !isZeroKey(info.meshKey)) o.meshKey = toHex(info.meshKey);
  if (info.version) o.version = info.version;
  o.CanAckPings = info.CanAckPings ?? false;
  if (info.IsProber) o.IsProber = true;
  if (info.AppName) o.AppName = info.AppName;
  return JSON.stringify(o);
}

/**
 * Parses ClientInfo JSON. Keys match case-insensitively, as Go's decoder does.
 *
 * @throws {SyntaxError} on bad JSON or wrongly typed fields
 */
export function parseClientInfoJson(text: string): ClientInfo {
  const o = parseObject(text, "ClientInfo");
  const info: ClientInfo = {};
  for (const [k, v] of Object.entries(o)) {
    switch (k.toLowerCase()) {
      case "meshkey":
        if (typeof v !== "string") throw new SyntaxError("ClientInfo meshKey must be a string");
        if (v !== "") info.meshKey = fromHex(v, KEY_LEN);
        break;
      case "version":
        if (typeof v !== "number") throw new SyntaxError("ClientInfo version must be a number");
        info.version = v;
        break;
      case "canackpings":
        if (typeof v !== "boolean") throw new SyntaxError("ClientInfo CanAckPings must be a bool");
        info.CanAckPings = v;
        break;
      case "isprober":
        if (typeof v !== "boolean") throw new SyntaxError("ClientInfo IsProber must be a bool");
        info.IsProber = v;
        break;
      case "appname":
        if (typeof v !== "string") throw new SyntaxError("ClientInfo AppName must be a string");
        info.AppName = v;
        break;
    }
  }
  return info;
}

/** Serialises ServerInfo JSON as derper does (`{"version":2}` plus non-zero buckets). */
export function serverInfoJson(info: ServerInfo): string {
  const o: Record<string, unknown> = {};
  if (info.version) o.version = info.version;
  if (info.TokenBucketBytesPerSecond) o.TokenBucketBytesPerSecond = info.TokenBucketBytesPerSecond;
  if (info.TokenBucketBytesBurst) o.TokenBucketBytesBurst = info.TokenBucketBytesBurst;
  return JSON.stringify(o);
}

/**
 * Parses ServerInfo JSON.
 *
 * @throws {SyntaxError} on bad JSON
 */
export function parseServerInfoJson(text: string): ServerInfo {
  const o = parseObject(text, "ServerInfo");
  const info: ServerInfo = {};
  for (const [k, v] of Object.entries(o)) {
    if (typeof v !== "number") continue;
    switch (k.toLowerCase()) {
      case "version":
        info.version = v;
        break;
      case "tokenbucketbytespersecond":
        info.TokenBucketBytesPerSecond = v;
        break;
      case "tokenbucketbytesburst":
        info.TokenBucketBytesBurst = v;
        break;
    }
  }
  return info;
}

function parseObject(text: string, what: string): Record<string, unknown> {
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch (e) {
    throw new SyntaxError(`Cannot parse ${what} JSON: ${(e as Error).message}`);
  }
  if (o === null || typeof o !== "object" || Array.isArray(o)) {
    throw new SyntaxError(`Cannot parse ${what} JSON: not an object`);
  }
  return o as Record<string, unknown>;
}

/** ServerKey frame: magic ‖ server public key. */
export function encodeServerKey(serverPublic: Uint8Array): Uint8Array {
  checkKey(serverPublic, "server key");
  const p = new Uint8Array(MAGIC.length + KEY_LEN);
  p.set(MAGIC);
  p.set(serverPublic, MAGIC.length);
  return encodeFrame(FrameType.ServerKey, p);
}

/**
 * Decodes a ServerKey payload to the server public key (extra trailing bytes allowed).
 *
 * @throws {SyntaxError} on short payload or bad magic
 */
export function decodeServerKey(payload: Uint8Array): Uint8Array {
  if (payload.length < MAGIC.length + KEY_LEN) {
    throw new SyntaxError(`DERP ServerKey payload is ${payload.length} bytes, want at least 40`);
  }
  for (let i = 0; i < MAGIC.length; i++) {
    if (payload[i] !== MAGIC[i]) throw new SyntaxError("DERP ServerKey has bad magic");
  }
  return payload.slice(MAGIC.length, MAGIC.length + KEY_LEN);
}

/** ClientInfo frame: client public key ‖ nonce ‖ box(JSON) sealed to the server key. */
export function encodeClientInfo(
  info: ClientInfo,
  clientPublic: Uint8Array,
  clientPrivate: Uint8Array,
  serverPublic: Uint8Array,
): Uint8Array {
  checkKey(clientPublic, "client key");
  const sealed = sealTo(enc.encode(clientInfoJson(info)), serverPublic, clientPrivate);
  const p = new Uint8Array(KEY_LEN + sealed.length);
  p.set(clientPublic);
  p.set(sealed, KEY_LEN);
  return encodeFrame(FrameType.ClientInfo, p);
}

/**
 * Opens a ClientInfo payload with the server's private key. Also returns the box key of the
 * pair, so the ServerInfo reply ({@link encodeServerInfoWithKey}) needs no second X25519.
 *
 * @throws {SyntaxError} if it is short, the box does not open, or the JSON is wrong
 */
export function decodeClientInfo(
  payload: Uint8Array,
  serverPrivate: Uint8Array,
): { clientPublic: Uint8Array; info: ClientInfo; boxKey: Uint8Array } {
  if (payload.length < KEY_LEN + BOX_NONCE_LEN + 16) {
    throw new SyntaxError(`DERP ClientInfo payload is ${payload.length} bytes, too short`);
  }
  const clientPublic = payload.slice(0, KEY_LEN);
  let boxKey: Uint8Array;
  try {
    boxKey = boxBeforeNm(clientPublic, serverPrivate);
  } catch {
    // A low-order public key makes X25519 fail.
    throw new SyntaxError("DERP ClientInfo box does not open with the client key");
  }
  const msg = boxOpenAfterNm(
    payload.subarray(KEY_LEN + BOX_NONCE_LEN),
    payload.subarray(KEY_LEN, KEY_LEN + BOX_NONCE_LEN),
    boxKey,
  );
  if (msg === null) throw new SyntaxError("DERP ClientInfo box does not open with the client key");
  let text: string;
  try {
    text = dec.decode(msg);
  } catch {
    throw new SyntaxError("DERP ClientInfo is not UTF-8");
  }
  return { clientPublic, info: parseClientInfoJson(text), boxKey };
}

/** ServerInfo frame: nonce ‖ box(JSON) sealed to the client key. */
export function encodeServerInfo(
  info: ServerInfo,
  serverPrivate: Uint8Array,
  clientPublic: Uint8Array,
): Uint8Array {
  return encodeServerInfoWithKey(info, boxBeforeNm(clientPublic, serverPrivate));
}

/** ServerInfo frame sealed with the pair's box key (as {@link decodeClientInfo} returns it). */
export function encodeServerInfoWithKey(info: ServerInfo, boxKey: Uint8Array): Uint8Array {
  const msg = enc.encode(serverInfoJson(info));
  const nonce = crypto.getRandomValues(new Uint8Array(BOX_NONCE_LEN));
  const box = boxSealAfterNm(msg, nonce, boxKey);
  const p = new Uint8Array(BOX_NONCE_LEN + box.length);
  p.set(nonce);
  p.set(box, BOX_NONCE_LEN);
  return encodeFrame(FrameType.ServerInfo, p);
}

/**
 * Opens a ServerInfo payload with the client's private key.
 *
 * @throws {SyntaxError} if the box does not open or the JSON is wrong
 */
export function decodeServerInfo(
  payload: Uint8Array,
  clientPrivate: Uint8Array,
  serverPublic: Uint8Array,
): ServerInfo {
  const msg = openFrom(payload, serverPublic, clientPrivate);
  if (msg === null) throw new SyntaxError("DERP ServerInfo box does not open with the server key");
  let text: string;
  try {
    text = dec.decode(msg);
  } catch {
    throw new SyntaxError("DERP ServerInfo is not UTF-8");
  }
  return parseServerInfoJson(text);
}

/** A frame of a key followed by packet bytes (SendPacket or RecvPacket). */
function encodeKeyedPacket(type: number, key: Uint8Array, packet: Uint8Array): Uint8Array {
  checkKey(key, "packet key");
  const out = new Uint8Array(5 + KEY_LEN + packet.length);
  const len = KEY_LEN + packet.length;
  out[0] = type;
  out[1] = len >>> 24;
  out[2] = (len >>> 16) & 255;
  out[3] = (len >>> 8) & 255;
  out[4] = len & 255;
  out.set(key, 5);
  out.set(packet, 5 + KEY_LEN);
  return out;
}

/** SendPacket frame: destination key ‖ packet. */
export function encodeSendPacket(dst: Uint8Array, packet: Uint8Array): Uint8Array {
  return encodeKeyedPacket(FrameType.SendPacket, dst, packet);
}

/** RecvPacket frame: source key ‖ packet. */
export function encodeRecvPacket(src: Uint8Array, packet: Uint8Array): Uint8Array {
  return encodeKeyedPacket(FrameType.RecvPacket, src, packet);
}

/**
 * Splits a SendPacket or RecvPacket payload into key and packet (views).
 *
 * @throws {SyntaxError} if shorter than a key
 */
export function decodeKeyedPacket(payload: Uint8Array): { key: Uint8Array; packet: Uint8Array } {
  if (payload.length < KEY_LEN) {
    throw new SyntaxError(`DERP packet frame is ${payload.length} bytes, shorter than a key`);
  }
  return { key: payload.subarray(0, KEY_LEN), packet: payload.subarray(KEY_LEN) };
}

/** ForwardPacket frame: src ‖ dst ‖ packet. */
export function encodeForwardPacket(
  src: Uint8Array,
  dst: Uint8Array,
  packet: Uint8Array,
): Uint8Array {
  checkKey(src, "source key");
  checkKey(dst, "destination key");
  const p = new Uint8Array(2 * KEY_LEN + packet.length);
  p.set(src);
  p.set(dst, KEY_LEN);
  p.set(packet, 2 * KEY_LEN);
  return encodeFrame(FrameType.ForwardPacket, p);
}

/**
 * Decodes a ForwardPacket payload (views).
 *
 * @throws {SyntaxError} if shorter than two keys
 */
export function decodeForwardPacket(payload: Uint8Array): ForwardedPacket {
  if (payload.length < 2 * KEY_LEN) {
    throw new SyntaxError(`DERP ForwardPacket is ${payload.length} bytes, shorter than two keys`);
  }
  return {
    src: payload.subarray(0, KEY_LEN),
    dst: payload.subarray(KEY_LEN, 2 * KEY_LEN),
    packet: payload.subarray(2 * KEY_LEN),
  };
}

/** KeepAlive frame (empty). */
export function encodeKeepAlive(): Uint8Array {
  return encodeFrame(FrameType.KeepAlive, new Uint8Array(0));
}

/** WatchConns frame (empty). */
export function encodeWatchConns(): Uint8Array {
  return encodeFrame(FrameType.WatchConns, new Uint8Array(0));
}

/** ClosePeer frame: the key to close. */
export function encodeClosePeer(key: Uint8Array): Uint8Array {
  checkKey(key, "peer key");
  return encodeFrame(FrameType.ClosePeer, key);
}

/** NotePreferred frame: one byte. */
export function encodeNotePreferred(preferred: boolean): Uint8Array {
  return encodeFrame(FrameType.NotePreferred, new Uint8Array([preferred ? 1 : 0]));
}

/**
 * Decodes a NotePreferred payload (must be exactly 1 byte).
 *
 * @throws {SyntaxError} on any other length
 */
export function decodeNotePreferred(payload: Uint8Array): boolean {
  if (payload.length !== 1) {
    throw new SyntaxError(`DERP NotePreferred is ${payload.length} bytes, want 1`);
  }
  return payload[0] !== 0;
}

/** PeerGone frame: key ‖ reason. */
export function encodePeerGone(key: Uint8Array, reason: number): Uint8Array {
  checkKey(key, "peer key");
  const p = new Uint8Array(KEY_LEN + 1);
  p.set(key);
  p[KEY_LEN] = reason;
  return encodeFrame(FrameType.PeerGone, p);
}

/**
 * Decodes a PeerGone payload; a missing reason byte means Disconnected.
 *
 * @throws {SyntaxError} if shorter than a key
 */
export function decodePeerGone(payload: Uint8Array): { key: Uint8Array; reason: number } {
  if (payload.length < KEY_LEN) {
    throw new SyntaxError(`DERP PeerGone is ${payload.length} bytes, shorter than a key`);
  }
  return {
    key: payload.slice(0, KEY_LEN),
    reason: payload.length > KEY_LEN ? payload[KEY_LEN] : 0,
  };
}

/** PeerPresent frame: key ‖ IP(16, v4-mapped) ‖ port ‖ flags (51 bytes). */
export function encodePeerPresent(
  key: Uint8Array,
  ip16: Uint8Array,
  port: number,
  flags: number,
): Uint8Array {
  checkKey(key, "peer key");
  if (ip16.length !== 16) {
    throw new RangeError(`PeerPresent IP must be 16 bytes, got ${ip16.length}`);
  }
  const p = new Uint8Array(KEY_LEN + 16 + 2 + 1);
  p.set(key);
  p.set(ip16, KEY_LEN);
  p[KEY_LEN + 16] = port >> 8;
  p[KEY_LEN + 17] = port & 255;
  p[KEY_LEN + 18] = flags;
  return encodeFrame(FrameType.PeerPresent, p);
}

/**
 * Decodes a PeerPresent payload of any length an old or new server sends.
 *
 * @throws {SyntaxError} if shorter than a key
 */
export function decodePeerPresent(payload: Uint8Array): PeerPresent {
  if (payload.length < KEY_LEN) {
    throw new SyntaxError(`DERP PeerPresent is ${payload.length} bytes, shorter than a key`);
  }
  const m: PeerPresent = { key: payload.slice(0, KEY_LEN), flags: 0 };
  if (payload.length >= KEY_LEN + 18) {
    m.ip = payload.slice(KEY_LEN, KEY_LEN + 16);
    m.port = (payload[KEY_LEN + 16] << 8) | payload[KEY_LEN + 17];
    if (payload.length >= KEY_LEN + 19) m.flags = payload[KEY_LEN + 18];
  }
  return m;
}

/** Ping frame with 8 bytes of data. */
export function encodePing(data: Uint8Array): Uint8Array {
  return encodeFrame(FrameType.Ping, check8(data));
}

/** Pong frame with the 8 bytes being answered. */
export function encodePong(data: Uint8Array): Uint8Array {
  return encodeFrame(FrameType.Pong, check8(data));
}

/**
 * Decodes a Ping as the server does: 8 to 1000 bytes, the first 8 are the data.
 *
 * @throws {SyntaxError} on a short or overlong ping
 */
export function decodePing(payload: Uint8Array): Uint8Array {
  if (payload.length < PING_LEN || payload.length > MAX_PING_LEN) {
    throw new SyntaxError(`DERP Ping is ${payload.length} bytes, want 8 to 1000`);
  }
  return payload.slice(0, PING_LEN);
}

/**
 * Decodes a Pong (at least 8 bytes; the first 8 are the data).
 *
 * @throws {SyntaxError} on a short pong
 */
export function decodePong(payload: Uint8Array): Uint8Array {
  if (payload.length < PING_LEN) {
    throw new SyntaxError(`DERP Pong is ${payload.length} bytes, want 8`);
  }
  return payload.slice(0, PING_LEN);
}

/** Health frame carrying a problem text ("" clears). */
export function encodeHealth(problem: string): Uint8Array {
  return encodeFrame(FrameType.Health, enc.encode(problem));
}

/** Decodes a Health payload to its text. */
export function decodeHealth(payload: Uint8Array): string {
  return new TextDecoder().decode(payload);
}

/** Restarting frame: reconnectIn ms ‖ tryFor ms, both u32 BE. */
export function encodeRestarting(reconnectInMs: number, tryForMs: number): Uint8Array {
  const p = new Uint8Array(8);
  const v = new DataView(p.buffer);
  v.setUint32(0, reconnectInMs);
  v.setUint32(4, tryForMs);
  return encodeFrame(FrameType.Restarting, p);
}

/**
 * Decodes a Restarting payload.
 *
 * @throws {SyntaxError} if shorter than 8 bytes
 */
export function decodeRestarting(payload: Uint8Array): { reconnectInMs: number; tryForMs: number } {
  if (payload.length < 8) {
    throw new SyntaxError(`DERP Restarting is ${payload.length} bytes, want 8`);
  }
  const v = new DataView(payload.buffer, payload.byteOffset, payload.length);
  return { reconnectInMs: v.getUint32(0), tryForMs: v.getUint32(4) };
}

function check8(data: Uint8Array): Uint8Array {
  if (data.length !== PING_LEN) {
    throw new RangeError(`Ping data must be 8 bytes, got ${data.length}`);
  }
  return data;
}

function checkKey(key: Uint8Array, what: string): void {
  if (key.length !== KEY_LEN) {
    throw new RangeError(`DERP ${what} must be 32 bytes, got ${key.length}`);
  }
}

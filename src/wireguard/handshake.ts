/**
 * The WireGuard handshake (whitepaper §5.4.2–5.4.3): Noise IKpsk2 with
 * WireGuard's construction and identifier, framed into initiation and
 * response messages. Pure: ephemeral keys and the clock are injectable, and
 * nothing here touches peers, timers or sockets. mac1/mac2 are left zero for
 * `cookie.ts` to fill; replay (timestamp) and flood checks belong to the
 * caller, which knows the peer.
 *
 * @module
 */
import { constantTimeEqual } from "../bytes/equal.ts";
import { HandshakeState, type KeyPair } from "../noise/handshake_state.ts";
import {
  CONSTRUCTION,
  IDENTIFIER,
  MESSAGE_INITIATION_SIZE,
  MESSAGE_RESPONSE_SIZE,
  MessageType,
  TIMESTAMP_SIZE,
} from "./constants.ts";
import { parseMessageType } from "./messages.ts";
import { tai64n } from "./tai64n.ts";

/** A local static key pair. */
export interface StaticIdentity {
  /** 32-byte X25519 private key. */
  privateKey: Uint8Array;
  /** 32-byte X25519 public key. */
  publicKey: Uint8Array;
}

/** Transport keys for one session, oriented for the local side. */
export interface SessionKeys {
  /** Key for packets we send (32 bytes). */
  sendKey: Uint8Array;
  /** Key for packets we receive (32 bytes). */
  recvKey: Uint8Array;
}

/** What the initiator keeps between sending an initiation and receiving the response. */
export interface InitiatorState {
  /** Our session index, which the response's receiver field must echo. */
  localIndex: number;
  /** The responder's static public key. */
  remoteStatic: Uint8Array;
  /** When the initiation was created (ms), for the caller's timers. */
  createdAtMs: number;
  /** The Noise state after message 1; treat as opaque. */
  handshake: HandshakeState;
}

/** A decrypted, authenticated initiation, ready to answer. */
export interface ConsumedInitiation {
  /** The initiator's static public key: the caller looks the peer up by it. */
  remoteStatic: Uint8Array;
  /** The initiator's session index (our response's receiver, and cookie reply receiver). */
  remoteIndex: number;
  /** The decrypted TAI64N timestamp; the caller must check it is newer than the peer's last. */
  timestamp: Uint8Array;
  /** The Noise state after message 1; treat as opaque. */
  handshake: HandshakeState;
}

/** Options for {@link consumeInitiation}. */
export interface ConsumeInitiationOptions {
  /**
   * Called once the initiator's static key has been decrypted, before the
   * second DH: return null to reject an unknown peer (consumeInitiation then
   * returns null without further work), or the peer's cached DH(s, rs).
   */
  peer?: (remoteStatic: Uint8Array) => { precomputedStaticStatic?: Uint8Array } | null;
}

const IDENTIFIER_BYTES = new TextEncoder().encode(IDENTIFIER);
const ZERO_PSK = new Uint8Array(32);
const EMPTY = new Uint8Array(0);
// Noise payload offsets inside the messages: after type+sender, and type+sender+receiver.
const INITIATION_NOISE = [8, 116] as const;
const RESPONSE_NOISE = [12, 60] as const;

function newState(initiator: boolean, local: StaticIdentity, extra: {
  rs?: Uint8Array;
  e?: Uint8Array;
  precomputedStaticStatic?: Uint8Array | ((rs: Uint8Array) => Uint8Array | undefined);
}): HandshakeState {
  const s: KeyPair = { privateKey: local.privateKey, publicKey: local.publicKey };
  return new HandshakeState({
    pattern: "IKpsk2",
    protocolName: CONSTRUCTION,
    prologue: IDENTIFIER_BYTES,
    initiator,
    s,
    ...extra,
  });
}

/**
 * Builds a handshake initiation to `remoteStatic` (148 bytes, mac1/mac2 zero).
 *
 * @example
 * ```ts
 * import { generatePrivateKey, publicKeyFrom } from "../crypto/x25519.ts";
 * const id = (p = generatePrivateKey()) => ({ privateKey: p, publicKey: publicKeyFrom(p) });
 * const a = id(), b = id();
 * const { message } = createInitiation(a, b.publicKey, 1, Date.now());
 * console.assert(consumeInitiation(b, message)!.remoteIndex === 1);
 * ```
 */
export function createInitiation(
  local: StaticIdentity,
  remoteStatic: Uint8Array,
  localIndex: number,
  nowMs: number,
  opts: { ephemeralPrivate?: Uint8Array; precomputedStaticStatic?: Uint8Array } = {},
): { message: Uint8Array; state: InitiatorState } {
  const handshake = newState(true, local, {
    rs: remoteStatic,
    e: opts.ephemeralPrivate,
    precomputedStaticStatic: opts.precomputedStaticStatic,
  });
  const noise = handshake.writeMessage(tai64n(nowMs));
  const message = new Uint8Array(MESSAGE_INITIATION_SIZE);
  message[0] = MessageType.Initiation;
  new DataView(message.buffer).setUint32(4, localIndex, true);
  message.set(noise, INITIATION_NOISE[0]);
  return {
    message,
    state: { localIndex, remoteStatic: remoteStatic.slice(), createdAtMs: nowMs, handshake },
  };
}

/**
 * Decrypts an initiation addressed to `local`. Returns null when the message
 * is malformed, does not decrypt, or `opts.peer` rejects the initiator. Does
 * not check mac1/mac2, the timestamp's freshness, or flooding.
 */
export function consumeInitiation(
  local: StaticIdentity,
  message: Uint8Array,
  opts: ConsumeInitiationOptions = {},
): ConsumedInitiation | null {
  if (parseMessageType(message) !== MessageType.Initiation) return null;
  const lookup = opts.peer;
  const handshake = newState(false, local, {
    precomputedStaticStatic: lookup === undefined ? undefined : (rs) => {
      const peer = lookup(rs);
      if (peer === null) throw new UnknownPeer();
      return peer.precomputedStaticStatic;
    },
  });
  let timestamp: Uint8Array;
  try {
    timestamp = handshake.readMessage(message.subarray(...INITIATION_NOISE));
  } catch {
    return null;
  }
  if (timestamp.length !== TIMESTAMP_SIZE) return null;
  return {
    remoteStatic: handshake.remoteStatic!,
    remoteIndex: new DataView(message.buffer, message.byteOffset, 8).getUint32(4, true),
    timestamp,
    handshake,
  };
}

/**
 * Answers a consumed initiation (92 bytes, mac1/mac2 zero) and derives the
 * session keys. `psk` null means WireGuard's all-zero pre-shared key. Call at
 * most once per consumed initiation.
 */
export function createResponse(
  consumed: ConsumedInitiation,
  localIndex: number,
  psk: Uint8Array | null,
  opts: { ephemeralPrivate?: Uint8Array } = {},
): { message: Uint8Array; keys: SessionKeys } {
  const handshake = consumed.handshake;
  handshake.setPsk(psk ?? ZERO_PSK);
  if (opts.ephemeralPrivate !== undefined) handshake.setLocalEphemeral(opts.ephemeralPrivate);
  const noise = handshake.writeMessage(EMPTY);
  const message = new Uint8Array(MESSAGE_RESPONSE_SIZE);
  message[0] = MessageType.Response;
  const view = new DataView(message.buffer);
  view.setUint32(4, localIndex, true);
  view.setUint32(8, consumed.remoteIndex, true);
  message.set(noise, RESPONSE_NOISE[0]);
  const { send, recv } = handshake.split();
  return { message, keys: { sendKey: send, recvKey: recv } };
}

/**
 * Processes the response to our initiation. Returns the session keys plus
 * the responder's index, or null if the message is malformed, addressed to
 * another index, or does not authenticate (wrong PSK, wrong responder key,
 * tampering). `state` is left untouched on failure, so a forged response
 * cannot spoil a pending handshake. `local` must be the identity that
 * created `state`.
 */
export function consumeResponse(
  state: InitiatorState,
  message: Uint8Array,
  local: StaticIdentity,
  psk: Uint8Array | null,
): (SessionKeys & { remoteIndex: number }) | null {
  if (parseMessageType(message) !== MessageType.Response) return null;
  const view = new DataView(message.buffer, message.byteOffset, message.byteLength);
  if (view.getUint32(8, true) !== state.localIndex >>> 0) return null;
  if (!constantTimeEqual(local.publicKey, state.handshake.localStatic)) return null;
  const handshake = state.handshake.clone();
  try {
    handshake.setPsk(psk ?? ZERO_PSK);
    const payload = handshake.readMessage(message.subarray(...RESPONSE_NOISE));
    if (payload.length !== 0) return null;
  } catch {
    return null;
  }
  const { send, recv } = handshake.split();
  return { sendKey: send, recvKey: recv, remoteIndex: view.getUint32(4, true) };
}

class UnknownPeer extends Error {}

/**
 * The TS2021 Noise IK handshake (protocol doc §2.4) for both roles: the client
 * builds the 101-byte initiation and reads the 51-byte response; the server
 * opens an initiation and answers it. Pure: bytes in, bytes and keys out.
 *
 * @module
 */
import { HandshakeState } from "../../noise/handshake_state.ts";
import { publicKeyFrom } from "../../crypto/x25519.ts";
import {
  HEADER_LEN,
  INITIATION_HEADER_LEN,
  INITIATION_LEN,
  INITIATION_PAYLOAD_LEN,
  MSG_TYPE_ERROR,
  MSG_TYPE_INITIATION,
  MSG_TYPE_RESPONSE,
  PROLOGUE_PREFIX,
  RESPONSE_LEN,
  RESPONSE_PAYLOAD_LEN,
} from "./constants.ts";
import { encodeFrame, frameTypeName } from "./frame.ts";

/** Transport keys of one side of a finished handshake. */
export interface ConnKeys {
  /** Key this side encrypts with. */
  send: Uint8Array;
  /** Key this side decrypts with. */
  recv: Uint8Array;
  /** The Noise handshake hash (not used on the wire). */
  handshakeHash: Uint8Array;
}

/** The prologue both sides mix in: `"Tailscale Control Protocol v<version>"`. */
function prologueFor(version: number): Uint8Array {
  return new TextEncoder().encode(PROLOGUE_PREFIX + version);
}

/** The server refused the handshake with an error frame; `message` is an unauthenticated hint. */
export class HandshakeRefusedError extends Error {
  /** The server's error text. */
  readonly serverMessage: string;
  /** Wraps the server's error text. */
  constructor(serverMessage: string) {
    super(`controlbase: server refused the handshake: ${JSON.stringify(serverMessage)}`);
    this.name = "HandshakeRefusedError";
    this.serverMessage = serverMessage;
  }
}

/** A client handshake in flight: send `initiation`, then pass the server's response frame to `finish`. */
export interface ClientHandshake {
  /** The 101-byte initiation frame (header included). */
  initiation: Uint8Array;
  /** Processes the 51-byte response frame (or an error frame) and returns the keys. */
  finish(response: Uint8Array): ConnKeys;
}

function checkVersion(version: number): void {
  if (!Number.isInteger(version) || version < 0 || version > 0xffff) {
    throw new RangeError(`Cannot start TS2021 handshake: version ${version} does not fit in u16`);
  }
}

/**
 * Starts a client (initiator) handshake with the machine key against the
 * control server's Noise key, for protocol (capability) version `version`.
 *
 * @example
 * ```ts
 * import { generatePrivateKey, publicKeyFrom } from "../../crypto/x25519.ts";
 * const server = generatePrivateKey();
 * const hs = clientHandshake(generatePrivateKey(), publicKeyFrom(server), 113);
 * const accepted = acceptHandshake(server, hs.initiation);
 * const keys = hs.finish(accepted.response);
 * console.assert(keys.send.every((b, i) => b === accepted.keys.recv[i]));
 * ```
 */
export function clientHandshake(
  machinePrivateKey: Uint8Array,
  serverPublicKey: Uint8Array,
  version: number,
  ephemeralPrivateKey?: Uint8Array,
): ClientHandshake {
  checkVersion(version);
  const hs = new HandshakeState({
    pattern: "IK",
    initiator: true,
    prologue: prologueFor(version),
    s: { privateKey: machinePrivateKey, publicKey: publicKeyFrom(machinePrivateKey) },
    rs: serverPublicKey,
    e: ephemeralPrivateKey,
  });
  const payload = hs.writeMessage(new Uint8Array(0));
  const initiation = new Uint8Array(INITIATION_LEN);
  initiation[0] = version >>> 8;
  initiation[1] = version & 0xff;
  initiation[2] = MSG_TYPE_INITIATION;
  initiation[3] = INITIATION_PAYLOAD_LEN >>> 8;
  initiation[4] = INITIATION_PAYLOAD_LEN & 0xff;
  initiation.set(payload, INITIATION_HEADER_LEN);
  let done = false;
  return {
    initiation,
    finish(response: Uint8Array): ConnKeys {
      if (done) throw new Error("controlbase: handshake response already processed");
      if (response.length < HEADER_LEN) {
        throw new RangeError(
          `controlbase: handshake response of ${response.length} bytes is shorter than a header`,
        );
      }
      const type = response[0];
      const len = (response[1] << 8) | response[2];
      if (type === MSG_TYPE_ERROR) {
        throw new HandshakeRefusedError(
          new TextDecoder().decode(response.subarray(HEADER_LEN, HEADER_LEN + len)),
        );
      }
      if (type !== MSG_TYPE_RESPONSE) {
        throw new SyntaxError(
          `controlbase: expected a handshake response frame, got ${frameTypeName(type)}`,
        );
      }
      if (len !== RESPONSE_PAYLOAD_LEN || response.length !== RESPONSE_LEN) {
        throw new RangeError(
          `controlbase: handshake response has length ${len} (${response.length}-byte frame), want ${RESPONSE_PAYLOAD_LEN}`,
        );
      }
      try {
        hs.readMessage(response.subarray(HEADER_LEN));
      } catch (err) {
        throw new Error(
          "controlbase: handshake response did not authenticate (wrong server key?)",
          { cause: err },
        );
      }
      done = true;
      const { send, recv } = hs.split();
      return { send, recv, handshakeHash: hs.handshakeHash.slice() };
    },
  };
}

/** What the server learns from an accepted initiation. */
export interface AcceptedHandshake {
  /** The client's machine public key (authenticated). */
  machinePublicKey: Uint8Array;
  /** The protocol (capability) version from the initiation header. */
  version: number;
  /** The 51-byte response frame to send. */
  response: Uint8Array;
  /** Server-side transport keys. */
  keys: ConnKeys;
}

/** Reads the version field of an initiation frame without opening it. */
export function initiationVersion(initiation: Uint8Array): number {
  if (initiation.length < 2) {
    throw new RangeError(`controlbase: initiation of ${initiation.length} bytes has no version`);
  }
  return (initiation[0] << 8) | initiation[1];
}

/**
 * Server (responder) side: opens a client's 101-byte initiation with the
 * server's static private key and builds the response.
 *
 * @throws {RangeError} / {SyntaxError} for a malformed initiation, Error if it does not authenticate.
 * The message is safe to send back in an error frame (it never echoes input).
 */
export function acceptHandshake(
  serverPrivateKey: Uint8Array,
  initiation: Uint8Array,
  ephemeralPrivateKey?: Uint8Array,
): AcceptedHandshake {
  if (initiation.length !== INITIATION_LEN) {
    throw new RangeError(
      `controlbase: wrong handshake initiation size ${initiation.length}, want ${INITIATION_LEN}`,
    );
  }
  if (initiation[2] !== MSG_TYPE_INITIATION) {
    throw new SyntaxError(
      `controlbase: unexpected handshake message type ${initiation[2]}, want initiation`,
    );
  }
  const len = (initiation[3] << 8) | initiation[4];
  if (len !== INITIATION_PAYLOAD_LEN) {
    throw new RangeError(`controlbase: wrong handshake initiation length ${len}, want 96`);
  }
  const version = initiationVersion(initiation);
  const hs = new HandshakeState({
    pattern: "IK",
    initiator: false,
    prologue: prologueFor(version),
    s: { privateKey: serverPrivateKey, publicKey: publicKeyFrom(serverPrivateKey) },
    e: ephemeralPrivateKey,
  });
  try {
    hs.readMessage(initiation.subarray(INITIATION_HEADER_LEN));
  } catch (err) {
    throw new Error("controlbase: handshake initiation did not authenticate", { cause: err });
  }
  const response = encodeFrame(MSG_TYPE_RESPONSE, hs.writeMessage(new Uint8Array(0)));
  const { send, recv } = hs.split();
  return {
    machinePublicKey: hs.remoteStatic!.slice(),
    version,
    response,
    keys: { send, recv, handshakeHash: hs.handshakeHash.slice() },
  };
}

/**
 * mac1, mac2 and cookie replies (whitepaper §5.4.4–5.4.7), WireGuard's DoS
 * defence. Every handshake message ends in mac1 ‖ mac2:
 *
 * - mac1 = MAC(HASH("mac1----" ‖ receiver's static public), msg up to mac1),
 *   so a responder can drop garbage with one cheap hash before any DH;
 * - mac2 = MAC(cookie, msg up to mac2), present only once the sender holds a
 *   cookie; a responder under load answers messages without a valid mac2
 *   with a cookie reply instead of doing the handshake;
 * - cookie = MAC(secret, source IP ‖ port), with a random secret that rotates
 *   every COOKIE_REFRESH_TIME, sent encrypted with XChaCha20-Poly1305 under
 *   HASH("cookie--" ‖ responder's static public) and the triggering mac1 as
 *   associated data, so only the real initiator (who saw that mac1) can use it.
 *
 * MAC is keyed BLAKE2s with a 16-byte output. Pure apart from the random
 * secret and nonce; time is passed in.
 *
 * @module
 */
import { constantTimeEqual } from "../bytes/equal.ts";
import { xopen, xseal } from "../crypto/xaead.ts";
import { COOKIE_NONCE_SIZE, COOKIE_REFRESH_TIME, COOKIE_SIZE, LABEL_COOKIE } from "./constants.ts";
import { labelHash, mac, mac1Key, mac1Valid, macOffsets } from "./macs.ts";
import { decodeCookieReply, encodeCookieReply } from "./messages.ts";

/**
 * The responder side: verifies mac1/mac2 of handshake messages sent to us
 * and issues cookie replies.
 *
 * @example
 * ```ts
 * const pub = new Uint8Array(32).fill(1);
 * const gen = new CookieGenerator(pub), chk = new CookieChecker(pub);
 * const msg = new Uint8Array(148); msg[0] = 1;
 * gen.addMacs(msg, 0);
 * console.assert(chk.checkMac1(msg) && !chk.checkMac2(msg, new Uint8Array(6), 0));
 * ```
 */
export class CookieChecker {
  readonly #mac1Key: Uint8Array;
  readonly #cookieKey: Uint8Array;
  #secret = new Uint8Array(32);
  #secretSetMs = -Infinity;

  /** Keys the checker with our own static public key. */
  constructor(localPublic: Uint8Array) {
    this.#mac1Key = mac1Key(localPublic);
    this.#cookieKey = labelHash(LABEL_COOKIE, localPublic);
  }

  /** Whether mac1 of an initiation or response addressed to us is valid. */
  checkMac1(message: Uint8Array): boolean {
    return mac1Valid(this.#mac1Key, message);
  }

  /**
   * Whether mac2 is valid for a cookie we issued to `sourceAddr` under the
   * current secret. False once the secret is older than COOKIE_REFRESH_TIME
   * (the sender must fetch a new cookie). Check mac1 first.
   */
  checkMac2(message: Uint8Array, sourceAddr: Uint8Array, nowMs: number): boolean {
    const off = macOffsets(message);
    if (off === null || nowMs - this.#secretSetMs >= COOKIE_REFRESH_TIME) return false;
    const cookie = mac(this.#secret, sourceAddr);
    return constantTimeEqual(mac(cookie, message.subarray(0, off[1])), message.subarray(off[1]));
  }

  /**
   * Builds a 64-byte cookie reply to `message` (whose mac1 must already be
   * valid) from `sourceAddr`, rotating the secret when it is stale.
   * `receiverIndex` is the sender index of `message`.
   */
  createReply(
    message: Uint8Array,
    receiverIndex: number,
    sourceAddr: Uint8Array,
    nowMs: number,
  ): Uint8Array {
    const off = macOffsets(message);
    if (off === null) {
      throw new RangeError(
        `Cannot create cookie reply: ${message.length}-byte message is not an initiation or response`,
      );
    }
    if (nowMs - this.#secretSetMs >= COOKIE_REFRESH_TIME) {
      crypto.getRandomValues(this.#secret);
      this.#secretSetMs = nowMs;
    }
    const cookie = mac(this.#secret, sourceAddr);
    const nonce = crypto.getRandomValues(new Uint8Array(COOKIE_NONCE_SIZE));
    const encryptedCookie = xseal(this.#cookieKey, nonce, cookie, message.subarray(off[0], off[1]));
    return encodeCookieReply({ receiver: receiverIndex, nonce, encryptedCookie });
  }
}

/**
 * The sender side for one peer: writes mac1 (and mac2 while it holds a fresh
 * cookie) into outgoing handshake messages and accepts cookie replies.
 */
export class CookieGenerator {
  readonly #mac1Key: Uint8Array;
  readonly #cookieKey: Uint8Array;
  #cookie: Uint8Array = new Uint8Array(COOKIE_SIZE);
  #cookieSetMs = -Infinity;
  #lastMac1: Uint8Array | null = null;

  /** Keys the generator with the peer's static public key. */
  constructor(remotePublic: Uint8Array) {
    this.#mac1Key = mac1Key(remotePublic);
    this.#cookieKey = labelHash(LABEL_COOKIE, remotePublic);
  }

  /**
   * Fills mac1 and mac2 of an initiation or response in place. mac2 is the
   * cookie MAC while a cookie younger than COOKIE_REFRESH_TIME is held, else
   * zero. Remembers mac1 to authenticate the cookie reply it may provoke.
   */
  addMacs(message: Uint8Array, nowMs: number): void {
    const off = macOffsets(message);
    if (off === null) {
      throw new RangeError(
        `Cannot add macs: ${message.length}-byte message is not an initiation or response`,
      );
    }
    const mac1 = mac(this.#mac1Key, message.subarray(0, off[0]));
    message.set(mac1, off[0]);
    this.#lastMac1 = mac1;
    if (nowMs - this.#cookieSetMs < COOKIE_REFRESH_TIME) {
      message.set(mac(this.#cookie, message.subarray(0, off[1])), off[1]);
    } else {
      message.fill(0, off[1]);
    }
  }

  /**
   * Accepts a cookie reply to the last message we sent macs for; returns
   * false (and keeps any previous cookie) if it is malformed or does not
   * decrypt with that message's mac1. The caller matches the reply's receiver
   * index to this peer.
   */
  consumeReply(reply: Uint8Array, nowMs: number): boolean {
    const decoded = decodeCookieReply(reply);
    if (decoded === null || this.#lastMac1 === null) return false;
    const cookie = xopen(this.#cookieKey, decoded.nonce, decoded.encryptedCookie, this.#lastMac1);
    if (cookie === null) return false;
    this.#cookie = cookie;
    this.#cookieSetMs = nowMs;
    return true;
  }
}

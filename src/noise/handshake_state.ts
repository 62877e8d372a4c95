/**
 * Noise HandshakeState (Noise spec §5.3) for the two patterns warren speaks:
 * IK (Tailscale's TS2021 control channel) and IKpsk2 (WireGuard), with
 * X25519, ChaChaPoly and BLAKE2s.
 *
 * @module
 */
import { concatBytes } from "../bytes/concat.ts";
import { generatePrivateKey, publicKeyFrom, sharedSecret } from "../crypto/x25519.ts";
import { SymmetricState } from "./symmetric_state.ts";

/** Handshake patterns this module implements. */
export type NoisePattern = "IK" | "IKpsk2";

type Token = "e" | "s" | "ee" | "es" | "se" | "ss" | "psk";

// Both patterns pre-share the responder's static key ("<- s") and have two messages.
const PATTERNS: Record<NoisePattern, Token[][]> = {
  IK: [["e", "es", "s", "ss"], ["e", "ee", "se"]],
  IKpsk2: [["e", "es", "s", "ss"], ["e", "ee", "se", "psk"]],
};

const KEY_LEN = 32;
const TAG_LEN = 16;

/** An X25519 key pair. */
export interface KeyPair {
  /** 32-byte private key. */
  privateKey: Uint8Array;
  /** 32-byte public key. */
  publicKey: Uint8Array;
}

/** Options for {@link HandshakeState}. */
export interface HandshakeOptions {
  /** Which pattern to run. */
  pattern: NoisePattern;
  /** True on the side that sends the first message. */
  initiator: boolean;
  /** Prologue mixed into h before anything else (WireGuard's identifier, TS2021's version string). */
  prologue: Uint8Array;
  /** Local static key pair. */
  s: KeyPair;
  /** The responder's static public key; required for the initiator. */
  rs?: Uint8Array;
  /** Local ephemeral private key, for test vectors; generated when absent. */
  e?: Uint8Array;
  /** 32-byte pre-shared key for IKpsk2 (may also be set later with {@link HandshakeState.setPsk}). */
  psk?: Uint8Array;
  /** Protocol name to hash; defaults to `Noise_<pattern>_25519_ChaChaPoly_BLAKE2s`. */
  protocolName?: string;
  /**
   * DH(s, rs) computed earlier (WireGuard caches it per peer), or a function
   * that returns it for a remote static key once the responder learns it.
   */
  precomputedStaticStatic?: Uint8Array | ((remoteStatic: Uint8Array) => Uint8Array | undefined);
}

/**
 * One side of a Noise IK / IKpsk2 handshake. `writeMessage` and
 * `readMessage` alternate; after the second message `split()` yields the
 * transport keys. Any failure throws, after which the state must be dropped.
 *
 * @example
 * ```ts
 * import { generatePrivateKey, publicKeyFrom } from "../crypto/x25519.ts";
 * const kp = () => { const p = generatePrivateKey(); return { privateKey: p, publicKey: publicKeyFrom(p) }; };
 * const i = kp(), r = kp(), prologue = new Uint8Array(0);
 * const ini = new HandshakeState({ pattern: "IK", initiator: true, prologue, s: i, rs: r.publicKey });
 * const res = new HandshakeState({ pattern: "IK", initiator: false, prologue, s: r });
 * res.readMessage(ini.writeMessage(new Uint8Array(0)));
 * ini.readMessage(res.writeMessage(new Uint8Array(0)));
 * console.assert(ini.split().send.every((b, j) => b === res.split().recv[j]));
 * ```
 */
export class HandshakeState {
  #symmetric: SymmetricState;
  readonly #opts: HandshakeOptions;
  readonly #initiator: boolean;
  readonly #messages: Token[][];
  readonly #s: KeyPair;
  #e: KeyPair | null = null;
  #rs: Uint8Array | null;
  #re: Uint8Array | null = null;
  #psk: Uint8Array | null = null;
  readonly #hasPsk: boolean;
  readonly #precomputed: HandshakeOptions["precomputedStaticStatic"];
  #step = 0;

  /** Initializes the state: protocol name, prologue, then the pre-message `<- s`. */
  constructor(opts: HandshakeOptions) {
    const messages = PATTERNS[opts.pattern];
    if (messages === undefined) {
      throw new TypeError(`Cannot start Noise handshake: unsupported pattern ${opts.pattern}`);
    }
    checkKey("static private key", opts.s.privateKey);
    checkKey("static public key", opts.s.publicKey);
    if (opts.initiator && opts.rs === undefined) {
      throw new TypeError(
        "Cannot start Noise IK handshake: the initiator needs the responder's static key",
      );
    }
    if (opts.rs !== undefined) checkKey("remote static key", opts.rs);
    this.#opts = opts;
    this.#initiator = opts.initiator;
    this.#messages = messages;
    this.#s = opts.s;
    this.#rs = opts.rs ?? null;
    this.#hasPsk = opts.pattern.includes("psk");
    this.#precomputed = opts.precomputedStaticStatic;
    if (opts.psk !== undefined) this.setPsk(opts.psk);
    if (opts.e !== undefined) this.setLocalEphemeral(opts.e);
    this.#symmetric = new SymmetricState(
      opts.protocolName ?? `Noise_${opts.pattern}_25519_ChaChaPoly_BLAKE2s`,
    );
    this.#symmetric.mixHash(opts.prologue);
    this.#symmetric.mixHash(opts.initiator ? opts.rs! : opts.s.publicKey);
  }

  /** The symmetric state, exposed for callers that need `h` or `ck`. */
  get symmetric(): SymmetricState {
    return this.#symmetric;
  }

  /**
   * Returns an independent copy, so a caller can try an untrusted message on
   * the copy and keep this state if it fails.
   */
  clone(): HandshakeState {
    const c = new HandshakeState({ ...this.#opts, e: undefined, psk: undefined });
    c.#symmetric = this.#symmetric.clone();
    c.#e = this.#e;
    c.#rs = this.#rs;
    c.#re = this.#re;
    c.#psk = this.#psk;
    c.#step = this.#step;
    return c;
  }

  /** Sets the pre-shared key used by the `psk` token. */
  setPsk(psk: Uint8Array): void {
    checkKey("pre-shared key", psk);
    this.#psk = psk;
  }

  /** Fixes the local ephemeral private key (for test vectors); must precede the `e` token. */
  setLocalEphemeral(privateKey: Uint8Array): void {
    checkKey("ephemeral private key", privateKey);
    this.#e = { privateKey, publicKey: publicKeyFrom(privateKey) };
  }

  /** The local static public key. */
  get localStatic(): Uint8Array {
    return this.#s.publicKey;
  }

  /** The remote static public key, once known. */
  get remoteStatic(): Uint8Array | null {
    return this.#rs;
  }

  /** The remote ephemeral public key, once received. */
  get remoteEphemeral(): Uint8Array | null {
    return this.#re;
  }

  /** The local ephemeral key pair, once used. */
  get localEphemeral(): KeyPair | null {
    return this.#e;
  }

  /** The transcript hash h (the handshake hash once complete). */
  get handshakeHash(): Uint8Array {
    return this.#symmetric.h;
  }

  /** Whether both messages have been processed. */
  get isComplete(): boolean {
    return this.#step >= this.#messages.length;
  }

  /** Builds the next message (ours to send) carrying `payload`. */
  writeMessage(payload: Uint8Array): Uint8Array {
    const tokens = this.#turn(true);
    const parts: Uint8Array[] = [];
    const ss = this.#symmetric;
    for (const token of tokens) {
      switch (token) {
        case "e": {
          if (this.#e === null) this.setLocalEphemeral(generatePrivateKey());
          const pub = this.#e!.publicKey;
          parts.push(pub);
          ss.mixHash(pub);
          if (this.#hasPsk) ss.mixKey(pub);
          break;
        }
        case "s":
          parts.push(ss.encryptAndHash(this.#s.publicKey));
          break;
        case "psk":
          ss.mixKeyAndHash(this.#requirePsk());
          break;
        default:
          ss.mixKey(this.#dh(token));
      }
    }
    parts.push(ss.encryptAndHash(payload));
    this.#step++;
    return concatBytes(parts);
  }

  /** Processes the peer's next message and returns its payload; throws if it does not verify. */
  readMessage(message: Uint8Array): Uint8Array {
    const tokens = this.#turn(false);
    const ss = this.#symmetric;
    let off = 0;
    const take = (n: number, what: string): Uint8Array => {
      if (off + n > message.length) {
        throw new RangeError(
          `Noise message too short: ${message.length} bytes, need ${off + n} for ${what}`,
        );
      }
      const out = message.subarray(off, off + n);
      off += n;
      return out;
    };
    for (const token of tokens) {
      switch (token) {
        case "e": {
          const re = take(KEY_LEN, "ephemeral key").slice();
          this.#re = re;
          ss.mixHash(re);
          if (this.#hasPsk) ss.mixKey(re);
          break;
        }
        case "s": {
          const ct = take(KEY_LEN + (ss.hasKey() ? TAG_LEN : 0), "static key");
          this.#rs = ss.decryptAndHash(ct).slice();
          break;
        }
        case "psk":
          ss.mixKeyAndHash(this.#requirePsk());
          break;
        default:
          ss.mixKey(this.#dh(token));
      }
    }
    if (ss.hasKey() && message.length - off < TAG_LEN) {
      throw new RangeError(
        `Noise message too short: ${message.length} bytes leaves no payload tag`,
      );
    }
    const payload = ss.decryptAndHash(message.subarray(off));
    this.#step++;
    return payload;
  }

  /**
   * Returns the transport keys oriented for this side. Only valid once the
   * handshake is complete.
   */
  split(): { send: Uint8Array; recv: Uint8Array } {
    if (!this.isComplete) throw new Error("Cannot split Noise handshake: it is not complete");
    const [k1, k2] = this.#symmetric.split();
    return this.#initiator ? { send: k1, recv: k2 } : { send: k2, recv: k1 };
  }

  #turn(writing: boolean): Token[] {
    if (this.isComplete) throw new Error("Noise handshake already complete");
    // Message 0 is the initiator's, message 1 the responder's.
    const ours = (this.#step % 2 === 0) === this.#initiator;
    if (ours !== writing) {
      throw new Error(
        `Noise handshake out of order: cannot ${writing ? "write" : "read"} message ${
          this.#step + 1
        } as ${this.#initiator ? "initiator" : "responder"}`,
      );
    }
    return this.#messages[this.#step];
  }

  #requirePsk(): Uint8Array {
    if (this.#psk === null) throw new Error("Noise psk token reached but no pre-shared key is set");
    return this.#psk;
  }

  #dh(token: Token): Uint8Array {
    const e = this.#e, re = this.#re, rs = this.#rs, s = this.#s;
    const missing = (): never => {
      throw new Error(`Noise ${token} token reached without the keys it needs`);
    };
    switch (token) {
      case "ee":
        return sharedSecret(e?.privateKey ?? missing(), re ?? missing());
      case "es":
        return this.#initiator
          ? sharedSecret(e?.privateKey ?? missing(), rs ?? missing())
          : sharedSecret(s.privateKey, re ?? missing());
      case "se":
        return this.#initiator
          ? sharedSecret(s.privateKey, re ?? missing())
          : sharedSecret(e?.privateKey ?? missing(), rs ?? missing());
      case "ss": {
        const remote = rs ?? missing();
        const pre = typeof this.#precomputed === "function"
          ? this.#precomputed(remote)
          : this.#precomputed;
        return pre ?? sharedSecret(s.privateKey, remote);
      }
      default:
        throw new Error(`Noise token ${token} is not a DH`);
    }
  }
}

function checkKey(what: string, key: Uint8Array): void {
  if (!(key instanceof Uint8Array) || key.length !== KEY_LEN) {
    throw new RangeError(`Cannot use Noise ${what}: expected 32 bytes, got ${key?.length}`);
  }
}

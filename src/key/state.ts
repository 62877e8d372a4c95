/**
 * Persistent identity of a warren node: the machine key (the device, once
 * per install), the node key (the WireGuard key, rotated on re-auth or
 * expiry) and a stable BackendLogID, kept in a state directory as one JSON
 * file written atomically with mode 0600. `mem:` keeps it in memory only.
 *
 * The disco key is deliberately not here: it is regenerated at every start
 * (protocol doc §1) and pushed to control in the next map request.
 *
 * @module
 */
import { generatePrivateKey } from "../crypto/x25519.ts";
import { toHex } from "../bytes/hex.ts";
import { formatPrivate, generateNodePrivate, parsePrivate } from "./node_key.ts";
import { defaultStateDir } from "./state_dir.ts";

// Where it was first, for its callers that use the keys as well.
export { defaultStateDir };

/** File name of the state inside the state directory. */
export const STATE_FILE = "state.json";
/** The spec that keeps state in memory only. */
export const MEM_STATE = "mem:";

/** The persisted fields (private keys in `privkey:` text form). */
export interface StateFile {
  /** Format version. */
  version: 1;
  /** Machine private key. */
  machineKey: string;
  /** Current node private key. */
  nodeKey: string;
  /** Node key being replaced, kept until control accepts the new one. */
  oldNodeKey?: string;
  /** Stable random hex sent as Hostinfo.BackendLogID. */
  backendLogID: string;
  /** Other small values the daemon keeps (control URL, login name, …). */
  extra?: Record<string, unknown>;
}

/**
 * A node's keys and small persisted state.
 *
 * @example
 * ```ts
 * const s = await KeyState.open("mem:");
 * const { oldKey, newKey } = await s.rotateNodeKey();
 * console.assert(s.nodeKey === newKey && s.oldNodeKey === oldKey);
 * ```
 */
export class KeyState {
  #dir: string | null;
  #file: StateFile;

  private constructor(dir: string | null, file: StateFile) {
    this.#dir = dir;
    this.#file = file;
  }

  /**
   * Opens (creating if absent) the state in `spec`: a directory path, or
   * `mem:` for memory only. The same directory yields the same identity.
   *
   * @throws {SyntaxError} if the state file is corrupt (the message names the file)
   */
  static async open(spec: string = defaultStateDir()): Promise<KeyState> {
    if (spec === MEM_STATE) return new KeyState(null, freshState());
    const path = `${spec}/${STATE_FILE}`;
    let text: string | null = null;
    try {
      text = await Deno.readTextFile(path);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) {
        throw new Error(`Cannot read state file ${path}: ${(err as Error).message}`, {
          cause: err,
        });
      }
    }
    if (text === null) {
      const s = new KeyState(spec, freshState());
      await s.#save();
      return s;
    }
    return new KeyState(spec, parseState(text, path));
  }

  /** The state directory, or null for `mem:`. */
  get dir(): string | null {
    return this.#dir;
  }

  /** Machine private key. */
  get machineKey(): Uint8Array {
    return parsePrivate(this.#file.machineKey);
  }

  /** Current node private key. */
  get nodeKey(): Uint8Array {
    return parsePrivate(this.#file.nodeKey);
  }

  /** The node key being replaced, until {@link commitNodeKey}. */
  get oldNodeKey(): Uint8Array | null {
    return this.#file.oldNodeKey === undefined ? null : parsePrivate(this.#file.oldNodeKey);
  }

  /** Stable BackendLogID (64 hex). */
  get backendLogID(): string {
    return this.#file.backendLogID;
  }

  /** Reads an extra value. */
  getExtra<T = unknown>(name: string): T | undefined {
    return this.#file.extra?.[name] as T | undefined;
  }

  /** Sets (or with undefined, deletes) an extra value and saves. */
  async setExtra(name: string, value: unknown): Promise<void> {
    const extra = { ...this.#file.extra };
    if (value === undefined) delete extra[name];
    else extra[name] = value;
    this.#file = { ...this.#file, extra };
    await this.#save();
  }

  /**
   * Generates a fresh node key (for --force-reauth or key expiry) and saves
   * it, remembering the previous one as `oldNodeKey` so a crash before
   * registration finishes still re-registers with OldNodeKey. If a rotation
   * is already pending, its original old key is kept.
   */
  async rotateNodeKey(): Promise<{ oldKey: Uint8Array; newKey: Uint8Array }> {
    const oldText = this.#file.oldNodeKey ?? this.#file.nodeKey;
    const newKey = generateNodePrivate();
    this.#file = { ...this.#file, nodeKey: formatPrivate(newKey), oldNodeKey: oldText };
    await this.#save();
    return { oldKey: parsePrivate(oldText), newKey };
  }

  /** Forgets the old node key once control accepted the new one. */
  async commitNodeKey(): Promise<void> {
    if (this.#file.oldNodeKey === undefined) return;
    const { oldNodeKey: _, ...rest } = this.#file;
    this.#file = rest;
    await this.#save();
  }

  async #save(): Promise<void> {
    if (this.#dir === null) return;
    await Deno.mkdir(this.#dir, { recursive: true, mode: 0o700 });
    const path = `${this.#dir}/${STATE_FILE}`;
    const tmp = `${path}.tmp-${toHex(crypto.getRandomValues(new Uint8Array(6)))}`;
    try {
      // Created 0600 from the start so the keys are never readable by others.
      const f = await Deno.open(tmp, { write: true, createNew: true, mode: 0o600 });
      try {
        await f.write(new TextEncoder().encode(JSON.stringify(this.#file, null, 2) + "\n"));
        await f.sync();
      } finally {
        f.close();
      }
      await Deno.chmod(tmp, 0o600);
      await Deno.rename(tmp, path);
    } catch (err) {
      await Deno.remove(tmp).catch(() => {});
      throw new Error(`Cannot write state file ${path}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }
}

function freshState(): StateFile {
  return {
    version: 1,
    machineKey: formatPrivate(generatePrivateKey()),
    nodeKey: formatPrivate(generateNodePrivate()),
    backendLogID: toHex(crypto.getRandomValues(new Uint8Array(32))),
  };
}

function parseState(text: string, path: string): StateFile {
  let v: StateFile;
  try {
    v = JSON.parse(text);
  } catch {
    throw new SyntaxError(`Cannot parse state file ${path}: not JSON`);
  }
  if (v === null || typeof v !== "object" || v.version !== 1) {
    throw new SyntaxError(`Cannot parse state file ${path}: unknown format version`);
  }
  for (const k of ["machineKey", "nodeKey"] as const) {
    try {
      parsePrivate(String(v[k]));
    } catch {
      throw new SyntaxError(`Cannot parse state file ${path}: ${k} is not a privkey: key`);
    }
  }
  if (v.oldNodeKey !== undefined) {
    try {
      parsePrivate(String(v.oldNodeKey));
    } catch {
      throw new SyntaxError(`Cannot parse state file ${path}: oldNodeKey is not a privkey: key`);
    }
  }
  if (typeof v.backendLogID !== "string" || !/^[0-9a-f]{16,}$/.test(v.backendLogID)) {
    throw new SyntaxError(`Cannot parse state file ${path}: backendLogID is not hex`);
  }
  return v;
}

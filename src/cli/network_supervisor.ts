/**
 * The networks of one `tun up --config` process, kept in line with the file: the first start,
 * and every reload (SIGHUP) after it. A reload stops the networks the file no longer names or
 * names differently, then starts the new and the changed ones; a network whose settings did
 * not change is not touched, so its sessions, routes and LocalAPI socket live on. A network
 * the file still names but that is not running (it failed to start, or `tun down --network`
 * stopped it) is started again, as the file says it should be up.
 *
 * @module
 */
import type { NetworkConfig } from "../config/mod.ts";
import type { Stoppable } from "./foreground.ts";

/** What a reload does, by network name. */
export interface ReloadPlan {
  /** Running networks to stop: gone from the file, or changed. */
  stop: string[];
  /** Networks to start: new, changed, or named but not running. */
  start: NetworkConfig[];
  /** Running networks left alone. */
  keep: string[];
}

/**
 * A network's settings as one string, equal for equal settings whatever the order of the
 * keys in the file (object keys are sorted; byte arrays become lists).
 */
export function networkFingerprint(net: NetworkConfig): string {
  return JSON.stringify(net, (_key, value) => {
    if (value instanceof Uint8Array) return Array.from(value);
    if (value === null || typeof value !== "object" || Array.isArray(value)) return value;
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).sort(([a], [b]) => a < b ? -1 : 1),
    );
  });
}

/**
 * Plans a reload: `running` maps each running network's name to its fingerprint
 * ({@link networkFingerprint}), `next` is the file's networks in file order.
 */
export function planReload(
  running: ReadonlyMap<string, string>,
  next: readonly NetworkConfig[],
): ReloadPlan {
  const wanted = new Map(next.map((n) => [n.name, n]));
  const stop: string[] = [], keep: string[] = [];
  for (const [name, fingerprint] of running) {
    const net = wanted.get(name);
    if (net !== undefined && networkFingerprint(net) === fingerprint) keep.push(name);
    else stop.push(name);
  }
  const start = next.filter((n) => !keep.includes(n.name));
  return { stop, start, keep };
}

/** What one {@linkcode NetworkSupervisor.apply} did. */
export interface ApplyResult {
  /** Networks started. */
  started: string[];
  /** Networks stopped (removed or changed; the changed ones are also in `started` or `failed`). */
  stopped: string[];
  /** Networks left running untouched. */
  kept: string[];
  /** Networks that failed to start, with the reason. */
  failed: { name: string; reason: string }[];
}

interface Running {
  fingerprint: string;
  node: Stoppable;
}

/**
 * Runs networks by name. `done` settles once none is running after the first
 * {@linkcode apply} (the process then ends), or after {@linkcode stop}.
 */
export class NetworkSupervisor implements Stoppable {
  readonly #start: (net: NetworkConfig) => Promise<Stoppable>;
  readonly #running = new Map<string, Running>();
  #queue: Promise<unknown> = Promise.resolve();
  #applying = 0;
  #stopping = false;
  #resolveDone!: () => void;
  /** Settles when no network is running and none is being started. */
  readonly done: Promise<void> = new Promise((r) => this.#resolveDone = r);

  /** `start` brings one network up (it may throw: that network failed, the others go on). */
  constructor(start: (net: NetworkConfig) => Promise<Stoppable>) {
    this.#start = start;
  }

  /** The running networks' names, in start order. */
  get names(): string[] {
    return [...this.#running.keys()];
  }

  /**
   * Brings the running set in line with `networks` (see {@link planReload}); calls are run
   * one after another. After {@linkcode stop} it does nothing.
   */
  apply(networks: readonly NetworkConfig[]): Promise<ApplyResult> {
    const run = this.#queue.then(() => this.#apply(networks));
    this.#queue = run.catch(() => {});
    return run;
  }

  async #apply(networks: readonly NetworkConfig[]): Promise<ApplyResult> {
    const result: ApplyResult = { started: [], stopped: [], kept: [], failed: [] };
    if (this.#stopping) return result;
    this.#applying++;
    try {
      const fingerprints = new Map([...this.#running].map(([n, r]) => [n, r.fingerprint]));
      const plan = planReload(fingerprints, networks);
      result.kept = plan.keep;
      // Stop first: a changed network may reuse its own interface, port or socket.
      await Promise.all(plan.stop.map(async (name) => {
        const r = this.#running.get(name);
        this.#running.delete(name);
        await r?.node.stop();
        await r?.node.done;
        result.stopped.push(name);
      }));
      const outcomes = await Promise.allSettled(plan.start.map((net) => this.#start(net)));
      outcomes.forEach((o, i) => {
        const net = plan.start[i];
        if (o.status === "rejected") {
          const reason = o.reason instanceof Error ? o.reason.message : String(o.reason);
          result.failed.push({ name: net.name, reason });
          return;
        }
        const entry = { fingerprint: networkFingerprint(net), node: o.value };
        this.#running.set(net.name, entry);
        result.started.push(net.name);
        // A network that stops by itself (`tun down --network`) leaves the set.
        void o.value.done.then(() => {
          if (this.#running.get(net.name) !== entry) return;
          this.#running.delete(net.name);
          this.#settleIfIdle();
        });
      });
    } finally {
      this.#applying--;
    }
    this.#settleIfIdle();
    return result;
  }

  #settleIfIdle(): void {
    if (this.#running.size === 0 && this.#applying === 0) this.#resolveDone();
  }

  /** Stops every network; further applies do nothing. */
  async stop(): Promise<void> {
    this.#stopping = true;
    // A start under way finishes first (it cannot be cancelled), then is stopped with the rest.
    await this.#queue;
    const all = [...this.#running.values()];
    this.#running.clear();
    await Promise.all(all.map(async (r) => {
      await r.node.stop();
      await r.node.done;
    }));
    this.#settleIfIdle();
  }
}

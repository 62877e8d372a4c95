/**
 * A data plane in a Worker of its own, as the node's thread sees it: started with its spec,
 * asked for status and stopped through a shared control block and a wake-up eventfd, since the
 * Worker sits blocked in `poll(2)` (so a packet wakes it straight from the kernel) and does not
 * run its event loop. Both kinds of node use it (`wg_plane_host.ts`, `ts_plane_link.ts`); where
 * a plane runs is `plane_mode.ts`'s.
 *
 * @module
 */
import { EventFd } from "../../ffi/eventfd.ts";
import type { DeviceStatus } from "./device_status.ts";
import { Control, type FromPlane } from "./plane_messages.ts";

/** How long a stop waits for the Worker's loop to end before terminating the Worker. */
const STOP_GRACE_MS = 5_000;

/**
 * A data plane in a Worker, blocked in `poll(2)` between bursts; `S` is what its status
 * requests answer with.
 */
export class PlaneThread<S = DeviceStatus> {
  /** Always "worker". */
  readonly mode = "worker";
  readonly #worker: Worker;
  readonly #wake: EventFd;
  readonly #log: (line: string) => void;
  readonly #control = new Int32Array(new SharedArrayBuffer(Control.SLOTS * 4));
  // Status requests in the order asked, each with the count it must see answered.
  readonly #waiting: { n: number; resolve(s: S): void; reject(e: Error): void }[] = [];
  #onMessage: (m: { type: string }) => void = () => {};
  #finished = false;
  #stopping: Promise<void> | null = null;
  #resolveDone!: () => void;
  /** Settles when the Worker's loop has stopped (by request or failure) and it is gone. */
  readonly done: Promise<void>;

  private constructor(worker: Worker, wake: EventFd, log: (line: string) => void) {
    this.#worker = worker;
    this.#wake = wake;
    this.#log = log;
    this.done = new Promise((r) => this.#resolveDone = r);
  }

  /**
   * Spawns the Worker at `url`, posts it `init` with the wake-up fd and control block, and
   * resolves once its plane runs; rejects with its reason if it fails. Messages other than
   * the plane's life and status go to `onMessage`.
   */
  static start<S>(
    url: URL,
    init: Record<string, unknown>,
    log: (line: string) => void,
    onMessage?: (m: { type: string }) => void,
  ): Promise<PlaneThread<S>> {
    const worker = new Worker(url, { type: "module" });
    const wake = new EventFd();
    const t = new PlaneThread<S>(worker, wake, log);
    if (onMessage) t.#onMessage = onMessage;
    return new Promise((resolve, reject) => {
      let started = false;
      worker.onmessage = (e: MessageEvent<FromPlane<S>>) => {
        const m = e.data;
        if (m.type === "started") {
          started = true;
          resolve(t);
        } else if (m.type === "failed") {
          if (started) log(`data plane failed: ${m.message}`);
          else reject(new Error(`Cannot start the data plane: ${m.message}`));
          t.#finish();
        } else t.#receive(m);
      };
      worker.onerror = (e) => {
        e.preventDefault();
        if (started) log(`data plane failed: ${e.message}`);
        else reject(new Error(`Cannot start the data plane: ${e.message}`));
        t.#finish();
      };
      worker.postMessage({ type: "start", ...init, wakeFd: wake.fd, control: t.#control.buffer });
    });
  }

  /** The plane's status, read on its thread. */
  status(): Promise<S> {
    return new Promise((resolve, reject) => {
      if (this.#stopping || this.#finished) {
        return reject(new Error("Cannot read status: data plane stopped"));
      }
      const n = Atomics.add(this.#control, Control.STATUS, 1) + 1;
      this.#waiting.push({ n, resolve, reject });
      this.#wake.signal();
    });
  }

  /** Raises the Worker's wake-up fd, after writing what it reads when woken. */
  wake(): void {
    if (!this.#finished) this.#wake.signal();
  }

  /** Stops the loop and closes the device (not the fds). Idempotent. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      Atomics.store(this.#control, Control.STOP, 1);
      if (!this.#finished) this.#wake.signal();
      // A Worker that does not come back (a bug, not a path) is terminated anyway, so the node
      // still stops: V8 ends it when its poll(2) next returns, within the loop's longest wait.
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = new Promise<void>((r) => timer = setTimeout(r, STOP_GRACE_MS));
      await Promise.race([this.done, late]);
      clearTimeout(timer);
      if (!this.#finished) {
        this.#log(`data plane did not stop within ${STOP_GRACE_MS} ms; terminating its Worker`);
        this.#finish();
      }
    })();
    return this.#stopping;
  }

  #receive(m: FromPlane<S>): void {
    if (m.type === "log") this.#log(m.line);
    else if (m.type === "status") {
      // Counts wrap at 2^31 together on both sides; the difference decides.
      while (this.#waiting.length > 0 && ((m.answers - this.#waiting[0].n) | 0) >= 0) {
        this.#waiting.shift()!.resolve(m.status);
      }
    } else if (m.type === "stopped") this.#finish();
    else this.#onMessage(m);
  }

  #finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#stopping ??= Promise.resolve();
    this.#worker.terminate();
    this.#wake.close();
    for (const w of this.#waiting.splice(0)) w.reject(new Error("Data plane stopped"));
    this.#resolveDone();
  }
}

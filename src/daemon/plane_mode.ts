/**
 * Where a plain WireGuard node's data plane runs: in a Worker of its own (the default; across
 * its sleeps `wg_plane_host.ts`, the Worker itself `plane_thread.ts`), blocked in `poll(2)` so a
 * packet wakes it straight from the kernel and the second core takes the packet work off the
 * main thread's event loop; or on the main thread (`local_plane.ts`, `WARREN_DATAPLANE=pool`),
 * waiting through Deno's thread pool. With the Worker, the main thread never loads the WireGuard
 * device or the crypto: only the Worker's module graph holds them. A tailnet node chooses with
 * the same rule (`node_plane.ts`).
 *
 * @module
 */
import type { DeviceStatus } from "./device_status.ts";
import { restDefault } from "./plane_rest.ts";
import type { PlaneSpec } from "./wg_plane.ts";

/** A running data plane, wherever it runs. */
export interface PlaneRunner {
  /** The device's part of the node's status. */
  status(): Promise<DeviceStatus>;
  /** Stops the loop and closes the device (not the fds). Idempotent. */
  stop(): Promise<void>;
  /** Where it runs. */
  readonly mode: PlaneMode;
  /** Whether its Worker sleeps now (absent: it never does). */
  readonly asleep?: boolean;
  /**
   * Packets read while the Worker slept or woke that found the held queue full and were dropped
   * (absent: it never sleeps).
   */
  readonly heldDrops?: number;
  /** Settles when the loop has stopped, by request or by failure (logged). */
  readonly done: Promise<void>;
}

/**
 * Where the data plane runs: `worker` (a Worker of its own, blocked in poll(2)) or `pool` (the
 * main thread, waiting through Deno's thread pool).
 */
export type PlaneMode = "worker" | "pool";

/**
 * Where a data plane runs unless told: `WARREN_DATAPLANE` (`worker` or `pool`) if set, else a
 * Worker when the process may run on two CPUs or more (`navigator.hardwareConcurrency`, which
 * follows the affinity mask): with one, the Worker would only cost its isolate's memory and a
 * thread switch per wake-up.
 */
export function planeModeDefault(): PlaneMode {
  return choosePlaneMode(Deno.env.get("WARREN_DATAPLANE"), navigator.hardwareConcurrency);
}

/** {@linkcode planeModeDefault}'s rule, given the variable's value and the CPU count. */
export function choosePlaneMode(env: string | undefined, cpus: number): PlaneMode {
  if (env === "pool" || env === "worker") return env;
  return cpus >= 2 ? "worker" : "pool";
}

/**
 * Starts a plain WireGuard node's data plane for `spec` where `mode` says. In a Worker it
 * sleeps while idle (`wg_plane_host.ts`) as `spec.rest` says (absent: {@linkcode restDefault});
 * `released` runs after each sleep. Each way's module loads only when chosen.
 */
export async function startPlane(
  spec: PlaneSpec,
  log: (line: string) => void,
  mode: PlaneMode = planeModeDefault(),
  released?: () => void,
): Promise<PlaneRunner> {
  const local = () => import("./local_plane.ts").then((m) => m.LocalPlane.start(spec, log));
  if (mode === "pool") return local();
  // A binary compiled without the Worker's module (no --include) still runs, slower to wake.
  const worker = new URL("./plane_worker.ts", import.meta.url);
  const rest = spec.rest ?? restDefault() ?? undefined;
  const { WgPlaneHost } = await import("./wg_plane_host.ts");
  return WgPlaneHost.start({ ...spec, rest }, worker, log, released).catch((e) => {
    log(`${e instanceof Error ? e.message : e}; running it on the main thread`);
    return local();
  });
}

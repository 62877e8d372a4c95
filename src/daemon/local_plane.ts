/**
 * A plain WireGuard node's data plane on the main thread, waiting through Deno's thread pool
 * (the event loop stays free; each wake-up costs a hop there and back, ~50 µs here):
 * `WARREN_DATAPLANE=pool`, lighter by the Worker's isolate (~8 MB) and slower to wake.
 *
 * A blocking poll(2) on the main thread itself was tried and dropped: the event loop only
 * polls its I/O when it runs out of other work, so a loop that yields through a
 * MessageChannel starves the LocalAPI, and one that yields through setTimeout(0) sleeps ~2 ms
 * each time.
 *
 * @module
 */
import { Poller } from "../../ffi/poll.ts";
import { type DeviceStatus, deviceStatus } from "./device_status.ts";
import type { PlaneRunner } from "./plane_mode.ts";
import { buildWgPlane, type PlaneSpec, type WgPlane } from "./wg_plane.ts";

/** The data plane on the main thread. */
export class LocalPlane implements PlaneRunner {
  /** Always "pool". */
  readonly mode = "pool";
  readonly #plane: WgPlane;
  readonly #poller: Poller;
  #stopping: Promise<void> | null = null;
  /** Settles when the loop has stopped. */
  readonly done: Promise<void>;

  private constructor(plane: WgPlane, poller: Poller, log: (line: string) => void) {
    this.#plane = plane;
    this.#poller = poller;
    this.done = plane.loop.run().catch((e) =>
      log(`data plane failed: ${e instanceof Error ? e.message : e}`)
    );
  }

  /** Builds the plane on `spec`'s fds and starts its loop. */
  static start(spec: PlaneSpec, log: (line: string) => void): LocalPlane {
    const poller = new Poller();
    try {
      return new LocalPlane(buildWgPlane(spec, poller, log), poller, log);
    } catch (e) {
      poller.close();
      throw e;
    }
  }

  /** The device's part of the node's status. */
  status(): Promise<DeviceStatus> {
    return Promise.resolve(deviceStatus(this.#plane.device));
  }

  /** Stops the loop and closes the device (not the fds). Idempotent. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      await this.#plane.loop.stop();
      await this.done;
      this.#plane.device.close();
      this.#poller.close();
    })();
    return this.#stopping;
  }
}

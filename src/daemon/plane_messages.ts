/**
 * How a node and its data-plane Worker talk. The Worker blocks in poll(2) and its event loop
 * never runs once started, so the node's requests after "start" are counters in shared
 * memory (the control block) followed by a raise of the wake-up eventfd; the Worker answers
 * with `postMessage`, which needs no turn of its event loop.
 *
 * @module
 */
import type { DeviceStatus } from "./device_status.ts";
import type { PlaneSpec } from "./wg_plane.ts";

/** Int32 slots of the control block. */
export const Control = {
  /** Set to 1 to stop the loop. */
  STOP: 0,
  /** Incremented per status request; a status reply carries the count it answers. */
  STATUS: 1,
  /** Slots in the block. */
  SLOTS: 2,
} as const;

/** Node → Worker, once. */
export interface StartPlane {
  /** Always "start". */
  type: "start";
  /** The plane to build. */
  spec: PlaneSpec;
  /** The eventfd the node raises after writing to the control block. */
  wakeFd: number;
  /** The control block: `Control.SLOTS` Int32s. */
  control: SharedArrayBuffer;
}

/** Worker → node; `S` is the plane's status. */
export type FromPlane<S = DeviceStatus> =
  | { type: "started" }
  | { type: "log"; line: string }
  | { type: "status"; answers: number; status: S }
  | { type: "failed"; message: string }
  | { type: "stopped" };

/**
 * A Worker's reading of its control block when woken: `stop()` if asked, and `answer(count)`
 * once per wake that finds status requests not yet answered (`answered` carries the count
 * between wakes).
 */
export function readControl(
  ctl: Int32Array,
  answered: { count: number },
  stop: () => void,
  answer: (count: number) => void,
): void {
  if (Atomics.load(ctl, Control.STOP) === 1) stop();
  const asked = Atomics.load(ctl, Control.STATUS);
  if (asked !== answered.count) {
    answered.count = asked;
    answer(asked);
  }
}

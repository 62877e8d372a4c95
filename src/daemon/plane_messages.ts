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

/** Worker → node. */
export type FromPlane =
  | { type: "started" }
  | { type: "log"; line: string }
  | { type: "status"; answers: number; status: DeviceStatus }
  | { type: "failed"; message: string }
  | { type: "stopped" };

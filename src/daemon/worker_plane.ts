/**
 * The part every data-plane Worker shares: take the start message, build the plane on a
 * {@linkcode BlockingPoller} whose wake-ups read the control block (stop, status requests)
 * and whatever else the plane takes from shared memory, run its loop, and report the plane's
 * life — started, failed, stopped — by `postMessage`, the one way out of a thread whose event
 * loop never turns.
 *
 * @module
 */
import { BlockingPoller } from "../../ffi/blocking_poll.ts";
import { EventFd } from "../../ffi/eventfd.ts";
import { readControl } from "./plane_messages.ts";
import { lastResortGc } from "../runtime/gc.ts";

/** A built plane, as the Worker's loop drives it. */
export interface WorkerPlane {
  /** The loop; its `run()` settles when it stops. */
  loop: { run(): Promise<void>; stop(): Promise<void> };
  /** The status to answer requests with (plain data). */
  status(): unknown;
  /** Closes the device once the loop has stopped. */
  close(): void;
  /** More to read on each wake-up (commands in a ring). */
  onWake?(): void;
}

/** What every start message carries. */
export interface StartWorkerPlane {
  /** The eventfd the node raises after writing to shared memory. */
  wakeFd: number;
  /** The control block. */
  control: SharedArrayBuffer;
}

/** The Worker global used here (the main thread's types do not declare it). */
interface WorkerScope {
  postMessage(message: unknown): void;
  addEventListener(type: "message", listener: (e: MessageEvent) => void): void;
}

/**
 * Serves one plane in this Worker: `build` makes it from the start message, with a waiter to
 * block in and a way to post to the node.
 */
export function serveWorkerPlane<S extends StartWorkerPlane>(
  build: (start: S, waiter: BlockingPoller, post: (m: unknown) => void) => WorkerPlane,
): void {
  const scope = globalThis as unknown as WorkerScope;
  const post = (m: unknown) => scope.postMessage(m);
  scope.addEventListener("message", (e) => start(e.data as S, build, post));
}

function start<S extends StartWorkerPlane>(
  msg: S,
  build: (start: S, waiter: BlockingPoller, post: (m: unknown) => void) => WorkerPlane,
  post: (m: unknown) => void,
): void {
  const ctl = new Int32Array(msg.control);
  const answered = { count: 0 };
  let plane: WorkerPlane | null = null;
  const onWake = () => {
    if (plane === null) return;
    const p = plane;
    p.onWake?.();
    readControl(ctl, answered, () => void p.loop.stop(), (answers) => {
      post({ type: "status", answers, status: p.status() });
    });
  };
  try {
    plane = build(msg, new BlockingPoller(new EventFd(msg.wakeFd), onWake), post);
  } catch (e) {
    post({ type: "failed", message: e instanceof Error ? e.message : String(e) });
    return;
  }
  const p = plane;
  // Loading and compiling this Worker's modules left garbage that, with this thread blocked in
  // poll(2) from now on, V8's idle-time collector would not get a turn to take (--expose-gc,
  // which warren's V8 flags set, makes gc() available).
  lastResortGc();
  post({ type: "started" });
  p.loop.run().then(
    () => {
      p.close();
      post({ type: "stopped" });
    },
    (e) => post({ type: "failed", message: e instanceof Error ? e.message : String(e) }),
  );
}

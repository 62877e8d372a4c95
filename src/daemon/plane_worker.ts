/**
 * The data-plane Worker's entry: builds a plain WireGuard node's data plane on the TUN queue
 * and UDP socket the node opened (fds are the process's) and runs it on this thread, blocked in
 * `poll(2)` between bursts, so a packet's arrival wakes this thread straight from the kernel
 * and the main thread's event loop is not on the packet path. It answers status requests and
 * stops on request; the node closes the fds afterwards.
 *
 * @module
 */
import { BlockingPoller } from "../../ffi/blocking_poll.ts";
import { EventFd } from "../../ffi/eventfd.ts";
import { deviceStatus } from "./device_status.ts";
import { Control, type FromPlane, type StartPlane } from "./plane_messages.ts";
import { buildWgPlane, type WgPlane } from "./wg_plane.ts";

/** The Worker global this module uses (the main thread's types do not declare it). */
interface WorkerScope {
  postMessage(message: FromPlane): void;
  addEventListener(type: "message", listener: (e: MessageEvent<StartPlane>) => void): void;
}
const scope = globalThis as unknown as WorkerScope;
const post = (m: FromPlane) => scope.postMessage(m);
let plane: WgPlane | null = null;
const FULL_GC = { type: "major", execution: "sync", flavor: "last-resort" };

scope.addEventListener("message", (e) => start(e.data));

/** Reads the control block: a stop, or status requests not yet answered. */
function control(ctl: Int32Array, p: WgPlane, answered: { count: number }): void {
  if (Atomics.load(ctl, Control.STOP) === 1) void p.loop.stop();
  const asked = Atomics.load(ctl, Control.STATUS);
  if (asked !== answered.count) {
    answered.count = asked;
    post({ type: "status", answers: asked, status: deviceStatus(p.device) });
  }
}

function start({ spec, wakeFd, control: block }: StartPlane): void {
  const ctl = new Int32Array(block);
  const answered = { count: 0 };
  try {
    const poller = new BlockingPoller(
      new EventFd(wakeFd),
      () => plane && control(ctl, plane, answered),
    );
    const log = (line: string) => post({ type: "log", line });
    plane = buildWgPlane(spec, poller, log);
  } catch (e) {
    post({ type: "failed", message: e instanceof Error ? e.message : String(e) });
    return;
  }
  const p = plane;
  // Loading and compiling this Worker's modules left garbage that, with this thread blocked in
  // poll(2) from now on, V8's idle-time collector would not get a turn to take (--expose-gc,
  // which warren's V8 flags set, makes gc() available).
  (globalThis as { gc?: (o: unknown) => void }).gc?.(FULL_GC);
  post({ type: "started" });
  p.loop.run().then(
    () => {
      p.device.close();
      post({ type: "stopped" });
    },
    (e) => post({ type: "failed", message: e instanceof Error ? e.message : String(e) }),
  );
}

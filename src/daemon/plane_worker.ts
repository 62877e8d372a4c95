/**
 * The data-plane Worker's entry: builds a plain WireGuard node's data plane on the TUN queue
 * and UDP socket the node opened (fds are the process's) and runs it on this thread, blocked in
 * `poll(2)` between bursts, so a packet's arrival wakes this thread straight from the kernel
 * and the main thread's event loop is not on the packet path. It answers status requests and
 * stops on request; the node closes the fds afterwards.
 *
 * @module
 */
import { deviceStatus } from "./device_status.ts";
import type { StartPlane } from "./plane_messages.ts";
import { buildWgPlane } from "./wg_plane.ts";
import { serveWorkerPlane } from "./worker_plane.ts";

serveWorkerPlane<StartPlane>(({ spec }, waiter, post) => {
  const p = buildWgPlane(
    spec,
    waiter,
    (line) => post({ type: "log", line }),
    (state) => post({ type: "asleep", state, status: deviceStatus(p.device) }),
  );
  return { loop: p.loop, status: () => deviceStatus(p.device), close: () => p.device.close() };
});

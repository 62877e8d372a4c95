/**
 * The tailnet data-plane Worker's entry: builds a tailnet node's data plane
 * ({@linkcode TsPlane}) on the TUN queue and UDP socket the node opened and runs it on this
 * thread, blocked in `poll(2)` between bursts; each wake-up drains the node's ring of commands
 * and DERP packets first.
 *
 * @module
 */
import { ByteRing } from "../net/byte_ring.ts";
import { TsPlane } from "./ts_plane.ts";
import type { FromTsPlane, StartTsPlane } from "./ts_plane_messages.ts";
import { serveWorkerPlane } from "./worker_plane.ts";

serveWorkerPlane<StartTsPlane>(({ spec, ring: buffer }, waiter, post) => {
  const ring = new ByteRing(buffer);
  const p = new TsPlane(spec, waiter, post as (m: FromTsPlane) => void);
  return {
    loop: p.loop,
    status: () => p.status(),
    close: () => p.device.close(),
    onWake: () => void ring.read((r) => p.handle(r)),
  };
});

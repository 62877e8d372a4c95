/**
 * The live status page of `warren tun status --web`.
 *
 * @module
 */
export {
  DEFAULT_STATUS_HOSTNAME,
  DEFAULT_STATUS_PORT,
  serveStatusPage,
  type StatusPageOptions,
  type StatusPageServer,
} from "./status_page.ts";
export type { StatusDocument } from "./render.ts";
export { parseListenAddress } from "./listen.ts";
export type { ListenAddress } from "./host_guard.ts";

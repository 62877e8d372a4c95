/**
 * Former home of a second IP parser; the one parser is `src/net/ip.ts`. This
 * file only re-exports from there for `src/derp/server.ts`, which is being
 * rewritten elsewhere: switch that import to `../net/ip.ts` and delete this file.
 *
 * @module
 */

export { parseIp, to16 } from "../net/ip.ts";

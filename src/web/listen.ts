/**
 * The `--listen` value of `warren tun status --web`: where the status page
 * listens.
 *
 * @module
 */
import type { ListenAddress } from "./host_guard.ts";

/**
 * Parses `HOST:PORT`, `[IPv6]:PORT` or a bare `PORT` (on 127.0.0.1). A bare
 * `:PORT` is refused rather than guessed: it means "every interface" to some
 * tools and "localhost" to others, and a status page should not be exposed by
 * accident.
 *
 * @example
 * ```ts
 * import { parseListenAddress } from "./listen.ts";
 * console.assert(parseListenAddress("[::1]:8384").hostname === "::1");
 * console.assert(parseListenAddress("9000").hostname === "127.0.0.1");
 * ```
 */
export function parseListenAddress(value: string): ListenAddress {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d+)$/.exec(value) ?? /^()()(\d+)$/.exec(value);
  if (!m) {
    throw new TypeError(`Cannot parse listen address "${value}": expected HOST:PORT or PORT`);
  }
  const bare = !value.includes(":");
  const hostname = m[1] ?? m[2];
  if (!bare && hostname === "") {
    throw new TypeError(
      `Cannot parse listen address "${value}": name the host, e.g. 127.0.0.1${value} or 0.0.0.0${value}`,
    );
  }
  const port = Number(m[3]);
  if (port > 65535) {
    throw new RangeError(`Cannot parse listen address "${value}": port ${port} out of range`);
  }
  return { hostname: bare ? "127.0.0.1" : hostname, port };
}

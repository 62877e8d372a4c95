/**
 * Proxy credentials and their comparison, shared by the SOCKS5 (RFC 1929)
 * and HTTP (Basic) servers.
 *
 * @module
 */

/** Username and password a client must present. */
export interface ProxyCredentials {
  /** The user name. */
  username: string;
  /** The password. */
  password: string;
}

const encoder = new TextEncoder();

/**
 * Whether the presented pair matches, in time that depends only on the
 * lengths (no early exit at the first differing byte).
 *
 * @example
 * ```ts
 * import { credentialsMatch } from "./credentials.ts";
 * credentialsMatch({ username: "a", password: "b" }, "a", "b"); // true
 * ```
 */
export function credentialsMatch(
  want: ProxyCredentials,
  username: string,
  password: string,
): boolean {
  return (sameBytes(username, want.username) & sameBytes(password, want.password)) === 1;
}

function sameBytes(a: string, b: string): number {
  const x = encoder.encode(a);
  const y = encoder.encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0 ? 1 : 0;
}

/**
 * Addresses and prefixes as bytes, shared by the WireGuard data plane, routes,
 * the packet filter and the CLI.
 *
 * @module
 */

export {
  formatIp,
  formatPrefix,
  type HostPort,
  ipFamily,
  type IpPrefix,
  isV4Mapped,
  maskIp,
  parseIp,
  parsePrefix,
  type ParsePrefixOptions,
  prefixContains,
  splitHostPort,
  to16,
  unmap,
} from "./ip.ts";
export { PrefixTrie } from "./prefix_trie.ts";

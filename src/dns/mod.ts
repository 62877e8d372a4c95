/**
 * DNS for warren: the wire codec, the MagicDNS table, the quad-100
 * responder, warren's own host resolution and the resolv.conf helper.
 *
 * @module
 */

export * from "./constants.ts";
export {
  ipFromReverseName,
  type MagicDnsAnswer,
  type MagicDnsNode,
  MagicDnsTable,
  reverseName,
} from "./magicdns.ts";
export {
  buildDnsMessage,
  type BuildOptions,
  type DnsMessage,
  type DnsQuestion,
  type DnsRecord,
  type Edns,
  emptyMessage,
  getEdns,
  parseDnsMessage,
} from "./message.ts";
export { canonicalName } from "./name.ts";
export { DnsParseError } from "./parse_error.ts";
export {
  type DnsForwarder,
  isQuad100Query,
  type Quad100Counters,
  type Quad100Options,
  Quad100Responder,
} from "./quad100.ts";
export { HostResolver, type HostResolverOptions, type SystemLookup } from "./resolve.ts";
export {
  installResolvConf,
  renderResolvConf,
  type ResolvConfOptions,
  restoreResolvConf,
} from "./resolv_conf.ts";

/**
 * The inbound packet filter built from the netmap's FilterRules.
 *
 * @module
 */

export {
  FILTER_REASONS,
  type FilterReason,
  type FilterStats,
  PacketFilter,
  type PacketFilterOptions,
  type Verdict,
} from "./filter.ts";
export { FlowTable } from "./flow_table.ts";
export { type IpSetEntry, parseIpSetEntry, rangeToPrefixes } from "./ip_set.ts";
export {
  type CompiledDst,
  type CompiledMatch,
  type CompiledRules,
  compileFilterRules,
  DEFAULT_PROTOS,
} from "./rules.ts";

/**
 * warren as a service: the `tun up --config FILE` file (several networks, or tailscaled's own
 * config file) checked whole before anything starts, and the systemd unit `tun install` writes
 * for it.
 *
 * @module
 */
export { loadNetworksConfig, type NetworksConfigOptions, parseNetworksConfig } from "./networks.ts";
export {
  formatConfigProblem,
  NetworksConfigError,
  type NetworksConfigProblem,
} from "./problems.ts";
export {
  type ConfigTunables,
  DEFAULT_TAILNET_PORT,
  DEFAULT_TUN,
  type NetworkConfig,
  type NetworksConfig,
  type TailnetNetwork,
  USERSPACE_NETWORKING,
  type WireguardNetwork,
} from "./types.ts";
export { DEFAULT_CONTROL_URL } from "./tailnet.ts";
export { TAILSCALED_NETWORK_NAME } from "./tailscaled_conffile.ts";
export {
  INSTALL_BINARY,
  SERVICE_STATE_DIR,
  systemdQuote,
  systemdUnit,
  type SystemdUnitOptions,
  UNIT_NAME,
  UNIT_PATH,
  type UnitNeeds,
  unitNeeds,
} from "./systemd_unit.ts";

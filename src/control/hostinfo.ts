/**
 * The Hostinfo warren sends (protocol doc §3.3).
 *
 * @module
 */
import type { Hostinfo } from "../netmap/tailcfg.ts";
import { WARREN_VERSION } from "./constants.ts";

/** Options for {@link buildHostinfo}. */
export interface HostinfoOptions {
  /** Stable random hex identifying this install (persisted in state). */
  backendLogID: string;
  /** Host name; defaults to `Deno.hostname()`. */
  hostname?: string;
  /** warren version; defaults to the built-in one. */
  version?: string;
  /** Extra fields (NetInfo, RoutableIPs, RequestTags, …). */
  extra?: Partial<Hostinfo>;
}

/**
 * Builds warren's Hostinfo: `IPNVersion "warren-<ver>"`, `OS "linux"`, the
 * host name, the kernel release and machine type.
 *
 * @example
 * ```ts
 * buildHostinfo({ backendLogID: "ab", hostname: "n1" }).IPNVersion; // "warren-0.1.0"
 * ```
 */
export function buildHostinfo(opts: HostinfoOptions): Hostinfo {
  const hi: Hostinfo = {
    IPNVersion: `warren-${opts.version ?? WARREN_VERSION}`,
    BackendLogID: opts.backendLogID,
    OS: "linux",
    Hostname: opts.hostname ?? safe(() => Deno.hostname()) ?? "warren",
    Machine: Deno.build.arch,
    GoArch: Deno.build.arch === "x86_64" ? "amd64" : Deno.build.arch === "aarch64" ? "arm64" : "",
    // Capver 118 clients report it; warren's state file is plain JSON.
    StateEncrypted: false,
  };
  const osVersion = safe(() => Deno.osRelease());
  if (osVersion) hi.OSVersion = osVersion;
  if (hi.GoArch === "") delete hi.GoArch;
  return { ...hi, ...opts.extra };
}

function safe<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch {
    return undefined;
  }
}

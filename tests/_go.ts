/**
 * Go programs under tests/testdata built for a test with the Debian Go toolchain: the
 * reference peers (Go's crypto/tls, its HTTP/2 server) that tailscaled and Headscale use.
 *
 * @module
 */
import assert from "node:assert/strict";

/** Why a test that needs `go` must skip, or null when it runs. */
export function goSkip(): string | null {
  try {
    const ok = new Deno.Command("go", { args: ["version"], stdout: "null", stderr: "null" })
      .outputSync().success;
    return ok ? null : "go does not run";
  } catch {
    return "go is not installed (apt-get install golang-go)";
  }
}

/**
 * Builds the Go module in `srcDir` into `workDir/name`, with its build cache and GOPATH inside
 * `workDir` (so nothing outside it is written); returns the binary's path. Fails the test with
 * the compiler's output if the build fails or takes over 2 minutes.
 */
export function buildGo(srcDir: string, workDir: string, name: string): Promise<string> {
  return goBuild(srcDir, workDir, name, { GOPATH: `${workDir}/gopath`, GOFLAGS: "-mod=mod" });
}

/** Where Debian's golang-*-dev packages put Go sources (a GOPATH). */
export const DEBIAN_GOPATH = "/usr/share/gocode";

/**
 * Why a test that needs the Go package `importPath` from Debian's `debPackage` must skip, or
 * null when it runs: Go modules cannot be fetched here, Debian's packages can.
 */
export function goPackageSkip(importPath: string, debPackage: string): string | null {
  const go = goSkip();
  if (go !== null) return go;
  try {
    Deno.statSync(`${DEBIAN_GOPATH}/src/${importPath}`);
    return null;
  } catch {
    return `${importPath} is not installed (apt-get install ${debPackage})`;
  }
}

/**
 * Builds the Go program in `srcDir` (no go.mod) into `workDir/name` in GOPATH mode against
 * Debian's packaged sources, with the build cache inside `workDir`; returns the binary's path.
 */
export function buildGoDebian(srcDir: string, workDir: string, name: string): Promise<string> {
  return goBuild(srcDir, workDir, name, { GOPATH: DEBIAN_GOPATH, GO111MODULE: "off", GOFLAGS: "" });
}

/** `go build` in `srcDir` into `workDir/name`, the cache in `workDir`, failing the test on error. */
async function goBuild(
  srcDir: string,
  workDir: string,
  name: string,
  env: Record<string, string>,
): Promise<string> {
  const bin = `${workDir}/${name}`;
  const build = await new Deno.Command("go", {
    args: ["build", "-o", bin, "."],
    cwd: srcDir,
    env: { GOCACHE: `${workDir}/cache`, ...env },
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(120_000),
  }).output();
  assert.ok(build.success, new TextDecoder().decode(build.stderr));
  return bin;
}

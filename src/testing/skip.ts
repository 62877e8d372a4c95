/**
 * The one way a test skips when its environment lacks something (root,
 * namespaces, a reference tool), so a skip can never pass silently in CI.
 *
 * Each skip reports one line, `SKIP <file>: <test>: <reason>`, on the console
 * and, when `WARREN_SKIP_LOG` names a file, appended to it: `deno test
 * --quiet` swallows test output, so `.ci/run` counts and lists the file's
 * lines. An ignored test also carries its reason in its name. With
 * `WARREN_REQUIRE_ALL_TESTS=1` in the environment (CI sets it) a skip becomes
 * a failure that names the reason, unless the test's file is listed in
 * `WARREN_ALLOWED_SKIPS` (space-separated paths from the repository root;
 * `.ci/run` keeps that list, with a comment per entry).
 *
 * @module
 */

/** The environment variable that turns every skip into a failure. */
export const REQUIRE_ALL_TESTS_ENV = "WARREN_REQUIRE_ALL_TESTS";
/** The environment variable listing test files that may still skip under {@link REQUIRE_ALL_TESTS_ENV}. */
export const ALLOWED_SKIPS_ENV = "WARREN_ALLOWED_SKIPS";
/** The environment variable naming a file every `SKIP` line is appended to. */
export const SKIP_LOG_ENV = "WARREN_SKIP_LOG";

const ROOT = new URL("../../", import.meta.url).href;

/** Whether skips fail, and which test files are exempt. */
export interface SkipPolicy {
  /** A skip fails the test (CI). */
  require: boolean;
  /** Test files (paths from the repository root) that may skip even when `require` is set. */
  allowed: ReadonlySet<string>;
  /** File the `SKIP` lines are appended to, if any. */
  logFile: string | null;
}

/** A test definition as {@link testOrSkip} takes it: `ignore` is its job. */
export type SkippableTest = Omit<Deno.TestDefinition, "ignore">;

/** What {@link planTest} decided for one test. */
export interface TestPlan {
  /** The definition to register with `Deno.test`. */
  def: Deno.TestDefinition;
  /** The `SKIP` line to print, when the test does not run as written. */
  line: string | null;
}

function envGet(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    // No --allow-env: nobody asked for CI's strictness.
    return undefined;
  }
}

/**
 * Reads the policy from {@link REQUIRE_ALL_TESTS_ENV} (set and not `0`),
 * {@link ALLOWED_SKIPS_ENV} and {@link SKIP_LOG_ENV}.
 *
 * @example
 * ```ts
 * import { skipPolicy } from "./skip.ts";
 * const ci = skipPolicy((name) => name === "WARREN_REQUIRE_ALL_TESTS" ? "1" : undefined);
 * console.assert(ci.require && ci.allowed.size === 0);
 * ```
 */
export function skipPolicy(env: (name: string) => string | undefined = envGet): SkipPolicy {
  const req = env(REQUIRE_ALL_TESTS_ENV);
  const allowed = (env(ALLOWED_SKIPS_ENV) ?? "").split(/\s+/).filter((s) => s !== "");
  return {
    require: req !== undefined && req !== "" && req !== "0",
    allowed: new Set(allowed),
    logFile: env(SKIP_LOG_ENV) || null,
  };
}

function report(line: string, policy: SkipPolicy): void {
  console.log(line);
  if (policy.logFile !== null) {
    Deno.writeTextFileSync(policy.logFile, `${line}\n`, { append: true });
  }
}

/**
 * The path of a test module from the repository root (its full URL when it
 * lies outside the repository).
 *
 * @example
 * ```ts
 * import { testFile } from "./skip.ts";
 * console.assert(testFile(new URL("../../tests/nat_test.ts", import.meta.url).href) === "tests/nat_test.ts");
 * ```
 */
export function testFile(url: string): string {
  return url.startsWith(ROOT) ? url.slice(ROOT.length) : url;
}

/**
 * The machine-readable line a skip prints (`.ci/run` greps for `^SKIP `).
 *
 * @example
 * ```ts
 * import { skipLine } from "./skip.ts";
 * console.assert(skipLine("tests/nat_test.ts", "NAT", "needs root") === "SKIP tests/nat_test.ts: NAT: needs root");
 * ```
 */
export function skipLine(file: string, test: string, reason: string): string {
  return `SKIP ${file}: ${test}: ${reason}`;
}

function requiredError(file: string, test: string, reason: string): Error {
  return new Error(
    `Cannot skip "${test}" in ${file} (${reason}): ${REQUIRE_ALL_TESTS_ENV} is set and ` +
      `${file} is not in ${ALLOWED_SKIPS_ENV}`,
  );
}

/**
 * Decides how `def` is registered: unchanged when `reason` is null; ignored
 * with a `SKIP` line and the reason appended to its name otherwise; or, when the policy requires every test and
 * the file is not exempt, replaced by a test that fails with the reason.
 *
 * @example
 * ```ts
 * import { planTest } from "./skip.ts";
 * const ci = { require: true, allowed: new Set<string>(), logFile: null };
 * const p = planTest("t_test.ts", "no wireguard-go", { name: "interop", fn() {} }, ci);
 * console.assert(p.def.ignore !== true && p.line !== null);
 * ```
 */
export function planTest(
  file: string,
  reason: string | null,
  def: SkippableTest,
  policy: SkipPolicy,
): TestPlan {
  if (reason === null) return { def, line: null };
  const line = skipLine(file, def.name, reason);
  if (!policy.require || policy.allowed.has(file)) {
    return { def: { ...def, name: `${def.name} (skipped: ${reason})`, ignore: true }, line };
  }
  const err = requiredError(file, def.name, reason);
  return {
    def: {
      ...def,
      fn: () => {
        throw err;
      },
    },
    line,
  };
}

/**
 * Registers a test that cannot run where `reason` is non-null (for example
 * the result of `namespaceSupport()`): it is then ignored and prints its
 * `SKIP` line, or fails under {@link REQUIRE_ALL_TESTS_ENV}.
 *
 * @example
 * ```ts ignore
 * import { testOrSkip } from "./skip.ts";
 * testOrSkip(import.meta, Deno.uid() === 0 ? null : "needs root", {
 *   name: "creates a TUN device",
 *   fn() {},
 * });
 * ```
 */
export function testOrSkip(
  meta: ImportMeta,
  reason: string | null,
  def: SkippableTest,
  policy: SkipPolicy = skipPolicy(),
): void {
  const plan = planTest(testFile(meta.url), reason, def, policy);
  if (plan.line !== null) report(plan.line, policy);
  Deno.test(plan.def);
}

/**
 * Ends the rest of a test that has already checked what it can (`return
 * skipRest(t, ...)`): prints the `SKIP` line, or throws under
 * {@link REQUIRE_ALL_TESTS_ENV}. For checks inside one test (`deno test
 * --quiet` shows such a skip nowhere but in {@link SKIP_LOG_ENV}); a whole test
 * that cannot run uses {@link testOrSkip}, so Deno counts it as ignored.
 *
 * @example
 * ```ts ignore
 * import { skipRest } from "./skip.ts";
 * Deno.test("sets SO_MARK", (t) => {
 *   if (Deno.uid() !== 0) return skipRest(t, "setting a mark needs CAP_NET_ADMIN");
 * });
 * ```
 */
export function skipRest(
  t: Pick<Deno.TestContext, "name" | "origin">,
  reason: string,
  policy: SkipPolicy = skipPolicy(),
): void {
  const file = testFile(t.origin);
  report(skipLine(file, t.name, reason), policy);
  if (policy.require && !policy.allowed.has(file)) throw requiredError(file, t.name, reason);
}

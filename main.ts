/**
 * warren's entry point: parse argv and dispatch; everything else is in src/.
 *
 * @module
 */
import { main } from "./src/cli/main.ts";

if (import.meta.main) Deno.exit(await main(Deno.args));

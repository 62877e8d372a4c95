import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { PAGE_CSP, renderPage } from "./page.ts";

const page = renderPage("<p>body</p>", "2026-12-01T00:00:00Z");

function inline(tag: string): string {
  const m = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(page);
  assert.ok(m, `no <${tag}> in the page`);
  return m[1];
}

function hash(s: string): string {
  return `'sha256-${createHash("sha256").update(s).digest("base64")}'`;
}

Deno.test("renderPage()'s CSP allows exactly its own inline script and style", () => {
  assert.ok(PAGE_CSP.includes(`script-src ${hash(inline("script"))}`), PAGE_CSP);
  assert.ok(PAGE_CSP.includes(`style-src ${hash(inline("style"))}`), PAGE_CSP);
  assert.match(PAGE_CSP, /^default-src 'none'; /);
  assert.match(PAGE_CSP, /connect-src 'self'/);
});

Deno.test("renderPage() loads nothing from anywhere and refreshes itself without JavaScript", () => {
  assert.doesNotMatch(page, /\bsrc=/);
  assert.deepEqual([...page.matchAll(/href="([^"]*)"/g)].map((m) => m[1]), ["data:,"]);
  assert.doesNotMatch(page, /https?:\/\//);
  assert.match(page, /<noscript><meta http-equiv="refresh" content="5"><\/noscript>/);
  assert.match(page, /<main id="networks"><p>body<\/p><\/main>/);
  // The live script listens on the relative events URL (same origin, no build step).
  assert.match(inline("script"), /new EventSource\("events"\)/);
});

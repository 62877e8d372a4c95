/**
 * The status page document: one HTML file with its CSS and script inline,
 * so it needs no build step and loads nothing from anywhere. The
 * Content-Security-Policy pins the inline script and style by hash and
 * allows connections only back to this server.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { escapeHtml, rendererSource } from "./render.ts";

const STYLE = `
:root { color-scheme: light dark; --fg: #1d2330; --muted: #667085; --bg: #f6f7f9; --card: #fff;
  --line: #e3e6ea; --good: #127a3c; --bad: #b42318; --warn: #9a6700; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6e8eb; --muted: #98a2b3; --bg: #111418;
  --card: #1b1f25; --line: #2c323a; --good: #4ade80; --bad: #f87171; --warn: #fbbf24; } }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; align-items: baseline; gap: 1em; padding: 12px 24px;
  border-bottom: 1px solid var(--line); background: var(--card); }
h1 { font-size: 18px; margin: 0; }
#updated { color: var(--muted); margin-left: auto; }
.live { font-size: 12px; padding: 1px 8px; border-radius: 9px; border: 1px solid currentColor; }
.live.on { color: var(--good); } .live.off { color: var(--muted); }
main { padding: 16px 24px; display: grid; gap: 16px; }
.network { background: var(--card); border: 1px solid var(--line); border-radius: 8px;
  padding: 12px 16px; }
h2 { font-size: 16px; margin: 0 0 8px; }
.state { font-size: 12px; font-weight: 600; padding: 1px 8px; border-radius: 9px; color: #fff; }
.state.good { background: var(--good); } .state.bad { background: var(--bad); }
.state.warn { background: var(--warn); }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 0 0 8px; }
dt { color: var(--muted); } dd { margin: 0; font-family: ui-monospace, monospace; }
.count { color: var(--muted); margin: 4px 0; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 4px 10px 4px 0; border-bottom: 1px solid var(--line);
  white-space: nowrap; }
th { color: var(--muted); font-weight: 500; }
td.num { font-variant-numeric: tabular-nums; }
td.addresses, td.path { font-family: ui-monospace, monospace; font-size: 13px; }
tr.peer td.online::before { content: "\\25CF  "; }
tr.online td.online { color: var(--good); } tr.offline td.online { color: var(--bad); }
tr.unknown td.online { color: var(--muted); }
tr.offline td:not(.online) { color: var(--muted); }
.error { color: var(--bad); font-weight: 600; }
`;

const SCRIPT = `(() => {
${rendererSource()}
const main = document.getElementById("networks");
const live = document.getElementById("live");
const updated = document.getElementById("updated");
let doc = null;
let shown = "";
function draw() {
  if (doc === null) return;
  const html = renderNetworks(doc, Date.now());
  if (html === shown) return;
  // Keep the "skipped peers" boxes the reader opened open across a redraw.
  const open = new Set([...main.querySelectorAll("details[open]")]
    .map((d) => d.closest("section").dataset.network));
  main.innerHTML = html;
  shown = html;
  for (const s of main.querySelectorAll("section")) {
    const d = s.querySelector("details");
    if (d && open.has(s.dataset.network)) d.open = true;
  }
}
function mark(on, text) {
  live.className = on ? "live on" : "live off";
  live.textContent = text;
}
const es = new EventSource("events");
es.onopen = () => mark(true, "live");
es.onerror = () => mark(false, "reconnecting\\u2026");
es.onmessage = (e) => {
  doc = JSON.parse(e.data);
  updated.textContent = "updated " + new Date().toLocaleTimeString();
  mark(true, "live");
  draw();
};
es.addEventListener("unavailable", (e) => {
  doc = null;
  shown = "";
  main.innerHTML = '<p class="error">' + escapeHtml(JSON.parse(e.data).error) + "</p>";
  mark(false, "node unavailable");
});
setInterval(draw, 1000);
})();`;

// The script sits inside <script>: a "</script" or "<!--" in it would end or
// confuse the element, whatever the renderer's source comes to contain.
if (/<\/script|<!--/i.test(SCRIPT)) throw new Error("Status page script contains </script or <!--");

function sha256(s: string): string {
  return `'sha256-${createHash("sha256").update(s).digest("base64")}'`;
}

/** The Content-Security-Policy of the page: nothing but its own inline script and style. */
export const PAGE_CSP: string = [
  "default-src 'none'",
  `script-src ${sha256(SCRIPT)}`,
  `style-src ${sha256(STYLE)}`,
  "connect-src 'self'",
  "img-src data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

/**
 * The whole page around `mainHtml` (from `renderNetworks`, already escaped).
 * Without JavaScript it refreshes itself every 5 s; with it the script
 * replaces `<main>` on every event.
 *
 * @example
 * ```ts
 * import { renderPage } from "./page.ts";
 * console.assert(renderPage("<p>x</p>").includes('<main id="networks"><p>x</p></main>'));
 * ```
 */
export function renderPage(mainHtml: string, updated = new Date().toISOString()): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>warren status</title>
<link rel="icon" href="data:,">
<noscript><meta http-equiv="refresh" content="5"></noscript>
<style>${STYLE}</style></head>
<body><header><h1>warren</h1><span id="live" class="live off">static</span>` +
    `<span id="updated">${escapeHtml(`rendered ${updated}`)}</span></header>
<main id="networks">${mainHtml}</main>
<script>${SCRIPT}</script></body></html>
`;
}

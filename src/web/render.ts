/**
 * The status page's HTML, from the same JSON `GET /status.json` serves.
 *
 * The server renders the first view with these functions and the page's
 * inline script re-renders with the very same ones: {@link rendererSource}
 * ships their source text to the browser, so the page with and without
 * JavaScript can never drift apart. That is why every function here is
 * self-contained (no module state, no imports but the two formatters, which
 * are shipped too) and sticks to plain JavaScript once types are stripped.
 *
 * @module
 */
import type { NodeStatus, PeerStatus } from "../daemon/status.ts";
import { formatAgo, formatBytes } from "../cli/format.ts";

/** What the page shows: one status per network name, as `tun status --json` prints it. */
export interface StatusDocument {
  /** Every network the process runs, by name. */
  networks: Record<string, NodeStatus>;
}

/**
 * Escapes text for an HTML text node or a quoted attribute value. Peer names,
 * addresses and reasons come from the network, so every value the page shows
 * passes through here.
 *
 * @example
 * ```ts
 * import { escapeHtml } from "./render.ts";
 * console.assert(escapeHtml(`<b a="1">'&`) === "&lt;b a=&quot;1&quot;&gt;&#39;&amp;");
 * ```
 */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => {
    if (c === "&") return "&amp;";
    if (c === "<") return "&lt;";
    if (c === ">") return "&gt;";
    if (c === '"') return "&quot;";
    return "&#39;";
  });
}

/**
 * Whether a peer is reachable, as a CSS class and a word: what control says
 * for tailnet peers, a handshake in the last three minutes (WireGuard's
 * reject-after time) for wg-config peers, which have no other signal.
 *
 * @example
 * ```ts
 * import { peerOnline } from "./render.ts";
 * console.assert(peerOnline({ online: false, latestHandshake: 0 }, 0) === "offline");
 * ```
 */
export function peerOnline(
  p: Pick<PeerStatus, "online" | "latestHandshake">,
  nowMs: number,
): "online" | "offline" | "unknown" {
  if (p.online === true) return "online";
  if (p.online === false) return "offline";
  if (p.online === undefined && p.latestHandshake > 0 && nowMs / 1000 - p.latestHandshake < 180) {
    return "online";
  }
  return "unknown";
}

/**
 * The path column: "direct ip:port", "DERP region N" or "none".
 *
 * @example
 * ```ts
 * import { describePath } from "./render.ts";
 * console.assert(describePath({ path: "derp-3", endpoint: null }) === "DERP region 3");
 * ```
 */
export function describePath(p: Pick<PeerStatus, "path" | "endpoint">): string {
  const path = p.path ?? p.endpoint ?? "none";
  if (path === "none" || path === "") return "none";
  const derp = /^derp-(\d+)$/.exec(path);
  return derp ? `DERP region ${derp[1]}` : `direct ${path}`;
}

/**
 * One `<tr>` of the peer table; `data-key` is the peer's public key, so a
 * row can be found again after a re-render.
 *
 * @example
 * ```ts
 * import { renderPeerRow } from "./render.ts";
 * const row = renderPeerRow({
 *   publicKey: "nodekey:ab", name: "<x>", online: true, endpoint: null, allowedIps: [],
 *   latestHandshake: 0, rxBytes: 0, txBytes: 0, persistentKeepalive: 0, presharedKey: false,
 * }, 0);
 * console.assert(row.includes("&lt;x&gt;") && row.includes('class="peer online"'));
 * ```
 */
export function renderPeerRow(p: PeerStatus, nowMs: number): string {
  const online = peerOnline(p, nowMs);
  const addrs = p.addresses ?? p.allowedIps;
  const latency = p.latencyMs != null ? `${p.latencyMs.toFixed(1)} ms` : "—";
  const cell = (cls: string, text: unknown, title?: string) =>
    `<td class="${cls}"${title ? ` title="${escapeHtml(title)}"` : ""}>${escapeHtml(text)}</td>`;
  return `<tr class="peer ${online}" data-key="${escapeHtml(p.publicKey)}">` +
    // A wg-config peer has only its key; its head is enough to tell peers apart.
    cell(
      "name",
      p.name ?? (p.publicKey.length > 16 ? `${p.publicKey.slice(0, 12)}…` : p.publicKey),
      p.publicKey,
    ) +
    cell("addresses", addrs.join(", ") || "—") +
    cell("online", online === "unknown" ? "unknown" : online === "online" ? "yes" : "no") +
    cell("path", describePath(p)) +
    cell("path-state", p.pathState ?? "—") +
    cell("latency num", latency) +
    cell("rx num", formatBytes(p.rxBytes)) +
    cell("tx num", formatBytes(p.txBytes)) +
    cell("handshake", formatAgo(p.latestHandshake, nowMs)) +
    "</tr>";
}

/**
 * One network's `<section>`: its state, addresses, home DERP and peer table.
 *
 * @example
 * ```ts ignore
 * import { renderNetwork } from "./render.ts";
 * document.body.innerHTML = renderNetwork("corp", status, Date.now());
 * ```
 */
export function renderNetwork(name: string, st: NodeStatus, nowMs: number): string {
  const tn = st.tailnet;
  // A class from a fixed set, never from the status text itself.
  const badge = st.state === "Running" ? "good" : st.state === "Stopped" ? "bad" : "warn";
  const facts: [string, string][] = [["interface", st.interface || "—"]];
  facts.push(["addresses", st.addresses.join(", ") || "(none)"]);
  if (tn) {
    facts.push(["self", tn.self ? tn.self.name : "(not logged in)"]);
    const lat = tn.homeDerpLatencyMs != null ? ` (${tn.homeDerpLatencyMs.toFixed(1)} ms)` : "";
    facts.push(["home DERP", tn.homeDerp ? `region ${tn.homeDerp}${lat}` : "(none yet)"]);
    const links = tn.derp.map((d) =>
      `${d.region}${d.home ? " (home)" : ""}${d.connected ? "" : " down"}` +
      (d.dropped ? `, ${d.dropped} dropped` : "")
    );
    if (links.length) facts.push(["DERP links", links.join("; ")]);
    if (tn.filter) {
      facts.push(["filter", `${tn.filter.accepted} accepted, ${tn.filter.dropped} dropped`]);
    }
    facts.push(["control", tn.controlUrl]);
  } else {
    facts.push(["listen port", String(st.listenPort)]);
  }
  const online = st.peers.filter((p) => peerOnline(p, nowMs) === "online").length;
  // Code-unit order, not localeCompare: the server and the browser must agree.
  const key = (p: PeerStatus) => p.name ?? p.publicKey;
  const peers = [...st.peers].sort((a, b) => key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);
  const skipped = (tn?.skippedPeers ?? []).map((s) =>
    `<li>${escapeHtml(s.name)}: ${escapeHtml(s.reason)}</li>`
  ).join("");
  return `<section class="network" data-network="${escapeHtml(name)}">` +
    `<h2>${escapeHtml(name)} <span class="state ${badge}">` +
    `${escapeHtml(st.state)}</span></h2><dl>` +
    facts.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`).join("") +
    `</dl><p class="count">${st.peers.length} peer${st.peers.length === 1 ? "" : "s"}, ` +
    `${online} online</p>` +
    (peers.length
      ? `<div class="scroll"><table class="peers"><thead><tr><th>name</th><th>addresses</th>` +
        `<th>online</th><th>path</th><th>state</th><th>latency</th><th>rx</th><th>tx</th>` +
        `<th>handshake</th></tr></thead><tbody>` +
        peers.map((p) => renderPeerRow(p, nowMs)).join("") + `</tbody></table></div>`
      : "") +
    (skipped
      ? `<details class="skipped"><summary>skipped peers</summary><ul>${skipped}</ul>` +
        `</details>`
      : "") +
    "</section>";
}

/**
 * Every network, by name, or a line saying there is none: the content of the
 * page's `<main>`.
 *
 * @example
 * ```ts
 * import { renderNetworks } from "./render.ts";
 * console.assert(renderNetworks({ networks: {} }, 0).includes("No network"));
 * ```
 */
export function renderNetworks(doc: StatusDocument, nowMs: number): string {
  const names = Object.keys(doc.networks).sort();
  if (names.length === 0) return `<p class="empty">No network is running.</p>`;
  return names.map((n) => renderNetwork(n, doc.networks[n], nowMs)).join("");
}

/**
 * The source text of the renderer, as function declarations for the page's
 * inline script: `renderNetworks(doc, Date.now())` then works in the browser.
 *
 * @example
 * ```ts
 * import { rendererSource } from "./render.ts";
 * console.assert(rendererSource().includes("function renderNetworks("));
 * ```
 */
export function rendererSource(): string {
  return [
    escapeHtml,
    formatBytes,
    formatAgo,
    peerOnline,
    describePath,
    renderPeerRow,
    renderNetwork,
    renderNetworks,
  ].map((f) => f.toString()).join("\n");
}

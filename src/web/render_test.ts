import assert from "node:assert/strict";
import type { PeerStatus } from "../daemon/status.ts";
import { fakeNode, fakePeer, fakeWgNode } from "./_fake_status.ts";
import {
  describePath,
  escapeHtml,
  peerOnline,
  rendererSource,
  renderNetwork,
  renderNetworks,
  renderPeerRow,
  type StatusDocument,
} from "./render.ts";

const NOW = Date.UTC(2026, 11, 1, 12, 0, 0);
const nowS = NOW / 1000;

function rows(html: string): string[] {
  return html.match(/<tr class="peer [^"]*"[^>]*>.*?<\/tr>/g) ?? [];
}

Deno.test("escapeHtml() escapes the five characters that matter in text and attributes", () => {
  assert.equal(
    escapeHtml(`<a href="x">Tom & 'Jerry'</a>`),
    "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;",
  );
  assert.equal(escapeHtml(42), "42");
});

Deno.test("renderNetworks() renders one peer row per peer in every network", () => {
  const doc: StatusDocument = {
    networks: {
      corp: fakeNode([
        fakePeer({ publicKey: "nodekey:1", name: "a" }, NOW),
        fakePeer({ publicKey: "nodekey:2", name: "b" }, NOW),
        fakePeer({ publicKey: "nodekey:3", name: "c" }, NOW),
      ]),
      office: fakeWgNode(NOW),
      empty: fakeNode([]),
    },
  };
  const html = renderNetworks(doc, NOW);
  const sections = html.split(/(?=<section )/).filter((s) => s.startsWith("<section"));
  // Networks come sorted by name, each with its own table.
  assert.deepEqual(sections.map((s) => /data-network="([^"]*)"/.exec(s)![1]), [
    "corp",
    "empty",
    "office",
  ]);
  assert.deepEqual(sections.map((s) => rows(s).length), [3, 0, 1]);
  assert.deepEqual(rows(sections[0]).map((r) => /data-key="([^"]*)"/.exec(r)![1]), [
    "nodekey:1",
    "nodekey:2",
    "nodekey:3",
  ]);
  assert.match(sections[0], /3 peers, 3 online/);
  assert.match(renderNetworks({ networks: {} }, NOW), /No network is running/);
});

Deno.test("renderNetworks() escapes every value that comes from the network", () => {
  const evil = `<script>alert("x")</script>`;
  const doc: StatusDocument = {
    networks: {
      [`net<i>`]: fakeNode([
        fakePeer({
          publicKey: `nodekey:"><img src=x>`,
          name: evil,
          addresses: [`<b>1</b>`],
          path: `<u>1.2.3.4:5</u>`,
          pathState: `<s>`,
        }, NOW),
      ], {
        addresses: [`<em>`],
        state: `<blink>` as "Running",
        tailnet: {
          ...fakeNode([]).tailnet!,
          controlUrl: `https://x/<q>`,
          self: { name: `<self>`, addresses: [], nodeKey: "nodekey:0" },
          skippedPeers: [{ name: `<skip>`, reason: `<why>` }],
        },
      }),
    },
  };
  const html = renderNetworks(doc, NOW);
  for (
    const tag of ["script", "img", "b", "u", "s", "em", "blink", "i", "q", "self", "skip", "why"]
  ) {
    assert.doesNotMatch(html, new RegExp(`<${tag}[ >]`), `raw <${tag}> in the page`);
  }
  assert.match(html, /&lt;script&gt;alert\(&quot;x&quot;\)&lt;\/script&gt;/);
  assert.match(html, /data-key="nodekey:&quot;&gt;&lt;img src=x&gt;"/);
  assert.match(html, /data-network="net&lt;i&gt;"/);
  // An unknown state gets the neutral badge, never a class made of its text.
  assert.match(html, /<span class="state warn">&lt;blink&gt;<\/span>/);
});

Deno.test("renderPeerRow() shows traffic, latency and handshake age in human units", () => {
  const row = renderPeerRow(
    fakePeer({
      rxBytes: 1536,
      txBytes: 3 * 1024 ** 3,
      latencyMs: 3.25,
      latestHandshake: nowS - 3725,
    }, NOW),
    NOW,
  );
  assert.match(row, /<td class="rx num">1\.50 KiB<\/td>/);
  assert.match(row, /<td class="tx num">3\.00 GiB<\/td>/);
  assert.match(row, /<td class="latency num">3\.3 ms<\/td>/);
  assert.match(row, /<td class="handshake">1 hour, 2 minutes, 5 seconds ago<\/td>/);
  assert.match(row, /<td class="path">direct 192\.0\.2\.7:41641<\/td>/);
  const idle = renderPeerRow(
    fakePeer({ rxBytes: 0, txBytes: 512, latencyMs: null, latestHandshake: 0 }, NOW),
    NOW,
  );
  assert.match(idle, /<td class="rx num">0 B<\/td>/);
  assert.match(idle, /<td class="tx num">512 B<\/td>/);
  assert.match(idle, /<td class="latency num">—<\/td>/);
  assert.match(idle, /<td class="handshake">never<\/td>/);
});

Deno.test("renderPeerRow() marks a row online, offline or unknown in its class and text", () => {
  const cls = (p: PeerStatus) => /<tr class="peer (\w+)"/.exec(renderPeerRow(p, NOW))![1];
  const text = (p: PeerStatus) => /<td class="online">([^<]*)</.exec(renderPeerRow(p, NOW))![1];
  assert.equal(cls(fakePeer({ online: true }, NOW)), "online");
  assert.equal(text(fakePeer({ online: true }, NOW)), "yes");
  assert.equal(cls(fakePeer({ online: false }, NOW)), "offline");
  assert.equal(text(fakePeer({ online: false }, NOW)), "no");
  assert.equal(cls(fakePeer({ online: null }, NOW)), "unknown");
});

Deno.test("peerOnline() judges a wg-config peer by a handshake within three minutes", () => {
  assert.equal(peerOnline({ latestHandshake: nowS - 20 }, NOW), "online");
  assert.equal(peerOnline({ latestHandshake: nowS - 600 }, NOW), "unknown");
  assert.equal(peerOnline({ latestHandshake: 0 }, NOW), "unknown");
  // Control's word beats the handshake.
  assert.equal(peerOnline({ online: false, latestHandshake: nowS - 1 }, NOW), "offline");
});

Deno.test("describePath() names direct paths by ip:port and relayed ones by DERP region", () => {
  assert.equal(describePath({ path: "192.0.2.1:41641", endpoint: null }), "direct 192.0.2.1:41641");
  assert.equal(
    describePath({ path: "[2001:db8::1]:41641", endpoint: null }),
    "direct [2001:db8::1]:41641",
  );
  assert.equal(describePath({ path: "derp-12", endpoint: null }), "DERP region 12");
  assert.equal(describePath({ path: "none", endpoint: null }), "none");
  // wg-config peers have no path, only an endpoint.
  assert.equal(describePath({ endpoint: "203.0.113.5:51820" }), "direct 203.0.113.5:51820");
  assert.equal(describePath({ endpoint: null }), "none");
});

Deno.test("renderNetwork() shows state, addresses, home DERP and DERP links", () => {
  const html = renderNetwork("corp", fakeNode([]), NOW);
  assert.match(html, /<span class="state good">Running<\/span>/);
  assert.match(html, /<dt>addresses<\/dt><dd>100\.64\.0\.1\/32, fd7a:115c:a1e0::1\/128<\/dd>/);
  assert.match(html, /<dt>home DERP<\/dt><dd>region 1 \(12\.5 ms\)<\/dd>/);
  assert.match(html, /<dt>DERP links<\/dt><dd>1 \(home\); 3, 2 dropped<\/dd>/);
  assert.match(html, /<li>clash\.tail\.ts\.net: address 100\.64\.0\.9 is taken<\/li>/);
  assert.match(renderNetwork("x", fakeNode([], { state: "Stopped" }), NOW), /state bad/);
  const wg = renderNetwork("office", fakeWgNode(NOW), NOW);
  assert.match(wg, /<dt>listen port<\/dt><dd>51820<\/dd>/);
  assert.doesNotMatch(wg, /home DERP/);
  // A wg peer is named by the head of its key, the whole key in the tooltip.
  assert.match(
    wg,
    /<td class="name" title="HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=">HIgo9xNzJMWL…<\/td>/,
  );
});

Deno.test("rendererSource() gives the browser the renderer the server uses, byte for byte", () => {
  const doc: StatusDocument = {
    networks: {
      corp: fakeNode([fakePeer({}, NOW), fakePeer({ publicKey: "k", online: false }, NOW)]),
      office: fakeWgNode(NOW),
    },
  };
  // Evaluated as the page's script evaluates it: plain JavaScript, nothing imported.
  const browserRender = new Function(
    `${rendererSource()}\nreturn renderNetworks;`,
  )() as typeof renderNetworks;
  assert.equal(browserRender(doc, NOW), renderNetworks(doc, NOW));
});

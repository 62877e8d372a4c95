/**
 * The status page in a real browser: headless Chromium (Debian's package)
 * loads it, the fake node's peer goes offline, and the peer's row changes
 * without a reload.
 */
import assert from "node:assert/strict";
import { chromiumMissing, launchChromium } from "../testing/chromium.ts";
import { testOrSkip } from "../testing/skip.ts";
import { fakeNode, fakePeer, fakeWgNode } from "./_fake_status.ts";
import { serveStatusPage } from "./status_page.ts";

const ROW = `document.querySelector('section[data-network="corp"] tr[data-key="nodekey:1111"]')`;

testOrSkip(import.meta, chromiumMissing(), {
  name: "the status page shows a peer going offline live, without a reload",
  async fn() {
    let online = true;
    await using page = serveStatusPage({
      port: 0,
      intervalMs: 100,
      statuses: () =>
        Promise.resolve({
          corp: fakeNode([
            fakePeer({ online, path: online ? "192.0.2.7:41641" : "derp-1" }),
            fakePeer({
              publicKey: "nodekey:2222",
              name: "<b>nas</b>.tail.ts.net",
              path: "derp-3",
              pathState: "derp-only",
              latencyMs: null,
              rxBytes: 0,
              txBytes: 0,
              latestHandshake: 0,
            }),
          ]),
          office: fakeWgNode(),
        }),
    });
    await using browser = await launchChromium({ width: 1200, height: 760 });
    await browser.send("Page.navigate", { url: page.url });
    await browser.waitFor(`document.getElementById("live")?.textContent === "live"`);
    assert.equal(await browser.evaluate(`${ROW}.className`), "peer online");
    assert.equal(await browser.evaluate(`${ROW}.querySelector("td.online").textContent`), "yes");
    // The inline style ran too (the CSP allows it by hash): the badge is white on green.
    assert.equal(
      await browser.evaluate(`getComputedStyle(document.querySelector(".state")).color`),
      "rgb(255, 255, 255)",
    );
    // An injected name stays text: no <b> element in the row, the tags shown literally.
    assert.equal(
      await browser.evaluate(
        `document.querySelector('tr[data-key="nodekey:2222"] td.name').textContent`,
      ),
      "<b>nas</b>.tail.ts.net",
    );
    assert.equal(await browser.evaluate(`document.querySelectorAll("td.name b").length`), 0);
    await browser.evaluate(`window.__sameDocument = true`);

    online = false;
    await browser.waitFor(`${ROW}.classList.contains("offline")`);
    assert.equal(await browser.evaluate(`${ROW}.querySelector("td.online").textContent`), "no");
    assert.equal(
      await browser.evaluate(`${ROW}.querySelector("td.path").textContent`),
      "DERP region 1",
    );
    assert.equal(await browser.evaluate(`window.__sameDocument === true`), true, "page reloaded");

    const { cssContentSize } = await browser.send("Page.getLayoutMetrics");
    const { width, height } = cssContentSize as { width: number; height: number };
    const shot = await browser.send("Page.captureScreenshot", {
      format: "png",
      captureBeyondViewport: true,
      clip: { x: 0, y: 0, width, height, scale: 1 },
    });
    const png = Uint8Array.from(atob(shot.data as string), (c) => c.charCodeAt(0));
    assert.deepEqual([...png.slice(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const file = await Deno.makeTempFile({ prefix: "warren-status-page-", suffix: ".png" });
    await Deno.writeFile(file, png);
    console.log(`status page screenshot: ${file}`);
  },
});

testOrSkip(import.meta, chromiumMissing(), {
  name: "the status page renders on the server, so it shows peers with JavaScript off",
  async fn() {
    await using page = serveStatusPage({
      port: 0,
      statuses: () => Promise.resolve({ corp: fakeNode([fakePeer()]) }),
    });
    await using browser = await launchChromium();
    await browser.send("Emulation.setScriptExecutionDisabled", { value: true });
    await browser.send("Page.navigate", { url: page.url });
    await browser.waitFor(`document.readyState === "complete"`);
    assert.equal(await browser.evaluate(`${ROW}.className`), "peer online");
    assert.equal(await browser.evaluate(`document.getElementById("live").textContent`), "static");
    assert.equal(page.clients(), 0, "no event stream without JavaScript");
  },
});

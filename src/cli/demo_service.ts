/**
 * The service scene of `warren demo`'s tailnet act: one `warren tun up --config` process runs
 * two networks — a kernel-TUN tailnet node and a userspace one — `tun status` lists both, and
 * `tun status --web` serves the live status page, read here as its JSON.
 *
 * @module
 */
import { firstLine, waitFor, warrenArgv } from "../testbed/netns.ts";
import { AUTH_KEY, type Tailnet } from "../testbed/tailnet.ts";

/** Runs the scene in a new host `delta`; throws when something fails. */
export async function serviceScene(t: Tailnet, say: (s: string) => void): Promise<void> {
  say("warren tun up --config: two networks in one process (delta: a TUN and a userspace node)");
  const delta = await t.addHost("delta");
  const node = (tun: string, hostname: string) => ({
    tailnet: {
      authKey: AUTH_KEY,
      controlUrl: t.controlUrl,
      tun,
      hostname,
      stateDir: "mem:",
      port: 0,
      derpHttp: true,
    },
  });
  const file = `${t.dir}/delta.json`;
  const config = {
    networks: { corp: node("ts-corp", "delta"), lab: node("userspace-networking", "delta-lab") },
  };
  await Deno.writeTextFile(file, JSON.stringify(config, null, 2));
  console.log(`${file}: ${JSON.stringify(config.networks.lab)}, and corp with "tun": "ts-corp"`);
  const proc = delta.spawn([...warrenArgv(), "tun", "up", "--config", file], { stdout: "null" });
  const log = new Response(proc.stderr).text();
  let web: Deno.ChildProcess | null = null;
  try {
    await waitFor("both networks Running", async () => {
      const r = await delta.exec([...warrenArgv(), "tun", "status", "--json"], { check: false });
      if (r.code !== 0) return false;
      const nets = JSON.parse(r.stdout).networks ?? {};
      return nets.corp?.state === "Running" && nets.lab?.state === "Running";
    }, 30_000);
    const text = (await delta.exec([...warrenArgv(), "tun", "status"])).stdout;
    console.log(
      text.split("\n").filter((l) => /^(network|interface| {2}addresses)/.test(l)).join("\n"),
    );

    say("warren tun status --web --listen 127.0.0.1:8384 (delta): the live status page");
    web = delta.spawn([...warrenArgv(), "tun", "status", "--web", "--listen", "127.0.0.1:8384"]);
    console.log((await firstLine(web)).trim());
    const page = await delta.exec(["curl", "-sf", "http://127.0.0.1:8384/status.json"]);
    const nets = JSON.parse(page.stdout).networks as Record<
      string,
      { state: string; peers: unknown[] }
    >;
    for (const [name, st] of Object.entries(nets)) {
      console.log(`status.json: ${name} ${st.state}, ${st.peers.length} peers`);
    }
    if (Object.keys(nets).length !== 2) throw new Error("the status page did not show both");
  } finally {
    try {
      web?.kill("SIGTERM");
    } catch { /* gone */ }
    await web?.status;
    await web?.stdout.cancel().catch(() => {});
    await web?.stderr.cancel().catch(() => {});
    try {
      proc.kill("SIGTERM");
    } catch { /* gone */ }
    const code = (await proc.status).code;
    if (code !== 0) console.error((await log).slice(-2000));
  }
  say("SIGTERM to the delta process: both networks down");
  const links = (await delta.exec(["ip", "-o", "link"])).stdout;
  console.log(links.includes("ts-corp") ? "ts-corp is still there" : "ts-corp is gone");
}

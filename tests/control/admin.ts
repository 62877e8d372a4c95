/**
 * The plain-HTTP admin API tests drive the server with (no authentication:
 * test use only). JSON in, JSON out.
 *
 *   GET    /admin/nodes                  list nodes
 *   DELETE /admin/nodes/<id>             delete a node (peers get PeersRemoved)
 *   POST   /admin/nodes/<id>/delete      same, for clients without DELETE
 *   GET    /admin/pending                pending interactive registrations
 *   POST   /admin/approve/<authId>       approve one
 *   GET    /admin/preauthkeys            list pre-auth keys
 *   POST   /admin/preauthkeys            create one: {key?, reusable?, ephemeral?, expiresInMs?}
 *   POST   /admin/policy                 {filter: FilterRule[] | null} (null = allow all)
 *   POST   /admin/dns/extra-records      [{Name, Type, Value}, …]
 *   GET    /admin/routes/<id>            a node's routes: {available_routes, approved_routes,
 *                                        subnet_routes, primary_routes} (as headscale nodes
 *                                        list-routes, plus the primaries)
 *   POST   /admin/routes/<id>            {approve: ["10.0.0.0/24", …]}: replace its approved
 *                                        routes (headscale nodes approve-routes; [] = none)
 *   POST   /admin/kill-streams           {refuseMs?}: drop every control connection
 *   POST   /admin/ping/<id>              {types?, noise?, ip?, payload?, timeoutMs?}: send the
 *                                        node a PingRequest, wait for its answer
 *                                        ({method, overNoise, latencyMs, body}; 504 if none)
 *
 * @module
 */

import { concatBytes } from "../../src/bytes/concat.ts";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { FilterRule } from "../../src/netmap/tailcfg.ts";
import type { DnsRecord } from "./config.ts";
import type { TestControlServer } from "./server.ts";

/** Handles an `/admin/…` request. */
export async function handleAdmin(
  srv: TestControlServer,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const url = new URL(req.url ?? "/", "http://admin");
  const parts = url.pathname.split("/").filter((p) => p !== "").slice(1);
  const method = req.method ?? "GET";
  let body: unknown = undefined;
  if (method !== "GET" && method !== "HEAD") {
    const text = await readText(req);
    if (text.trim() !== "") {
      try {
        body = JSON.parse(text);
      } catch (e) {
        return send(res, 400, { error: `invalid JSON: ${(e as Error).message}` });
      }
    }
  }
  const obj = (typeof body === "object" && body !== null ? body : {}) as Record<string, unknown>;
  const route = `${method} ${parts[0] ?? ""}`;
  switch (route) {
    case "GET nodes":
      return send(res, 200, srv.nodes());
    case "DELETE nodes":
    case "POST nodes": {
      const id = Number(parts[1]);
      if (method === "POST" && parts[2] !== "delete") break;
      return srv.deleteNode(id)
        ? send(res, 200, { deleted: id })
        : send(res, 404, { error: `no node ${parts[1]}` });
    }
    case "GET pending":
      return send(res, 200, srv.tailnet.listPending());
    case "POST approve":
      return srv.approve(parts[1] ?? "")
        ? send(res, 200, { approved: parts[1] })
        : send(res, 404, { error: `no pending registration ${parts[1]}` });
    case "GET preauthkeys":
      return send(res, 200, srv.tailnet.listPreAuthKeys());
    case "POST preauthkeys": {
      const ms = typeof obj.expiresInMs === "number" ? obj.expiresInMs : undefined;
      try {
        return send(
          res,
          200,
          srv.createPreAuthKey({
            key: typeof obj.key === "string" ? obj.key : undefined,
            reusable: typeof obj.reusable === "boolean" ? obj.reusable : undefined,
            ephemeral: typeof obj.ephemeral === "boolean" ? obj.ephemeral : undefined,
            expiresAt: ms === undefined ? undefined : new Date(Date.now() + ms),
          }),
        );
      } catch (e) {
        return send(res, 409, { error: (e as Error).message });
      }
    }
    case "POST policy": {
      const f = obj.filter;
      if (f !== null && f !== undefined && !Array.isArray(f)) {
        return send(res, 400, { error: "filter must be an array of FilterRule or null" });
      }
      srv.setFilter((f ?? undefined) as FilterRule[] | undefined);
      return send(res, 200, { ok: true });
    }
    case "POST dns":
      if (parts[1] === "extra-records" && Array.isArray(body)) {
        srv.tailnet.setExtraRecords(body as DnsRecord[]);
        return send(res, 200, { ok: true });
      }
      return send(res, 400, { error: "want a JSON array of records" });
    case "POST ping": {
      const id = Number(parts[1]);
      if (!srv.tailnet.node(id)) return send(res, 404, { error: `no node ${parts[1]}` });
      const str = (k: string) => typeof obj[k] === "string" ? obj[k] as string : undefined;
      const timeoutMs = typeof obj.timeoutMs === "number" ? obj.timeoutMs : 10_000;
      const answer = await srv.ping(id, {
        types: str("types"),
        noise: obj.noise === true,
        ip: str("ip"),
        payload: str("payload"),
      }, timeoutMs);
      return answer
        ? send(res, 200, answer)
        : send(res, 504, { error: `node ${id} did not answer within ${timeoutMs} ms` });
    }
    case "GET routes": {
      const r = srv.tailnet.routesOf(Number(parts[1]));
      return r ? send(res, 200, r) : send(res, 404, { error: `no node ${parts[1]}` });
    }
    case "POST routes": {
      try {
        const r = srv.tailnet.approveRoutes(Number(parts[1]), obj.approve);
        return r ? send(res, 200, r) : send(res, 404, { error: `no node ${parts[1]}` });
      } catch (e) {
        return send(res, 400, { error: (e as Error).message });
      }
    }
    case "POST kill-streams": {
      const refuseMs = typeof obj.refuseMs === "number" ? obj.refuseMs : 0;
      return send(res, 200, { killed: srv.killAllStreams(refuseMs) });
    }
  }
  send(res, 404, { error: `no admin route ${method} ${url.pathname}` });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body) + "\n";
  res.writeHead(status, { "content-type": "application/json" });
  res.end(text);
}

/** Reads a plain-HTTP request body (at most 1 MiB). */
export async function readRequestBytes(req: IncomingMessage): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const c of req) {
    total += (c as Uint8Array).length;
    if (total > 1 << 20) throw new RangeError("Request body exceeds 1 MiB");
    chunks.push(c as Uint8Array);
  }
  return concatBytes(chunks);
}

async function readText(req: IncomingMessage): Promise<string> {
  return new TextDecoder().decode(await readRequestBytes(req));
}

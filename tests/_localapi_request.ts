/**
 * One raw HTTP request to a LocalAPI unix socket, as tailscale's CLI makes it
 * (`Host: local-tailscaled.sock`, no `Sec-Tailscale` header), for the tests that
 * drive a node's socket without a client library.
 *
 * @module
 */
import * as http from "node:http";

/** Sends `method path` (with `body` as JSON when given); resolves with the status and body. */
export function localApiRequest(
  socketPath: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? "" : JSON.stringify(body);
    const req = http.request(
      {
        socketPath,
        path,
        method,
        headers: {
          Host: "local-tailscaled.sock",
          ...(body === undefined ? {} : { "Content-Type": "application/json" }),
          "Content-Length": new TextEncoder().encode(payload).length,
        },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c) => text += c);
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on("error", reject);
    req.end(payload);
  });
}

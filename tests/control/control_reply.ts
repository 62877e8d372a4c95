/**
 * The HTTP answers of the control handlers: the RegisterResponse body with
 * every field Headscale sends, register failures (HTTP 200 with `Error` set,
 * as Headscale sends them) and the HTTP 400 for a too-old client.
 *
 * @module
 */

import { MIN_CAPABILITY_VERSION } from "./constants.ts";
import { goTime } from "./mapper.ts";
import type { Json, User } from "./types.ts";

/** An HTTP answer from a control handler: JSON body for 200, text otherwise. */
export interface ControlReply {
  /** HTTP status. */
  status: number;
  /** JSON body (status 200) or error text. */
  body: Json | string;
}

/** The user, expiry and authorization fields of a RegisterResponse (no user: omitted). */
export function registerResponseFields(
  user: User | undefined,
  expired: boolean,
  authorized: boolean,
): Json {
  return {
    User: user ? { ID: user.id, DisplayName: user.name, Created: goTime(user.created) } : undefined,
    Login: user
      ? { ID: user.id, Provider: "", LoginName: user.name, DisplayName: user.name }
      : undefined,
    NodeKeyExpired: expired,
    MachineAuthorized: authorized,
    AuthURL: "",
    NodeKeySignature: null,
    Error: "",
  };
}

/** HTTP 200 with a RegisterResponse: `body` over every field at its zero value. */
export function ok(body: Json): ControlReply {
  const full: Json = {
    User: undefined,
    Login: undefined,
    NodeKeyExpired: false,
    MachineAuthorized: false,
    AuthURL: "",
    NodeKeySignature: null,
    Error: "",
    ...body,
  };
  return { status: 200, body: full };
}

/** A failed registration: HTTP 200 with `Error` set. */
export function regError(message: string): ControlReply {
  return ok({ Error: message });
}

/** HTTP 400 for a client older than {@linkcode MIN_CAPABILITY_VERSION}. */
export function unsupported(version: number): ControlReply {
  return {
    status: 400,
    body: `unsupported client version: ${version} (minimum ${MIN_CAPABILITY_VERSION})`,
  };
}

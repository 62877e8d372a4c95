/**
 * The protocol's time and message limits gathered into one value, so a test
 * or an operator can shorten them (e.g. force a rekey every few seconds)
 * without touching the engine.
 *
 * @module
 */
import {
  KEEPALIVE_TIMEOUT,
  REJECT_AFTER_MESSAGES,
  REJECT_AFTER_TIME,
  REKEY_AFTER_MESSAGES,
  REKEY_AFTER_TIME,
  REKEY_ATTEMPT_TIME,
  REKEY_TIMEOUT,
  REKEY_TIMEOUT_JITTER_MAX,
} from "./constants.ts";

/** Every timer and limit the engine uses, in milliseconds or messages. */
export interface Timings {
  /** The initiator starts a new handshake once a session is this old. */
  rekeyAfterTime: number;
  /** A session this old is never used again. */
  rejectAfterTime: number;
  /** Give up retrying a handshake after this long. */
  rekeyAttemptTime: number;
  /** Retry an unanswered handshake after this long (plus jitter). */
  rekeyTimeout: number;
  /** Upper bound of the random jitter added to handshake retries. */
  rekeyTimeoutJitterMax: number;
  /** Send a keepalive if we received data and sent nothing for this long. */
  keepaliveTimeout: number;
  /** Rekey after sending this many messages on one session. */
  rekeyAfterMessages: number;
  /** Never send or accept a counter at or beyond this. */
  rejectAfterMessages: number;
}

/** The whitepaper's values (§6.1). */
export const DEFAULT_TIMINGS: Readonly<Timings> = Object.freeze({
  rekeyAfterTime: REKEY_AFTER_TIME,
  rejectAfterTime: REJECT_AFTER_TIME,
  rekeyAttemptTime: REKEY_ATTEMPT_TIME,
  rekeyTimeout: REKEY_TIMEOUT,
  rekeyTimeoutJitterMax: REKEY_TIMEOUT_JITTER_MAX,
  keepaliveTimeout: KEEPALIVE_TIMEOUT,
  rekeyAfterMessages: REKEY_AFTER_MESSAGES,
  rejectAfterMessages: REJECT_AFTER_MESSAGES,
});

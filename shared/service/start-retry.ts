/**
 * @module
 * Which failures of a service's start are the cluster not being ready yet. On a fresh cluster, R3 streams take
 * seconds to be placed, and a JetStream API request made meanwhile times out, finds no responder, or is told
 * JetStream is temporarily unavailable. Those pass: the service waits and starts again (it has provisioned
 * nothing half-way that a second start would not find). Anything else (a refused permission, an invalid layout)
 * does not pass by waiting: the service reports it and exits.
 */
import { JetStreamApiError } from "@nats-io/jetstream";
import { errors } from "@nats-io/transport-node";

/**
 * JetStream API errors that mean "not yet": no suitable peers for placement (10005), temporarily unavailable
 * (10008), the cluster cannot handle the request now (10009), a stream offline (10118); and any 503.
 */
const NOT_YET = new Set([10005, 10008, 10009, 10118]);

export function startWillPass(err: unknown): boolean {
  if (err instanceof errors.TimeoutError || err instanceof errors.NoRespondersError) return true;
  if (err instanceof errors.RequestError) return startWillPass(err.cause);
  if (err instanceof JetStreamApiError) return err.status === 503 || NOT_YET.has(err.code);
  return false;
}

/** How long to wait before the `attempt`-th start again. */
export const startBackoffMs = (attempt: number): number => Math.min(5_000, 500 * attempt);

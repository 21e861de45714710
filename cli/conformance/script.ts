/**
 * @module
 * The conformance script: a fixed list of cases the kit sends to the (queue, type) under test. Each payload
 * tells the worker what to do on each attempt (docs/protocol.md §8, "The conformance script"), so a worker
 * author implements the script once, as an ordinary handler, and never sees the kit's rules.
 *
 * A payload is `{ "conformance": { "case": <name>, "steps": [Step, …] } }`; the worker runs
 * `steps[min(attempt, steps.length - 1)]`. A step is `{ "do": "succeed", "result"? }`, `{ "do": "fail",
 * "code"?, "message"? }` (retryable), `{ "do": "permanent", "message"? }` (code PERMANENT) or `{ "do":
 * "vanish" }` (behave as a worker that died: no outcome, no ack, no more `+WPI`); any step may add
 * `"work_ms": N`, time the handler spends (heart-beating) before it does the step.
 */

export type Step =
  | { do: "succeed"; result?: unknown; work_ms?: number }
  | { do: "fail"; code?: string; message?: string; work_ms?: number }
  | { do: "permanent"; message?: string; work_ms?: number }
  | { do: "vanish" };

/** How the kit puts a case on the queue. */
export type Delivery =
  /** a request to `jetbus.v1.dispatch` (a plain job) */
  | "dispatch"
  /** an envelope the kit stores itself on `jetbus.jobs.<q>.<t>` with `not_before` in the future */
  | "not-before"
  /** an envelope for a member of a batch the kit has cancelled */
  | "cancelled-member"
  /** a body that is not a job envelope */
  | "malformed";

export interface Case {
  name: string;
  delivery: Delivery;
  options: { retry?: number; backoff_ms?: number; timeout_ms?: number };
  steps: Step[];
}

/** The body stored for the malformed case: not JSON. */
export const MALFORMED_BODY = "conformance: this is not a job envelope {";

/** How far in the future the not-before case is due. */
export const NOT_BEFORE_MS = 700;

export const BACKOFF_MS = 1_500;
export const TIMEOUT_MS = 500;

/** The script. `ackWaitMs` is the consumer's: the heartbeat case outlives it 2.5 times. */
export function script(ackWaitMs: number): Case[] {
  return [
    {
      name: "result",
      delivery: "dispatch",
      options: {},
      steps: [{ do: "succeed", result: { answer: 42, nested: { ok: true, list: [1, "two", null] } } }],
    },
    {
      name: "retry",
      delivery: "dispatch",
      options: { retry: 2 },
      steps: [
        { do: "fail", code: "HANDLER_ERROR", message: "conformance: attempt 0 fails" },
        { do: "fail", code: "CONFORMANCE_OWN_CODE", message: "conformance: attempt 1 fails" },
        { do: "succeed", result: { after: "two retries" } },
      ],
    },
    {
      name: "backoff",
      delivery: "dispatch",
      options: { retry: 1, backoff_ms: BACKOFF_MS },
      steps: [
        { do: "fail", message: "conformance: fails, then waits the backoff" },
        { do: "succeed", result: { after: "backoff" } },
      ],
    },
    {
      name: "permanent",
      delivery: "dispatch",
      options: { retry: 3 },
      steps: [{ do: "permanent", message: "conformance: permanent failure" }],
    },
    {
      name: "exhausted",
      delivery: "dispatch",
      options: { retry: 1 },
      steps: [{ do: "fail", message: "conformance: always fails" }],
    },
    {
      name: "heartbeat",
      delivery: "dispatch",
      options: {},
      steps: [
        { do: "succeed", work_ms: Math.round(ackWaitMs * 2.5), result: { worked: "past the ack wait" } },
      ],
    },
    {
      name: "redelivery",
      delivery: "dispatch",
      options: { retry: 1 },
      steps: [{ do: "vanish" }, { do: "succeed", result: { after: "a redelivery" } }],
    },
    {
      name: "worker-died",
      delivery: "dispatch",
      options: { retry: 0 },
      steps: [{ do: "vanish" }, { do: "succeed", result: { ran: "more often than retry allows" } }],
    },
    {
      name: "timeout",
      delivery: "dispatch",
      options: { timeout_ms: TIMEOUT_MS },
      steps: [{ do: "succeed", work_ms: 4 * TIMEOUT_MS, result: { late: true } }],
    },
    {
      name: "not-before",
      delivery: "not-before",
      options: {},
      steps: [{ do: "succeed", result: { due: true } }],
    },
    { name: "malformed", delivery: "malformed", options: {}, steps: [] },
    {
      name: "skipped",
      delivery: "cancelled-member",
      options: {},
      steps: [{ do: "succeed", result: { ran: "a member of a cancelled batch" } }],
    },
  ];
}

export function casePayload(c: Case): unknown {
  return { conformance: { case: c.name, steps: c.steps } };
}

/** The attempt a case is on after `attempt` failed runs: which step the worker runs. */
export function stepAt(c: Case, attempt: number): Step | undefined {
  return c.steps[Math.min(attempt, c.steps.length - 1)];
}

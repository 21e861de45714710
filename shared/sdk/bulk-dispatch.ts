/**
 * @module
 * `dispatchMany` on the wire: its jobs go to `jetbus.v1.dispatch.bulk` in chunks, a few in flight, each with
 * `notify: false` (nobody watches them, so no done notice is sent). A dispatcher older than that field refuses it
 * as an unknown one, job by job and without dispatching the job: those jobs are sent again without it, and this
 * client leaves it out from then on (its jobs then get notices, which cost messages and break nothing).
 */
import { ErrorCodes } from "../protocol/error-codes.ts";
import type { BulkDispatchOk, BulkItemResult, JobRequest } from "../protocol/schemas.ts";
import { REQUEST_SUBJECTS } from "../protocol/subjects.ts";
import type { Requester } from "./requester.ts";
import { chunk } from "./workflow-dispatch.ts";

/** Chunks in flight at once: they keep the dispatcher busy without one huge request. */
const LANES = 4;

/** Whether a bulk entry was refused for `notify` alone (a dispatcher that predates it). */
export function refusedForNotifyOnly(r: BulkItemResult): boolean {
  if (r.ok || r.error.code !== ErrorCodes.Validation) return false;
  const errors = (r.error.details as { errors?: unknown } | undefined)?.errors;
  return (
    Array.isArray(errors) &&
    errors.length === 1 &&
    typeof errors[0] === "string" &&
    /^jobs\[\d+\]\.notify: is not a known field$/.test(errors[0])
  );
}

export class BulkDispatcher {
  private sendsNotify = true;

  constructor(
    private readonly requester: Requester,
    private readonly maxPayload: () => number,
  ) {}

  /** One result per request, in order. */
  async send(requests: readonly JobRequest[]): Promise<BulkItemResult[]> {
    const withNotify = this.sendsNotify;
    const results = await this.sendAll(
      withNotify ? requests.map((r) => ({ ...r, notify: false })) : requests,
    );
    if (!withNotify) return results;
    const again = results.flatMap((r, i) => (refusedForNotifyOnly(r) ? [i] : []));
    if (again.length === 0) return results;
    this.sendsNotify = false;
    const resent = await this.sendAll(again.map((i) => requests[i]!));
    again.forEach((i, k) => (results[i] = resent[k]!));
    return results;
  }

  private async sendAll(requests: readonly JobRequest[]): Promise<BulkItemResult[]> {
    const chunks = chunk(requests, Math.floor(this.maxPayload() / 2));
    const replies: BulkItemResult[][] = new Array(chunks.length);
    let next = 0;
    const lanes = Array.from({ length: Math.min(LANES, chunks.length) }, async () => {
      while (next < chunks.length) {
        const i = next++;
        const reply = await this.requester.request<BulkDispatchOk>(REQUEST_SUBJECTS.dispatchBulk, {
          v: 1,
          jobs: chunks[i],
        });
        replies[i] = reply.results;
      }
    });
    await Promise.all(lanes);
    return replies.flat();
  }
}

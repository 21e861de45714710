/**
 * @module
 * KV `jetbus-workers`, key = worker id: what a live worker serves, refreshed by heartbeat. Types with pending
 * jobs and no live worker show up in `jetbus queues`, in metrics and in the coordinator's reconciler.
 */
import { Type, type Static } from "@sinclair/typebox";
import { EpochMillis, JobType, QueueName } from "./fields.ts";

export const WorkerRecord = Type.Object({
  v: Type.Literal(1),
  id: Type.String(),
  host: Type.String(),
  pid: Type.Integer(),
  started_at: EpochMillis,
  heartbeat_at: EpochMillis,
  heartbeat_ms: Type.Integer({ minimum: 1 }),
  serves: Type.Array(
    Type.Object({ queue: QueueName, type: JobType, concurrency: Type.Integer({ minimum: 1 }) }),
  ),
});
export type WorkerRecord = Static<typeof WorkerRecord>;

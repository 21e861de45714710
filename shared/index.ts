/**
 * @module
 * jetbus: jobs, chains and batches on NATS JetStream. The public API, listed by name.
 *
 * ```ts
 * import { connectBus, job } from "jetbus";
 * const bus = await connectBus({ servers: process.env.NATS_URL });
 * bus.register("monitor:poll", async (ctx) => fetch(ctx.bind<{ url: string }>().url, { signal: ctx.signal }));
 * await bus.startWorkers();
 * const { dispatchId } = await bus.dispatch(job("monitor:poll", { url }).retry(3).backoff(500));
 * ```
 */
export { connectBus, NatsBus } from "./sdk/nats-bus.ts";
export type { BusOptions } from "./sdk/nats-bus.ts";
export type { NatsAuth, TlsFiles } from "./nats/credentials.ts";
export { job, Job } from "./sdk/job.ts";
export type { JobOptions } from "./sdk/job.ts";
export { BatchBuilder, ChainBuilder } from "./sdk/builders.ts";
export { createFakeBus, FakeBus } from "./sdk/fake-bus.ts";
export type { RecordedBatch, RecordedChain, RecordedDispatch } from "./sdk/fake-bus.ts";
export { multiObserver } from "./sdk/events.ts";
export type {
  Bus,
  BusEvent,
  DeadLetterInfo,
  DeadLetters,
  DispatchManyResult,
  DispatchResult,
  Observer,
  ObserveOptions,
  StartWorkersOptions,
  Subscription,
  WaitOptions,
  WaitOutcome,
} from "./sdk/types.ts";
export type { BatchInfo, ChainInfo, WorkflowInfo } from "./protocol/workflow-info.ts";

export { JobContext } from "./worker/context.ts";
export { compose } from "./worker/middleware.ts";
export type { Handler, Middleware, Next } from "./worker/middleware.ts";
export type { RegisterOptions } from "./worker/worker-host.ts";
export { skipWhen } from "./worker/middleware/skip-when.ts";
export { failOnError } from "./worker/middleware/fail-on-error.ts";
export { retryPolicy } from "./worker/middleware/retry-policy.ts";
export { rateLimit } from "./worker/middleware/rate-limit.ts";
export type { RateLimitOptions } from "./worker/middleware/rate-limit.ts";
export { withoutOverlapping } from "./worker/middleware/without-overlapping.ts";
export type { WithoutOverlappingOptions } from "./worker/middleware/without-overlapping.ts";
export { KvRateLimiter } from "./worker/middleware/kv-rate-limiter.ts";
export type { RateDecision, RateLimiter } from "./worker/middleware/kv-rate-limiter.ts";
export { KvLocker } from "./worker/middleware/kv-locker.ts";
export type { Lock, Locker, LockResult } from "./worker/middleware/kv-locker.ts";
/** The KV bucket handle `KvLocker` and `KvRateLimiter` write to (keys with a server TTL). */
export { TtlBucket } from "./nats/kv-ttl.ts";

export {
  DuplicateError,
  JetbusError,
  NotFoundError,
  OverlappingError,
  PermanentError,
  RateLimitedError,
  ReleaseError,
  TimeoutError,
  ValidationError,
} from "./protocol/errors.ts";
export { ErrorCodes } from "./protocol/error-codes.ts";
export type { ErrorCode } from "./protocol/error-codes.ts";
export { PROTOCOL_VERSION, REQUEST_SUBJECTS, subjects } from "./protocol/subjects.ts";
export type { EventKind } from "./protocol/schemas.ts";
export { SERVER_FEATURES, SERVER_FLOOR, UnsupportedServerError } from "./protocol/server-version.ts";
export type { ServerFeature } from "./protocol/server-version.ts";
export { requireServerFeature, requireSupportedServer, serverHasFeature } from "./nats/server-version.ts";

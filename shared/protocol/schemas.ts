/**
 * @module
 * The protocol's schemas by name: the source of the generated JSON Schemas in `shared/protocol/schema/`
 * (`npm run schemas`) and of the runtime validators. Types are re-exported by name.
 */
import { ErrorBodyDocumented } from "./fields.ts";
import { JobOptionsWire, JobRequest } from "./job-request.ts";
import { DeadLetter } from "./dead-letter.ts";
import { JobEnvelope } from "./envelope.ts";
import { EventMessage } from "./event.ts";
import { DoneNotice, OutcomeMessage, ResultRecord } from "./outcome.ts";
import {
  BatchAppendRequest,
  BatchCancelRequest,
  BatchCreateRequest,
  BatchSealRequest,
  BulkDispatchReply,
  BulkDispatchRequest,
  ChainRequest,
  DispatchReply,
  DispatchRequest,
  WorkflowReply,
} from "./requests.ts";
import { ResultBatch } from "./results.ts";
import { WorkerRecord } from "./worker-record.ts";
import { WorkflowView } from "./workflow-view.ts";

export const SCHEMAS = {
  "job-request": JobRequest,
  "job-options": JobOptionsWire,
  "error-body": ErrorBodyDocumented,
  "dispatch-request": DispatchRequest,
  "dispatch-reply": DispatchReply,
  "bulk-dispatch-request": BulkDispatchRequest,
  "bulk-dispatch-reply": BulkDispatchReply,
  "chain-request": ChainRequest,
  "batch-create-request": BatchCreateRequest,
  "batch-append-request": BatchAppendRequest,
  "batch-seal-request": BatchSealRequest,
  "batch-cancel-request": BatchCancelRequest,
  "workflow-reply": WorkflowReply,
  "job-envelope": JobEnvelope,
  "outcome-message": OutcomeMessage,
  "result-record": ResultRecord,
  "result-batch": ResultBatch,
  "done-notice": DoneNotice,
  "event-message": EventMessage,
  "dead-letter": DeadLetter,
  "worker-record": WorkerRecord,
  "workflow-view": WorkflowView,
} as const;

export type { ErrorBody } from "./fields.ts";
export type { JobOptionsWire, JobRequest } from "./job-request.ts";
export type { DeadLetter, DeadLetterReason } from "./dead-letter.ts";
export type { CallbackInfo, JobEnvelope } from "./envelope.ts";
export type { BusEventWire, EventKind, EventMessage } from "./event.ts";
export type { DoneNotice, OutcomeEntry, OutcomeMessage, OutcomeStatus, ResultRecord } from "./outcome.ts";
export type { ResultBatch } from "./results.ts";
export type {
  BatchAppendRequest,
  BatchCancelRequest,
  BatchCreateRequest,
  BatchSealRequest,
  BulkDispatchOk,
  BulkDispatchReply,
  BulkDispatchRequest,
  BulkItemResult,
  ChainRequest,
  DispatchOk,
  DispatchReply,
  DispatchRequest,
  ErrorReply,
  WorkflowOk,
  WorkflowReply,
} from "./requests.ts";
export type { WorkerRecord } from "./worker-record.ts";
export type { BatchView, CallbackKind, ChainView, WorkflowView } from "./workflow-view.ts";

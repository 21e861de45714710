/**
 * @module
 * Span attribute names: the OpenTelemetry messaging conventions (still "incubating", so spelled out here
 * rather than imported from the incubating entry point) plus jetbus's own.
 */
export const ATTR = {
  system: "messaging.system",
  operationType: "messaging.operation.type",
  operationName: "messaging.operation.name",
  destination: "messaging.destination.name",
  messageId: "messaging.message.id",
  conversationId: "messaging.message.conversation_id",
  consumerGroup: "messaging.consumer.group.name",
  bodySize: "messaging.message.body.size",
  errorType: "error.type",
  dispatchId: "jetbus.dispatch_id",
  jobType: "jetbus.job.type",
  queue: "jetbus.queue",
  attempt: "jetbus.attempt",
  chainId: "jetbus.chain_id",
  batchId: "jetbus.batch_id",
  callback: "jetbus.callback",
  outcome: "jetbus.outcome",
  batchMembersTotal: "jetbus.batch.members_total",
  outcomes: "jetbus.outcomes",
} as const;

export const MESSAGING_SYSTEM = "nats";
/** A batch callback links to at most this many member spans; the total rides as an attribute. */
export const MAX_LINKS = 128;

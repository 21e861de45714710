/**
 * @module
 * Deterministic ids derived from the workflow id: a republished job or event carries the same id, so
 * JetStream's message-id dedupe and the store's idempotence make effects exactly-once.
 */
export const nodeJobId = (chainId: string, index: number) => `${chainId}_n${index}`;
export const memberJobId = (batchId: string, index: number) => `${batchId}_m${index}`;
export const callbackJobId = (workflowId: string, kind: "then" | "catch" | "finally") =>
  `${workflowId}_${kind}`;
export const progressJobId = (batchId: string, seq: number) => `${batchId}_progress${seq}`;
export const eventId = (workflowId: string, kind: string, discriminator?: string | number) =>
  discriminator === undefined ? `${workflowId}.${kind}` : `${workflowId}.${kind}.${discriminator}`;

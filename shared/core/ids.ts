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

/** The workflow a derived job id belongs to (the inverse of the builders above), or null for any other id. */
export function parseWorkflowJobId(
  jobId: string,
): { workflowId: string; role: "node" | "member" | "callback" | "progress"; index?: number } | null {
  const m = /^(.+)_(?:(n|m)(\d+)|(then|catch|finally)|progress(\d+))$/.exec(jobId);
  if (!m) return null;
  if (m[2]) return { workflowId: m[1]!, role: m[2] === "n" ? "node" : "member", index: Number(m[3]) };
  if (m[4]) return { workflowId: m[1]!, role: "callback" };
  return { workflowId: m[1]!, role: "progress", index: Number(m[5]) };
}

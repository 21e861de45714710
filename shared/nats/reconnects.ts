/**
 * @module
 * "The connection came back": nats.js drops whatever was published while a connection was down (its outbound
 * buffer is reset on every dial), so a request in flight then is never answered and a core notice sent to us
 * then is never seen. Callers re-send or re-read on reconnect instead of waiting for a time-out.
 */
import type { NatsConnection } from "@nats-io/transport-node";

const watchers = new WeakMap<NatsConnection, Set<() => void>>();

/** Calls `fn` each time `nc` reconnects (one status listener per connection); returns the unsubscribe. */
export function onReconnect(nc: NatsConnection, fn: () => void): () => void {
  let fns = watchers.get(nc);
  if (!fns) {
    const created = new Set<() => void>();
    watchers.set(nc, (fns = created));
    void (async () => {
      for await (const s of nc.status()) if (s.type === "reconnect") for (const f of [...created]) f();
    })().catch(() => undefined);
  }
  fns.add(fn);
  const mine = fns;
  return () => void mine.delete(fn);
}

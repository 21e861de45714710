/**
 * @module
 * A `withoutOverlapping` lock whose holder is killed (SIGKILL, so it never releases) frees itself by server TTL:
 * another worker process gets the lock once the TTL has run out, long before the dead worker's job would even
 * be redelivered, with nothing sweeping the bucket.
 */
import { after, before, it } from "node:test";
import assert from "node:assert/strict";
import { Kvm } from "@nats-io/kv";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { job } from "../../shared/sdk/job.ts";
import type { Bus } from "../../shared/sdk/types.ts";
import { BUCKETS, keys } from "../../shared/protocol/names.ts";
import { LOCK_TTL_MS } from "../fixtures/reports.ts";
import { FAST_ENV, startMesh, type Mesh } from "../helpers/mesh.ts";
import { Reports } from "../helpers/process-kit.ts";
import { ProcessPool, type ServiceProcess } from "../helpers/processes.ts";
import { uniq } from "../helpers/names.ts";

const Q = uniq("lockq");
let mesh: Mesh;
let bus: Bus;
let reports: Reports;
let nc: NatsConnection;
let workers: ServiceProcess[];
const pool = new ProcessPool(() => mesh.url);

before(async () => {
  mesh = await startMesh();
  workers = await Promise.all([
    pool.worker([Q], { JETBUS_CONCURRENCY: "1" }),
    pool.worker([Q], { JETBUS_CONCURRENCY: "1" }),
  ]);
  bus = await mesh.bus();
  reports = await Reports.open(mesh.url);
  nc = await connect({ servers: mesh.url, noAsyncTraces: true });
});

after(async () => {
  await pool.killAll();
  await reports?.close();
  await nc?.close();
  await mesh?.stop();
});

it("a lock held by a worker killed with SIGKILL frees by TTL, and another worker then takes it", async () => {
  const holder = await bus.dispatch(job("t:exclusive", { ms: 30_000 }).onQueue(Q));
  const [held] = await reports.waitFor(
    "the first job to start (holding the lock)",
    (r) => r.dispatchId === holder.dispatchId,
  );
  const victim = workers.find((p) => p.proc.pid === held!.pid)!;
  assert.ok(victim, `a worker with pid ${held!.pid}`);
  await victim.kill();

  const locks = await new Kvm(nc).open(BUCKETS.locks);
  const lockKey = keys.lock(`ov-${Q}`);
  assert.equal((await locks.get(lockKey))?.operation, "PUT", "the dead worker's lock is still held");

  const next = await bus.dispatch(job("t:exclusive", { ms: 0 }).onQueue(Q));
  const [started] = await reports.waitFor(
    "the second job to get the lock",
    (r) => r.dispatchId === next.dispatchId,
  );
  assert.notEqual(started!.pid, held!.pid);
  const after = started!.at - held!.at;
  assert.ok(after >= LOCK_TTL_MS - 100, `the lock was taken ${after} ms after it was held: before its TTL`);
  const ackWait = Number(FAST_ENV.JETBUS_ACK_WAIT_MS);
  assert.ok(after < ackWait, `the lock was free only after ${after} ms: not by its ${LOCK_TTL_MS} ms TTL`);
  assert.equal((await bus.wait(next.dispatchId, { timeout: 10_000 })).status, "succeeded");
});

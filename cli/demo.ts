/**
 * @module
 * The demo workload `npm start` runs against the example handlers, printing each event as it happens.
 */
import { connectBus } from "../shared/sdk/nats-bus.ts";
import { job } from "../shared/sdk/job.ts";
import type { BusEvent } from "../shared/sdk/types.ts";

function describe(e: BusEvent): string {
  const who = e.chainId ?? e.batchId ?? e.dispatchId ?? "";
  const what = [
    e.jobType,
    e.attempt !== undefined ? `attempt ${e.attempt}` : "",
    e.counts ? `${e.counts.processed}/${e.counts.total}` : "",
    e.error ? `error: ${e.error.message}` : "",
  ]
    .filter(Boolean)
    .join(" ");
  return `  event ${e.kind.padEnd(19)} ${who} ${what}`;
}

export async function runDemo(url: string): Promise<void> {
  const bus = await connectBus({ servers: url, name: "jetbus-demo" });
  const sub = bus.observe((e) => {
    if (e.kind !== "dispatch_started") process.stdout.write(`${describe(e)}\n`);
  });
  await sub.ready;
  try {
    process.stdout.write("\n=== demo: a job, a retried job, a failing job, a delayed job ===\n");
    const hello = await bus.dispatch(job("demo:hello", { name: "jetbus" }));
    const flaky = await bus.dispatch(job("demo:flaky").retry(3).backoff(200));
    const fail = await bus.dispatch(job("demo:fail").retry(2));
    const later = await bus.dispatch(job("demo:hello", { name: "later" }).delay(1_000));
    for (const [name, d] of [
      ["hello", hello],
      ["flaky", flaky],
      ["fail", fail],
      ["delayed", later],
    ] as const) {
      const o = await bus.wait(d.dispatchId, { timeout: 15_000 });
      process.stdout.write(
        `  → ${name}: ${o.status} after ${o.attempts} attempt(s) ${o.status === "succeeded" ? JSON.stringify(o.result) : o.error.message}\n`,
      );
    }

    process.stdout.write("\n=== demo: a chain of 3 steps with finally ===\n");
    const chainId = await bus
      .chain(job("demo:step", { step: 1 }), job("demo:step", { step: 2 }), job("demo:step", { step: 3 }))
      .finally(job("demo:finally"))
      .dispatch();
    await bus.wait(chainId, { timeout: 15_000 });
    const chain = await bus.findChain(chainId);
    process.stdout.write(
      `  → chain ${chainId}: completed=${chain.completed} steps=${chain.nextIndex}/${chain.jobTypes.length}\n`,
    );

    process.stdout.write(
      "\n=== demo: a batch of 20 with progress, then and finally; one that allows a failure ===\n",
    );
    const members = Array.from({ length: 20 }, (_, i) => job("demo:sleep", { ms: 20 + (i % 5) * 10 }));
    const batchId = await bus
      .batch(...members)
      .name("demo-batch")
      .progress(job("demo:progress"))
      .then(job("demo:then"))
      .finally(job("demo:finally"))
      .dispatch();
    const lenient = await bus
      .batch(job("demo:hello"), job("demo:fail"), job("demo:hello"))
      .allowFailures()
      .catch(job("demo:catch"))
      .then(job("demo:then"))
      .finally(job("demo:finally"))
      .dispatch();
    for (const id of [batchId, lenient]) {
      await bus.wait(id, { timeout: 30_000 });
      const b = await bus.findBatch(id);
      process.stdout.write(
        `  → batch ${id}: processed ${b.processed}/${b.total}, failed ${b.failed}, cancelled ${b.cancelled}\n`,
      );
    }
    const dead = await bus.deadLetters.list({ limit: 5 });
    process.stdout.write(
      `\n  dead letters: ${dead.map((d) => `#${d.seq} ${d.jobType} (${d.reason})`).join(", ") || "none"}\n`,
    );
  } finally {
    await sub.stop();
    await bus.shutdown();
  }
}

/**
 * @module
 * A set of service PROCESSES for one test file: each process joins the set as soon as it is ready (so a
 * failed start in `before` still leaves nothing running), readiness may take long on a loaded machine, and
 * `killAll()` ends them all. Workers run the fixture handlers (test/fixtures/process-handlers.ts).
 */
import type { Env } from "./mesh.ts";
import { FIXTURE_HANDLERS } from "./process-kit.ts";
import { spawnService, type ServiceProcess } from "./processes.ts";

/** Starting 6–9 processes at once on 2 busy cores can take longer than the usual 20 s. */
const READY_TIMEOUT_MS = 40_000;

export class ServiceSet {
  readonly all: ServiceProcess[] = [];

  private async add(p: Promise<ServiceProcess>): Promise<ServiceProcess> {
    const sp = await p;
    this.all.push(sp);
    return sp;
  }

  service(name: "dispatcher" | "coordinator", natsUrl: string, env: Env = {}): Promise<ServiceProcess> {
    return this.add(spawnService(name, natsUrl, env, { readyTimeoutMs: READY_TIMEOUT_MS }));
  }

  /** A worker process running the fixture handlers on `queues`. */
  worker(natsUrl: string, queues: string[], env: Env = {}): Promise<ServiceProcess> {
    return this.add(
      spawnService(
        "worker",
        natsUrl,
        { JETBUS_HANDLERS: FIXTURE_HANDLERS, JETBUS_QUEUES: queues.join(","), ...env },
        { readyTimeoutMs: READY_TIMEOUT_MS },
      ),
    );
  }

  async killAll(): Promise<void> {
    await Promise.allSettled(this.all.map((p) => p.kill()));
  }
}

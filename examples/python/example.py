"""The Python example: `worker` serves a type (running the conformance script, docs/protocol.md §8);
`dispatch` sends a job, a chain and a batch with callbacks and prints how each ended, one JSON line each.

    python3 example.py worker --queue default --type py:step
    python3 example.py dispatch --queue default --foreign py:step --ts ts
"""

import argparse
import json
import os
import secrets
import signal
import sys
import time

from jetbus import Client, JobFailure, Vanish, Worker
from nats_text import Connection


def script_step(job):
    """The conformance script: the payload says what to do on each attempt (the last step repeats)."""
    script = job.payload.get("conformance") if isinstance(job.payload, dict) else None
    if not script:
        return {"echo": job.payload, "lang": "python"}
    steps = script["steps"]
    step = steps[min(job.attempt, len(steps) - 1)]
    if step.get("work_ms"):
        time.sleep(step["work_ms"] / 1000)  # the worker sends +WPI meanwhile
    do = step["do"]
    if do == "succeed":
        return step.get("result")
    if do == "fail":
        raise JobFailure(step.get("code", "HANDLER_ERROR"), step.get("message", "failed as the script asked"))
    if do == "permanent":
        raise JobFailure("PERMANENT", step.get("message", "failed permanently as the script asked"))
    if do == "vanish":
        raise Vanish()
    raise JobFailure("PERMANENT", f"unknown conformance step {do!r}")


def work(args, worker_class=Worker):
    nc = Connection(os.environ.get("NATS_URL", "127.0.0.1:4222"), name="jetbus-python-worker")
    worker = worker_class(nc, args.queue, args.type, script_step)
    signal.signal(signal.SIGTERM, lambda *_: worker.stopping.set())
    try:
        worker.run()
    finally:
        try:
            worker.stop()  # the registry record goes at once
        finally:
            nc.close()


def dispatch(args):
    nc = Connection(os.environ.get("NATS_URL", "127.0.0.1:4222"), name="jetbus-python-client")
    client = Client(nc)
    traceparent = f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01"  # the caller's span, joined by every job
    print(json.dumps({"traceparent": traceparent}), flush=True)
    q, ts, foreign = args.queue, args.ts, args.foreign
    succeed = {"conformance": {"case": "demo", "steps": [{"do": "succeed", "result": {"lang": "python"}}]}}
    flaky = {"conformance": {"case": "demo", "steps": [{"do": "fail", "message": "first try fails"},
                                                       {"do": "succeed", "result": {"lang": "python", "retried": True}}]}}

    job_id = "dsp_" + secrets.token_hex(8)
    watch = client.watch_done(job_id)  # subscribe before dispatching
    client.dispatch({"dispatch_id": job_id, "type": f"{ts}:hello", "queue": q, "payload": {"name": "python"}}, traceparent)
    print(json.dumps({"job": client.wait_done(watch, dispatch_id=job_id)}), flush=True)

    chain_id = "chn_" + secrets.token_hex(8)
    watch = client.watch_done(chain_id)
    client.chain([{"type": f"{ts}:first", "payload": {"step": 0}}, {"type": foreign, "payload": succeed},
                  {"type": f"{ts}:last", "payload": {"step": 2}}], traceparent,
                 chain_id=chain_id, queue=q, **{"catch": {"type": f"{ts}:catch"}, "finally": {"type": f"{ts}:finally"}})
    print(json.dumps({"chain": client.wait_done(watch)}), flush=True)

    batch_id = "bat_" + secrets.token_hex(8)
    watch = client.watch_done(batch_id)
    client.batch([{"type": f"{ts}:hello", "payload": {"name": "member"}},
                  {"type": foreign, "payload": flaky, "options": {"retry": 1}}], traceparent,
                 batch_id=batch_id, queue=q, name="python-batch",
                 **{"then": {"type": f"{ts}:then"}, "catch": {"type": f"{ts}:catch"},
                    "finally": {"type": f"{ts}:finally"}, "progress": {"type": f"{ts}:progress"}})
    print(json.dumps({"batch": client.wait_done(watch)}), flush=True)
    nc.close()


def main(argv=None, worker_class=Worker):
    p = argparse.ArgumentParser(description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    w = sub.add_parser("worker")
    w.add_argument("--queue", default="default")
    w.add_argument("--type", required=True)
    d = sub.add_parser("dispatch")
    d.add_argument("--queue", default="default")
    d.add_argument("--foreign", required=True, help="the type this language's worker serves")
    d.add_argument("--ts", default="ts", help="prefix of the types TypeScript workers serve")
    args = p.parse_args(argv)
    if args.command == "worker":
        work(args, worker_class)
    else:
        dispatch(args)


if __name__ == "__main__":
    sys.exit(main())

"""jetbus protocol v1 in Python, on `nats_text` (standard library only): a reference client to port.

`Client` dispatches jobs, chains and batches and waits for their outcome; `Worker` serves one (queue, type)
following docs/protocol.md, "Implementing a worker", step by step. Tested against nats-server 2.15.1 with
CPython 3.11 (see docs/protocol.md, "Clients tested").
"""

import base64
import hashlib
import json
import os
import re
import secrets
import socket
import threading
import time
import urllib.request
from datetime import datetime, timezone

from nats_text import NatsError

JOBS_STREAM = "JETBUS_JOBS"


def dead_letter_subject(env):
    """jetbus.dlq.<queue>.<type>, with @<workflow id> before the type for a chain's or batch's job (protocol §2)."""
    wf = (env.get("batch") or env.get("chain") or {}).get("id") or (env.get("callback") or {}).get("workflow_id")
    if wf:
        return f"jetbus.dlq.{env['queue']}.@{wf}.{env['type']}"
    return f"jetbus.dlq.{env['queue']}.{env['type']}"


def now_ms():
    return int(time.time() * 1000)


def new_id(prefix):
    return f"{prefix}_{secrets.token_hex(8)}"


def consumer_name(queue, job_type):
    """The one durable consumer every worker of (queue, type) shares (docs/protocol.md, "The consumer")."""
    readable = re.sub(r"[^A-Za-z0-9_-]", "-", job_type)[:48]
    digest = hashlib.sha256(f"{queue}\0{job_type}".encode()).hexdigest()[:10]
    return f"jobs-{queue}-{readable}-{digest}"


def json_bytes(value):
    return json.dumps(value, separators=(",", ":")).encode()


def trace_headers(traceparent, tracestate=None):
    h = {"traceparent": traceparent} if traceparent else {}
    if traceparent and tracestate:
        h["tracestate"] = tracestate
    return h


class Client:
    """Dispatching and waiting. Every request carries ids made here, so retrying it is safe."""

    def __init__(self, nc):
        self.nc = nc

    def _call(self, subject, body, traceparent=None, timeout=10):
        reply = self.nc.request(subject, json_bytes(body), trace_headers(traceparent) or None, timeout).json()
        if not reply.get("ok"):
            e = reply.get("error", {})
            raise NatsError(f"{e.get('code')}: {e.get('message')}", e.get("code"))
        return reply

    def dispatch(self, job, traceparent=None):
        job = {"dispatch_id": new_id("dsp"), **job}
        return self._call("jetbus.v1.dispatch", {"v": 1, "job": job}, traceparent)

    def chain(self, jobs, traceparent=None, **extra):
        body = {"v": 1, "chain_id": new_id("chn"), "dispatch_id": new_id("dsp"), "jobs": jobs, **extra}
        return self._call("jetbus.v1.chain", body, traceparent)

    def batch(self, jobs, traceparent=None, **extra):
        body = {"v": 1, "batch_id": new_id("bat"), "dispatch_id": new_id("dsp"), "jobs": jobs, "seal": True, **extra}
        return self._call("jetbus.v1.batch.create", body, traceparent)

    def watch_done(self, ident):
        """Subscribe to `jetbus.done.<id>` BEFORE dispatching (or before reading the result record)."""
        return self.nc.subscribe(f"jetbus.done.{ident}")

    def result_record(self, dispatch_id):
        """The plain job's record in KV `jetbus-results`, or None."""
        try:
            got = self.nc.js_api("STREAM.MSG.GET.KV_jetbus-results", {"last_by_subj": f"$KV.jetbus-results.{dispatch_id}"})
        except NatsError:
            return None
        return json.loads(base64.b64decode(got["message"]["data"]))

    def wait_done(self, watch, timeout=30, dispatch_id=None):
        sid, box = watch
        try:
            if dispatch_id:  # a plain job may have finished before we subscribed: the record says so
                record = self.result_record(dispatch_id)
                if record:
                    return {"v": 1, "kind": "job", "record": record}
            return box.get(timeout=timeout).json()
        finally:
            self.nc.unsubscribe(sid)


class Vanish(Exception):
    """Raised by a handler to behave as a worker that died mid-run: no outcome, no ack, no more +WPI."""


class JobFailure(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


class Job:
    def __init__(self, env, attempt, working):
        self.env, self.attempt, self.working = env, attempt, working
        self.payload = env.get("payload")


class Span:
    """One CONSUMER span per delivery, a child of the job message's `traceparent`, exported as OTLP/HTTP JSON."""

    def __init__(self, traceparent, name, attributes):
        parts = (traceparent or "").split("-")
        self.valid = len(parts) == 4 and len(parts[1]) == 32 and len(parts[2]) == 16
        self.trace_id, self.parent_id = (parts[1], parts[2]) if self.valid else (secrets.token_hex(16), "")
        self.flags = parts[3] if self.valid else "01"
        self.span_id, self.name, self.attributes = secrets.token_hex(8), name, attributes
        self.start, self.error = time.time_ns(), None

    def traceparent(self):
        return f"00-{self.trace_id}-{self.span_id}-{self.flags}"

    def export(self, endpoint, service):
        attrs = [{"key": k, "value": {"intValue": str(v)} if isinstance(v, int) else {"stringValue": str(v)}}
                 for k, v in self.attributes.items()]
        span = {"traceId": self.trace_id, "spanId": self.span_id, "parentSpanId": self.parent_id,
                "name": self.name, "kind": 5, "startTimeUnixNano": str(self.start),
                "endTimeUnixNano": str(time.time_ns()), "attributes": attrs,
                "status": {"code": 2, "message": self.error} if self.error else {"code": 1}}
        body = {"resourceSpans": [{"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]},
                                   "scopeSpans": [{"scope": {"name": "jetbus-python"}, "spans": [span]}]}]}
        req = urllib.request.Request(endpoint.rstrip("/") + "/v1/traces", json_bytes(body),
                                     {"content-type": "application/json"})
        try:
            urllib.request.urlopen(req, timeout=2).read()
        except OSError as exc:  # a collector that is down never stops a job
            print(f"otlp export failed: {exc}", flush=True)


class Worker:
    """Serves one (queue, type), one job at a time. `handler(job)` returns a result or raises."""

    HOLD_MS = 1000  # a job due within this long is held, not parked

    def __init__(self, nc, queue, job_type, handler, env=os.environ):
        self.nc, self.queue, self.type, self.handler = nc, queue, job_type, handler
        self.id = env.get("JETBUS_WORKER_ID") or new_id("py")
        self.ack_wait_ms = int(env.get("JETBUS_ACK_WAIT_MS", "10000"))
        self.max_ack_pending = int(env.get("JETBUS_MAX_ACK_PENDING", "10000"))
        self.heartbeat_ms = int(env.get("JETBUS_WORKER_HEARTBEAT_MS", "5000"))
        self.otlp = env.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        self.service = env.get("OTEL_SERVICE_NAME", "jetbus-python-worker")
        self.consumer = consumer_name(queue, job_type)
        self.cancelled, self.stopping = set(), threading.Event()

    # -- start: streams, consumer, registry, cancellations ---------------------------------------
    def wait_for_stream(self, name):
        """The jetbus services create the streams; a worker that starts first waits for them."""
        while not self.stopping.is_set():
            try:
                return self.nc.js_api(f"STREAM.INFO.{name}")
            except NatsError as exc:
                if exc.args[1:] != (10059,):
                    raise
            print(f"waiting for stream {name} (start a jetbus dispatcher)", flush=True)
            time.sleep(1)

    def bind_consumer(self):
        """Read first, create only if missing, with exactly the documented configuration."""
        try:
            info = self.nc.js_api(f"CONSUMER.INFO.{JOBS_STREAM}.{self.consumer}")
        except NatsError as exc:
            if exc.args[1:] != (10014,):
                raise
            config = {"durable_name": self.consumer, "filter_subject": f"jetbus.jobs.{self.queue}.{self.type}",
                      "ack_policy": "explicit", "deliver_policy": "all", "ack_wait": self.ack_wait_ms * 1_000_000,
                      "max_deliver": -1, "max_ack_pending": self.max_ack_pending}
            try:
                info = self.nc.js_api(f"CONSUMER.CREATE.{JOBS_STREAM}.{self.consumer}",
                                      {"stream_name": JOBS_STREAM, "config": config, "action": "create"})
            except NatsError:  # another worker created it meanwhile
                info = self.nc.js_api(f"CONSUMER.INFO.{JOBS_STREAM}.{self.consumer}")
        self.ack_wait_ms = info["config"]["ack_wait"] // 1_000_000  # heartbeat by the consumer's real ack wait

    def registry_record(self, started):
        return {"v": 1, "id": self.id, "host": socket.gethostname(), "pid": os.getpid(), "started_at": started,
                "heartbeat_at": now_ms(), "heartbeat_ms": self.heartbeat_ms,
                "serves": [{"queue": self.queue, "type": self.type, "concurrency": 1}]}

    def heartbeat_registry(self):
        """KV `jetbus-workers`: without a live record, workflows waiting on this type fail with NO_WORKER."""
        started = now_ms()
        while not self.stopping.is_set():
            try:
                self.nc.js_publish(f"$KV.jetbus-workers.{self.id}", json_bytes(self.registry_record(started)))
            except (NatsError, TimeoutError) as exc:
                print(f"registry heartbeat failed: {exc}", flush=True)
            self.stopping.wait(self.heartbeat_ms / 1000)

    def watch_cancels(self):
        """An ordered push consumer on KV `jetbus-cancels`: every key is a cancelled batch id."""
        inbox = self.nc.new_inbox()
        self.nc.subscribe(inbox, callback=lambda m: m.status or self.cancelled.add(m.subject.rsplit(".", 1)[-1]))
        self.nc.js_api("CONSUMER.CREATE.KV_jetbus-cancels", {"stream_name": "KV_jetbus-cancels", "config": {
            "deliver_subject": inbox, "deliver_policy": "all", "ack_policy": "none", "filter_subject": "$KV.jetbus-cancels.>",
            "inactive_threshold": 300 * 1_000_000_000, "mem_storage": True, "num_replicas": 1}})

    def run(self):
        self.wait_for_stream(JOBS_STREAM)
        self.bind_consumer()
        self.wait_for_stream("KV_jetbus-workers")
        threading.Thread(target=self.heartbeat_registry, daemon=True).start()
        self.watch_cancels()
        print(f"worker {self.id} ready on {self.queue}/{self.type} (ack wait {self.ack_wait_ms} ms)", flush=True)
        while not self.stopping.is_set():
            msg = self.nc.pull(JOBS_STREAM, self.consumer, expires_ms=2000)
            if msg:
                self.process(msg)

    def stop(self):
        self.stopping.set()
        purge = {"KV-Operation": "PURGE", "Nats-Rollup": "sub"}
        self.nc.js_publish(f"$KV.jetbus-workers.{self.id}", b"", purge)

    # -- one delivery ----------------------------------------------------------------------------
    def publish(self, subject, body, msg_id, headers=None):
        return self.nc.js_publish(subject, json_bytes(body), headers, msg_id)

    def publish_later(self, env, wait_ms, msg_id, trace):
        """The one place that knows how to wait before a job runs (retry backoff, release, not yet due).

        Up to HOLD_MS: on the jobs subject with `not_before`, and whoever receives it holds it. Longer: a
        `Nats-Schedule` message on its own `jetbus.wait.…` subject that the server fires into `jetbus.due.…`
        (which the jobs stream sources) 300 ms early; the receiving worker holds the rest.
        """
        nxt, q, t = dict(env), env["queue"], env["type"]
        nxt.pop("not_before", None)
        if wait_ms <= 0:
            return self.publish(f"jetbus.jobs.{q}.{t}", nxt, msg_id, trace)
        due = nxt["not_before"] = now_ms() + wait_ms
        headers = {**trace, "Jetbus-Not-Before": str(due)}
        if wait_ms <= self.HOLD_MS:
            return self.publish(f"jetbus.jobs.{q}.{t}", nxt, msg_id, headers)
        fire = datetime.fromtimestamp((due - 300) / 1000, timezone.utc)
        headers["Nats-Schedule"] = "@at " + fire.strftime("%Y-%m-%dT%H:%M:%S.") + f"{(due - 300) % 1000:03d}Z"
        headers["Nats-Schedule-Target"] = f"jetbus.due.{q}.{t}"
        token = re.sub(r"[^A-Za-z0-9_@-]", "_", msg_id)  # one subject per schedule: a second would replace it
        return self.publish(f"jetbus.wait.{q}.{t}.{token}", nxt, msg_id, headers)

    def attempt_of(self, env, delivered):
        """Failed runs before this message, plus redeliveries: each means an earlier holder died mid-run."""
        return env["attempt"] + delivered - 1

    def settle(self, msg, outcome, msg_id):
        """The outcome stored (PubAck awaited), then the ack: a crash in between redelivers the job."""
        self.publish(f"jetbus.outcomes.{self.id}", {"v": 1, "outcomes": [outcome]}, msg_id)
        self.nc.ack(msg)
        print(f"{outcome['job_id']} attempt {outcome['attempt']}: {outcome['status']}", flush=True)

    def process(self, msg):
        # $JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<time>.<pending>
        tokens = msg.reply.split(".")
        delivered, seq = int(tokens[-5]), int(tokens[-4])
        trace = trace_headers(msg.header("traceparent"), msg.header("tracestate"))
        try:
            env = decode_envelope(msg.data)
        except ValueError as exc:  # step 1: never leave a bad message unacked
            self.publish(f"jetbus.dlq._invalid.{self.id}", {"v": 1, "reason": "malformed",
                         "raw": msg.data.decode(errors="replace"), "source_subject": msg.subject, "attempts": delivered,
                         "failed_at": now_ms(), "error": {"code": "MALFORMED", "message": str(exc), "retryable": False}},
                         f"dlq-{JOBS_STREAM}-{seq}")
            self.nc.ack(msg)
            return
        opts = env.get("options") or {}
        attempt, retry = self.attempt_of(env, delivered), opts.get("retry", 0)
        started = now_ms()
        span = Span(trace.get("traceparent"), f"process jetbus.jobs.{self.queue}.{self.type}",
                    {"messaging.system": "nats", "messaging.operation.type": "process",
                     "messaging.destination.name": msg.subject, "jetbus.dispatch_id": env["dispatch_id"],
                     "jetbus.job_type": env["type"], "jetbus.queue": env["queue"], "jetbus.attempt": attempt})
        own = trace_headers(span.traceparent(), trace.get("tracestate")) if self.otlp else trace

        def outcome(status, at, **extra):
            o = {"job_id": env["job_id"], "dispatch_id": env["dispatch_id"], "type": env["type"], "queue": env["queue"],
                 "attempt": at, "status": status, "started_at": started, "finished_at": now_ms(), **own, **extra}
            for key in ("chain", "batch", "replay"):
                if key in env:
                    o[key] = env[key]
            if "callback" in env:
                o["callback"] = {k: env["callback"][k] for k in ("kind", "workflow", "workflow_id")}
            return o

        oid = f"{env['job_id']}@o{seq}.{delivered}"  # reused if the outcome publish is retried

        def dead_letter(reason, error, attempts):
            self.publish(dead_letter_subject(env), {"v": 1, "reason": reason,
                         "envelope": env if reason == "worker_died" else {**env, "attempt": attempt},
                         "source_subject": msg.subject, "error": error, "attempts": attempts, "failed_at": now_ms()},
                         f"dlq-{JOBS_STREAM}-{seq}")

        if "batch" in env and "callback" not in env and env["batch"]["id"] in self.cancelled:  # step 2
            return self.settle(msg, outcome("skipped", attempt), oid)
        wait = env.get("not_before", 0) - now_ms()  # step 3
        if wait > self.HOLD_MS:
            self.publish_later(env, wait, f"{env['job_id']}@w{seq}", trace)
            return self.nc.ack(msg)
        if wait > 0:
            self.keep_alive(msg, lambda: time.sleep(wait / 1000))
        if attempt > retry:  # step 5: every earlier holder died mid-run
            error = {"code": "WORKER_DIED", "message": f"delivered {attempt} times, never finished", "retryable": False}
            dead_letter("worker_died", error, attempt)
            return self.settle(msg, outcome("failed", retry, error=error), oid)
        try:  # step 6
            result = self.keep_alive(msg, lambda: self.handler(Job(env, attempt, lambda: self.nc.ack(msg, "+WPI"))),
                                     opts.get("timeout_ms", 0))
        except Vanish:
            return None  # as a dead worker: no outcome, no ack, and the +WPI stopped with keep_alive
        except Exception as exc:  # steps 8 and 9
            code = exc.code if isinstance(exc, JobFailure) else ("TIMEOUT" if isinstance(exc, TimeoutError) else "HANDLER_ERROR")
            error = {"code": code, "message": str(exc) or type(exc).__name__, "retryable": code != "PERMANENT"}
            span.error = f"{code}: {error['message']}"
            if code == "PERMANENT" or attempt >= retry:
                dead_letter("permanent" if code == "PERMANENT" else "exhausted", error, attempt + 1)
                self.settle(msg, outcome("failed", attempt, error=error), oid)
            else:
                self.publish_later({**env, "attempt": attempt + 1}, opts.get("backoff_ms", 0), f"{env['job_id']}@a{seq}", trace)
                self.settle(msg, outcome("retried", attempt, error=error), oid)
        else:  # step 7
            self.settle(msg, outcome("succeeded", attempt, **({} if result is None else {"result": result})), oid)
        finally:
            if self.otlp:
                span.export(self.otlp, self.service)

    def keep_alive(self, msg, fn, timeout_ms=0):
        """Runs fn while sending +WPI every ack_wait / 3; raises TimeoutError past `timeout_ms` (0 = none)."""
        done, box = threading.Event(), {}

        def target():
            try:
                box["value"] = fn()
            except BaseException as exc:
                box["error"] = exc
            done.set()

        threading.Thread(target=target, daemon=True).start()
        interval = self.ack_wait_ms / 3000
        deadline = time.time() + timeout_ms / 1000 if timeout_ms else None
        while not done.wait(min(interval, max(0.001, deadline - time.time())) if deadline else interval):
            if deadline and time.time() >= deadline:
                raise TimeoutError(f"attempt timed out after {timeout_ms} ms")  # the handler thread is left behind
            self.nc.ack(msg, "+WPI")
        if "error" in box:
            raise box["error"]
        return box.get("value")


def decode_envelope(data):
    """A v1 job envelope, or ValueError. Unknown fields are kept (a later minor version may add some)."""
    try:
        env = json.loads(data)
    except ValueError as exc:
        raise ValueError(f"not JSON: {exc}") from None
    if not isinstance(env, dict) or env.get("v") != 1:
        raise ValueError("not a v1 job envelope")
    for key, kind in (("job_id", str), ("dispatch_id", str), ("type", str), ("queue", str), ("attempt", int)):
        if not isinstance(env.get(key), kind):
            raise ValueError(f"job envelope: {key} is missing or not a {kind.__name__}")
    if not isinstance(env.get("options", {}), dict):
        raise ValueError("job envelope: options is not an object")
    return env

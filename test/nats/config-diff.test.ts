/**
 * @module
 * The provisioning planner, pure: which fields of a live config differ from the desired one, which of them
 * can change in place, and that what the server fills in itself (defaults, `_nats.*` metadata, a source's
 * completed fields, a consumer's `pause_until`) is never drift. Also the job-consumer family (its desired
 * config follows from name and filter) and the plan's wording.
 */
import assert from "node:assert/strict";
import type { ConsumerInfo } from "@nats-io/jetstream";
import { describe, it } from "../core/helpers.ts";
import { diffConfig, inStep, planResource, updateFields } from "../../shared/nats/config-diff.ts";
import { describeDiff, planLines } from "../../shared/nats/plan-text.ts";
import {
  bucketSpecs,
  bucketStreamConfig,
  consumerFamilies,
  DEFAULT_TOPOLOGY,
  jobConsumerConfig,
  streamConfigs,
  waitingConsumerConfig,
} from "../../shared/nats/topology.ts";
import { BUCKETS, jobConsumerName, STREAMS, waitingConsumerName } from "../../shared/protocol/names.ts";
import { subjects } from "../../shared/protocol/subjects.ts";

const stream = { kind: "stream", name: "S" } as const;
const consumer = { kind: "consumer", name: "c", stream: "S" } as const;

describe("diffConfig", () => {
  it("compares only the fields the desired config names: server defaults and metadata are not drift", () => {
    const want = { max_age: 0, max_bytes: 10, metadata: { owner: "jetbus" } };
    const have = {
      max_age: 0,
      max_bytes: 10,
      max_consumers: -1,
      sealed: false,
      metadata: { owner: "jetbus", "_nats.ver": "2.15.1", "_nats.level": "5" },
    };
    assert.deepEqual(diffConfig(want, have), []);
  });

  it("names each differing field with what the server has and what the configuration wants", () => {
    assert.deepEqual(diffConfig({ max_age: 5, max_msgs: 1, discard: "new" }, { max_age: 7, max_msgs: 1 }), [
      { field: "max_age", have: 7, want: 5 },
      { field: "discard", have: undefined, want: "new" },
    ]);
  });

  it("a field the server leaves out equals its empty value, and only that", () => {
    assert.deepEqual(diffConfig({ filter_subject: "", max_expires: 0, backoff: [] }, {}), []);
    assert.equal(diffConfig({ max_bytes: -1 }, {}).length, 1);
    assert.equal(diffConfig({ max_age: 0 }, { max_age: 60 }).length, 1);
  });

  it("subjects compare as a set; an extra or a missing subject is drift", () => {
    assert.deepEqual(diffConfig({ subjects: ["a.>", "b.>"] }, { subjects: ["b.>", "a.>"] }), []);
    assert.equal(diffConfig({ subjects: ["a.>"] }, { subjects: ["a.>", "b.>"] }).length, 1);
    assert.equal(diffConfig({ subjects: ["a.>", "b.>"] }, { subjects: ["a.>"] }).length, 1);
  });

  it("sources match in any order, each as a subset of what the server completed", () => {
    const want = {
      sources: [
        { name: "B" },
        { name: "A", subject_transforms: [{ src: "jetbus.due.>", dest: "jetbus.jobs.>" }] },
      ],
    };
    const have = {
      sources: [
        {
          name: "A",
          opt_start_seq: 0,
          filter_subject: "",
          subject_transforms: [{ src: "jetbus.due.>", dest: "jetbus.jobs.>" }],
        },
        { name: "B", opt_start_seq: 0 },
      ],
    };
    assert.deepEqual(diffConfig(want, have), []);
    const moved = {
      sources: [have.sources[0], { name: "B", subject_transforms: [{ src: "x.>", dest: "y.>" }] }],
    };
    assert.deepEqual(
      diffConfig(want, {
        sources: [
          { ...have.sources[0], subject_transforms: [{ src: "jetbus.due.>", dest: "jetbus.other.>" }] },
          have.sources[1],
        ],
      }).map((d) => d.field),
      ["sources"],
    );
    assert.deepEqual(diffConfig({ sources: [{ name: "B" }] }, moved).length, 1, "an extra source is drift");
  });
});

describe("planResource", () => {
  it("a missing resource is created with the desired config", () => {
    const p = planResource(stream, { name: "S", max_msgs: 5 }, null);
    assert.deepEqual(p.create, { name: "S", max_msgs: 5 });
    assert.ok(!inStep(p));
  });

  it("a live resource that matches is in step", () => {
    assert.ok(inStep(planResource(stream, { name: "S", max_msgs: 5 }, { name: "S", max_msgs: 5, x: 1 })));
  });

  it("limits change in place; retention and storage cannot, and the plan says how to fix them", () => {
    const p = planResource(
      stream,
      { name: "S", retention: "workqueue", storage: "file", max_bytes: 100 },
      { name: "S", retention: "limits", storage: "memory", max_bytes: 50 },
    );
    assert.deepEqual(
      p.update.map((d) => d.field),
      ["max_bytes"],
    );
    assert.deepEqual(updateFields(p), { max_bytes: 100 });
    assert.deepEqual(
      p.blocked.map((d) => d.field),
      ["retention", "storage"],
    );
    assert.match(p.fix!, /nats stream rm S.*jetbus init --apply/);
  });

  it("per-message TTL can be turned on in place but never off", () => {
    const bucket = { kind: "bucket", name: "b" } as const;
    assert.deepEqual(
      planResource(bucket, { allow_msg_ttl: true }, { allow_msg_ttl: false }).update.map((d) => d.field),
      ["allow_msg_ttl"],
    );
    const off = planResource(bucket, { allow_msg_ttl: false }, { allow_msg_ttl: true });
    assert.deepEqual(
      off.blocked.map((d) => d.field),
      ["allow_msg_ttl"],
    );
    assert.match(off.fix!, /nats kv rm b/);
  });

  it("a paused consumer's pause_until is runtime state, not drift; ack policy cannot change in place", () => {
    const want = jobConsumerConfig(DEFAULT_TOPOLOGY, "c", "jetbus.jobs.q.t");
    const have = { ...want, name: "c", pause_until: "2030-01-01T00:00:00Z", max_waiting: 512 };
    assert.ok(inStep(planResource(consumer, want, have)));
    const p = planResource(consumer, want, { ...have, ack_policy: "all", max_ack_pending: 3 });
    assert.deepEqual(
      p.update.map((d) => d.field),
      ["max_ack_pending"],
    );
    assert.deepEqual(
      p.blocked.map((d) => d.field),
      ["ack_policy"],
    );
    assert.match(p.fix!, /nats consumer rm S c/);
  });
});

describe("the layout", () => {
  it("work streams are bounded by messages and bytes with discard new, never by age", () => {
    const t = { ...DEFAULT_TOPOLOGY, maxQueuedJobs: 7, maxQueuedBytes: 9 };
    for (const name of [STREAMS.jobs, STREAMS.outcomes]) {
      const s = streamConfigs(t).find((c) => c.name === name)!;
      assert.deepEqual([s.max_msgs, s.max_bytes, s.discard, s.max_age], [7, 9, "new", 0], name);
    }
    // Schedules cannot live on a discard-new stream: unbounded at the server (the dispatcher counts), never by age.
    const delayed = streamConfigs(t).find((c) => c.name === STREAMS.delayed)!;
    assert.deepEqual([delayed.max_msgs, delayed.max_bytes, delayed.max_age], [-1, -1, 0]);
  });

  it("dead letters are bounded only when configured; events by age and bytes; workflows never by age", () => {
    const dlq = (t = DEFAULT_TOPOLOGY) => streamConfigs(t).find((c) => c.name === STREAMS.deadLetters)!;
    assert.deepEqual([dlq().max_age, dlq().max_bytes, dlq().max_msgs], [0, -1, -1]);
    const bounded = dlq({ ...DEFAULT_TOPOLOGY, deadLetterMaxAgeMs: 1_000, deadLetterMaxBytes: 5 });
    assert.deepEqual([bounded.max_age, bounded.max_bytes], [1e9, 5]);
    const events = streamConfigs(DEFAULT_TOPOLOGY).find((c) => c.name === STREAMS.events)!;
    assert.ok(events.max_age! > 0 && events.max_bytes! > 0 && events.discard === "old");
    const bucket = (name: string) =>
      bucketStreamConfig(
        DEFAULT_TOPOLOGY,
        bucketSpecs(DEFAULT_TOPOLOGY).find((b) => b.name === name)!,
      );
    assert.equal(bucket(BUCKETS.workflows).max_age, 0);
    const results = bucket(BUCKETS.results);
    assert.ok(results.max_age! > 0 && results.max_bytes! > 0 && results.discard === "old");
    for (const name of [BUCKETS.unique, BUCKETS.locks, BUCKETS.limits]) {
      assert.equal(bucket(name).allow_msg_ttl, true, name);
      assert.equal(bucket(name).subject_delete_marker_ttl, 1e9, name);
    }
    assert.equal(bucket(BUCKETS.cancels).allow_msg_ttl, false);
  });

  it("a job consumer's desired config follows from its filter; other consumers on the stream are not ours", () => {
    const [jobs, waiting] = consumerFamilies(DEFAULT_TOPOLOGY);
    const name = jobConsumerName("q", "mail.send");
    const info = (n: string, filter: string) =>
      ({ name: n, config: { filter_subject: filter } }) as ConsumerInfo;
    assert.deepEqual(
      jobs!.desired(info(name, subjects.job("q", "mail.send"))),
      jobConsumerConfig(DEFAULT_TOPOLOGY, name, subjects.job("q", "mail.send")),
    );
    assert.equal(jobs!.desired(info("my-own", subjects.job("q", "mail.send"))), null);
    assert.equal(jobs!.desired(info(name, subjects.delayed("q", "mail.send"))), null);
    assert.equal(jobs!.desired(info(name, "other.>")), null);
    const counter = waitingConsumerName("q", "mail.send");
    assert.deepEqual(
      waiting!.desired(info(counter, subjects.waitingFilter("q", "mail.send"))),
      waitingConsumerConfig("q", "mail.send"),
    );
    assert.equal(waiting!.desired(info(name, subjects.waitingFilter("q", "mail.send"))), null);
  });
});

describe("plan text", () => {
  it("shows durations and sizes in their units", () => {
    assert.equal(
      describeDiff({ field: "max_age", have: 3_600e9, want: 86_400e9 }),
      "max_age: have 1h, want 1d",
    );
    assert.equal(
      describeDiff({ field: "max_bytes", have: -1, want: 1024 ** 3 }),
      "max_bytes: have -1 (no limit), want 1 GiB",
    );
    assert.equal(
      describeDiff({ field: "discard", have: "old", want: "new" }),
      'discard: have "old", want "new"',
    );
  });

  it("lists creations, in-place updates and what cannot change with its fix", () => {
    const lines = planLines([
      planResource(stream, { name: "S" }, null),
      planResource(
        consumer,
        { max_ack_pending: 5, ack_policy: "explicit" },
        { max_ack_pending: 3, ack_policy: "all" },
      ),
    ]);
    assert.deepEqual(lines.slice(0, 3), [
      "create stream S",
      "update consumer S/c: max_ack_pending: have 3, want 5",
      'cannot change consumer S/c in place: ack_policy: have "all", want "explicit"',
    ]);
    assert.match(lines[3]!, /^ {2}to fix: /);
  });
});

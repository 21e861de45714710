/**
 * @module
 * What a live stream, bucket or consumer lacks of its desired configuration, field by field. Pure.
 *
 * Generic over config fields: only the fields the desired config names are compared, so whatever the server
 * fills in itself (defaults, its `_nats.*` metadata, a consumer's `pause_until`, the fields of a source it
 * completes) is never drift. Objects compare as subsets (every desired key matches), arrays of scalars as sets
 * (`subjects` in any order), arrays of objects element by element in any order (`sources`). A field the
 * server leaves out counts as its empty value (0, "", false, [] or {}).
 */

export type ResourceKind = "stream" | "bucket" | "consumer";

export interface Resource {
  kind: ResourceKind;
  /** the stream, the bucket (not its `KV_` stream) or the consumer name */
  name: string;
  /** a consumer's stream */
  stream?: string;
}

export interface FieldDiff {
  field: string;
  have: unknown;
  want: unknown;
}

/** What to do about one resource; an empty plan (no create, no update, nothing blocked) is in step. */
export interface ResourcePlan {
  resource: Resource;
  /** missing: create it with this config */
  create?: Record<string, unknown>;
  /** differences the server can change in place */
  update: FieldDiff[];
  /** differences it cannot: the resource must be made anew (see `fix`) */
  blocked: FieldDiff[];
  fix?: string;
}

type Config = Record<string, unknown>;

/** Fields the server will not change on a live resource. */
const FIXED: Record<ResourceKind, ReadonlySet<string>> = {
  stream: new Set(["name", "retention", "storage", "mirror"]),
  bucket: new Set(["name", "retention", "storage", "mirror"]),
  consumer: new Set([
    "name",
    "durable_name",
    "deliver_policy",
    "ack_policy",
    "replay_policy",
    "opt_start_seq",
    "opt_start_time",
    "max_waiting",
    "headers_only",
    "mem_storage",
    "deliver_subject",
    "deliver_group",
  ]),
};

/** Flags the server lets one turn on but never off again. */
const ONE_WAY = new Set(["allow_msg_ttl", "allow_msg_schedules"]);

const isObject = (v: unknown): v is Config => typeof v === "object" && v !== null && !Array.isArray(v);

function isEmpty(v: unknown): boolean {
  if (v === undefined || v === null || v === "" || v === 0 || v === false) return true;
  if (Array.isArray(v)) return v.length === 0;
  return isObject(v) && Object.keys(v).length === 0;
}

/** Does `have` satisfy `want`? */
export function satisfies(want: unknown, have: unknown): boolean {
  if (isEmpty(want) && isEmpty(have)) return true;
  if (Array.isArray(want)) {
    if (!Array.isArray(have) || have.length !== want.length) return false;
    const left = [...have];
    for (const w of want) {
      const i = left.findIndex((h) => satisfies(w, h));
      if (i < 0) return false;
      left.splice(i, 1);
    }
    return true;
  }
  if (isObject(want)) return isObject(have) && Object.keys(want).every((k) => satisfies(want[k], have[k]));
  return want === have;
}

export function diffConfig(wanted: object, had: object): FieldDiff[] {
  const want = wanted as Config;
  const have = had as Config;
  return Object.keys(want)
    .filter((field) => want[field] !== undefined && !satisfies(want[field], have[field]))
    .map((field) => ({ field, have: have[field], want: want[field] }));
}

function changesInPlace(kind: ResourceKind, d: FieldDiff): boolean {
  if (FIXED[kind].has(d.field)) return false;
  return !(ONE_WAY.has(d.field) && d.have === true);
}

/** How to fix what cannot change in place, by kind of resource. */
export function fixFor(r: Resource): string {
  const init = "then run `jetbus init --apply` to create it anew";
  switch (r.kind) {
    case "stream":
      return `drain stream ${r.name} (or move what it holds), delete it (\`nats stream rm ${r.name}\`), ${init}`;
    case "bucket":
      return `copy out the keys you need, delete bucket ${r.name} (\`nats kv rm ${r.name}\`), ${init}`;
    case "consumer":
      return `stop the processes pulling from it, delete consumer ${r.name} (\`nats consumer rm ${r.stream} ${r.name}\`; its messages stay in the stream), ${init}`;
  }
}

/** The plan for one resource: `have` is its live config, or null when it does not exist. */
export function planResource(resource: Resource, want: object, have: object | null): ResourcePlan {
  if (!have) return { resource, create: want as Config, update: [], blocked: [] };
  const diffs = diffConfig(want, have);
  const update = diffs.filter((d) => changesInPlace(resource.kind, d));
  const blocked = diffs.filter((d) => !changesInPlace(resource.kind, d));
  return { resource, update, blocked, ...(blocked.length > 0 ? { fix: fixFor(resource) } : {}) };
}

export function inStep(p: ResourcePlan): boolean {
  return !p.create && p.update.length === 0 && p.blocked.length === 0;
}

/** The fields to send in an in-place update: the desired values of what differs. */
export function updateFields(p: ResourcePlan): Config {
  return Object.fromEntries(p.update.map((d) => [d.field, d.want]));
}

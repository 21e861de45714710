/**
 * @module
 * Every file under deploy/ (and docker-compose.yml) is checked for what can be checked without a cluster:
 * it parses; Kubernetes objects are of kinds we know; every container image names a fixed tag; every Secret
 * and ConfigMap a Kubernetes object refers to is made by deploy/k8s (an object, or its kustomization's
 * generators, including the deploy/nats base it includes); the NATS configurations pass `nats-server -t`
 * (test/deploy/nats-auth.test.ts runs them).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parse, parseAllDocuments } from "yaml";
import { filesUnder, read } from "../helpers/deploy-files.ts";

const files = filesUnder("deploy");
const yamlFiles = [...files.filter((f) => /\.ya?ml$/.test(f)), "docker-compose.yml"];
const docs = yamlFiles.flatMap((f) => parseAllDocuments(read(f)).map((d) => ({ file: f, d })));
const objects = docs
  .map(({ file, d }) => ({ file, o: d.toJS() as any }))
  .filter(({ o }) => o && typeof o === "object" && o.apiVersion && o.kind);
const k8s = objects.filter(({ file }) => file.startsWith("deploy/k8s/"));

const KINDS = new Set([
  "Namespace",
  "ConfigMap",
  "Service",
  "StatefulSet",
  "Deployment",
  "PodDisruptionBudget",
  "ScaledObject",
  "Kustomization",
]);

/** Every value under `key` anywhere in `v`. */
function collect(v: unknown, key: string, out: unknown[] = []): unknown[] {
  if (Array.isArray(v)) for (const x of v) collect(x, key, out);
  else if (v && typeof v === "object")
    for (const [k, x] of Object.entries(v)) {
      if (k === key) out.push(x);
      collect(x, key, out);
    }
  return out;
}

describe("every file under deploy/", () => {
  test("has a known kind of content, and parses", () => {
    for (const f of files) {
      assert.match(f, /\.(ya?ml|json|conf|md)$|\.gitignore$/, `${f}: a file the deploy tests know`);
      if (f.endsWith(".json")) assert.doesNotThrow(() => JSON.parse(read(f)), f);
    }
    for (const { file, d } of docs) assert.deepEqual(d.errors, [], `${file} parses`);
    assert.ok(files.some((f) => f.endsWith(".conf")) && objects.length >= 15, "the walk found the manifests");
  });

  test("Kubernetes objects are of kinds we deploy", () => {
    for (const { file, o } of objects) assert.ok(KINDS.has(o.kind), `${file}: ${o.kind} ${o.metadata?.name}`);
  });

  test("every container image names a fixed tag (never latest, never none)", () => {
    const images = [
      ...objects.flatMap(({ file, o }) => collect(o, "image").map((i) => ({ file, i }))),
      ...Object.entries((parse(read("docker-compose.yml")) as any).services).map(([, s]: [string, any]) => ({
        file: "docker-compose.yml",
        i: s.image,
      })),
    ].filter(({ i }) => typeof i === "string");
    assert.ok(images.length >= 8, `images found: ${images.length}`);
    for (const { file, i } of images as { file: string; i: string }[]) {
      const tag = /:([^/:@]+)$/.exec(i)?.[1];
      assert.ok(tag && tag !== "latest", `${file}: ${i} pins a tag`);
    }
  });

  test("every Secret and ConfigMap a Kubernetes object uses is made by deploy/k8s", () => {
    const kustomization = parse(read("deploy/k8s/kustomization.yaml")) as any;
    const bases = (kustomization.resources as string[]).filter((r) => !/\.ya?ml$/.test(r));
    const generators = [
      kustomization,
      ...bases.map((b) => parse(read(`deploy/${b.replace("../", "")}/kustomization.yaml`))),
    ];
    const secrets = new Set<string>([
      ...generators.flatMap((g: any) => (g.secretGenerator ?? []).map((s: any) => s.name)),
      ...k8s.filter(({ o }) => o.kind === "Secret").map(({ o }) => o.metadata.name),
    ]);
    const configMaps = new Set<string>([
      ...generators.flatMap((g: any) => (g.configMapGenerator ?? []).map((s: any) => s.name)),
      ...k8s.filter(({ o }) => o.kind === "ConfigMap").map(({ o }) => o.metadata.name),
    ]);
    let seen = 0;
    for (const { file, o } of k8s) {
      const secretRefs = [
        ...collect(o, "secretKeyRef"),
        ...collect(o, "secretRef"),
        ...collect(o, "secret"),
      ].map((r: any) => r.name ?? r.secretName);
      const mapRefs = [
        ...collect(o, "configMapKeyRef"),
        ...collect(o, "configMapRef"),
        ...collect(o, "configMap"),
      ].map((r: any) => r.name);
      for (const s of secretRefs) assert.ok(secrets.has(s), `${file}: Secret ${s} is made by deploy/k8s`);
      for (const m of mapRefs) assert.ok(configMaps.has(m), `${file}: ConfigMap ${m} is made by deploy/k8s`);
      seen += secretRefs.length + mapRefs.length;
    }
    assert.ok(seen >= 8, `references found: ${seen}`);
  });
});

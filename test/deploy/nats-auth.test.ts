/**
 * @module
 * Static checks of the NATS credentials wiring (no Kubernetes or Helm here): the deploy/nats files are valid
 * server configurations (`nats-server -t`, with keys from `jetbus nkeys`), alone and as the Kubernetes nats.conf
 * includes them; the rendered worker role is what `jetbus permissions worker` renders now; the services'
 * Deployments run on their own role's seed from a Secret the kustomization generates; nats-server gets the
 * public keys from a Secret and the account files beside nats.conf; the Helm values set what production needs.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { parse, parseAllDocuments } from "yaml";
import registerExamples from "../../examples/handlers.ts";
import { makeNkeys, NKEY_ROLES, nkeyVariable } from "../../cli/nkeys.ts";
import { renderWorkerPermissions } from "../../cli/worker-permissions.ts";
import { requireNatsServerBinary } from "../../shared/testkit/nats-binary.ts";
import { filesUnder, JETBUS_ACCOUNT, PINNED_NATS_IMAGE, read, root } from "../helpers/deploy-files.ts";

const accounts = read("deploy/nats/jetbus-accounts.conf");
const permissions = read("deploy/nats/jetbus-permissions.conf");
const keysDir = mkdtempSync(join(tmpdir(), "jetbus-deploy-nkeys-"));
const publicKeys = makeNkeys(keysDir);

/** `nats-server -t -c file` with the users' public keys (and `env`) in its environment. */
function checkConfig(file: string, env: Record<string, string> = {}) {
  const r = spawnSync(requireNatsServerBinary(), ["-t", "-c", file], {
    env: { ...process.env, ...publicKeys, ...env },
    encoding: "utf8",
  });
  assert.equal(r.status, 0, `${file}: ${r.stderr}${r.stdout}`);
  assert.match(r.stderr + r.stdout, /is valid/);
}

const k8sObjects = filesUnder("deploy/k8s")
  .filter((f) => /\.ya?ml$/.test(f))
  .flatMap((f) => parseAllDocuments(read(f)).map((d) => d.toJS() as any))
  .filter(Boolean);
const kustomization = parse(read("deploy/k8s/kustomization.yaml")) as any;
const generatedSecrets = new Map<string, string[]>(
  (kustomization.secretGenerator ?? []).map((g: any) => [g.name, [...(g.files ?? []), ...(g.envs ?? [])]]),
);

describe("deploy/nats", () => {
  test("nats-server accepts nats-server.conf and jetbus-accounts.conf with the keys jetbus nkeys makes", () => {
    checkConfig(join(root, "deploy/nats/nats-server.conf"));
    checkConfig(join(root, "deploy/nats/jetbus-accounts.conf"));
  });

  test("the Kubernetes nats.conf, with the account files beside it (as mounted), is valid", () => {
    const cm = k8sObjects.find((o) => o.kind === "ConfigMap" && o.metadata.name === "nats-config");
    const dir = mkdtempSync(join(tmpdir(), "jetbus-nats-conf-"));
    writeFileSync(join(dir, "nats.conf"), cm.data["nats.conf"]);
    for (const f of ["jetbus-accounts.conf", "jetbus-permissions.conf"])
      copyFileSync(join(root, "deploy/nats", f), join(dir, f));
    checkConfig(join(dir, "nats.conf"), { SERVER_NAME: "nats-0" });
  });

  test("every user is an nkey jetbus nkeys makes, with a permissions variable the permissions file defines", () => {
    const users = [...accounts.matchAll(/\{\s*nkey:\s*\$(\w+),\s*permissions:\s*\$(\w+)\s*\}/g)];
    assert.equal(users.length, NKEY_ROLES.length, "one user per role");
    assert.deepEqual(users.map((u) => u[1]).sort(), NKEY_ROLES.map(nkeyVariable).sort());
    for (const [, , perms] of users) assert.match(permissions, new RegExp(`^${perms}: \\{`, "m"), perms);
    assert.ok(JETBUS_ACCOUNT, "the account has a name");
    assert.deepEqual(Object.keys(publicKeys).sort(), NKEY_ROLES.map(nkeyVariable).sort());
  });

  test("the shipped worker role is what `jetbus permissions worker` renders for the Kubernetes worker", () => {
    const worker = k8sObjects.find((o) => o.kind === "Deployment" && o.metadata.name === "jetbus-worker");
    const env = Object.fromEntries(
      worker.spec.template.spec.containers[0].env.map((e: any) => [e.name, e.value]),
    );
    const types: string[] = [];
    void registerExamples({ register: (t) => void types.push(t), use: () => undefined });
    assert.equal(env.JETBUS_HANDLERS, "./examples/handlers.ts");
    const queues = String(env.JETBUS_QUEUES).split(",");
    const block = /# --- BEGIN rendered worker role ---\n([\s\S]*?)# --- END rendered worker role ---/.exec(
      permissions,
    )?.[1];
    const command = `jetbus permissions worker --queues ${queues.join(",")} --handlers ./examples/handlers.ts --name JETBUS_WORKER`;
    assert.equal(
      block,
      renderWorkerPermissions({ queues, types, variable: "JETBUS_WORKER" }, command),
      `render it again: npx ${command}`,
    );
  });

  test("its kustomization makes the ConfigMap nats-jetbus-auth from both files, under a fixed name", () => {
    const k = parse(read("deploy/nats/kustomization.yaml")) as any;
    const gen = k.configMapGenerator.find((g: any) => g.name === "nats-jetbus-auth");
    assert.deepEqual(gen.files.sort(), ["jetbus-accounts.conf", "jetbus-permissions.conf"]);
    assert.equal(k.generatorOptions.disableNameSuffixHash, true);
    assert.ok(kustomization.resources.includes("../nats"), "deploy/k8s includes it");
  });
});

describe("deploy/k8s credentials", () => {
  for (const app of ["dispatcher", "coordinator", "worker"])
    test(`${app}: runs on its own role's seed, from a generated Secret holding only that seed`, () => {
      const pod = k8sObjects.find((o) => o.kind === "Deployment" && o.metadata.name === `jetbus-${app}`).spec
        .template.spec;
      const c = pod.containers[0];
      const seedFile = c.env.find((e: any) => e.name === "NATS_NKEY_SEED_FILE")?.value as string;
      assert.ok(seedFile, "NATS_NKEY_SEED_FILE");
      const mount = c.volumeMounts.find((m: any) => seedFile.startsWith(`${m.mountPath}/`));
      assert.ok(mount?.readOnly, "the seed's folder is a read-only mount");
      const vol = pod.volumes.find((v: any) => v.name === mount.name);
      assert.ok(
        generatedSecrets.has(vol.secret?.secretName),
        `Secret ${vol.secret?.secretName} is generated`,
      );
      assert.deepEqual(vol.secret.items, [
        { key: `${app}.nk`, path: seedFile.slice(mount.mountPath.length + 1) },
      ]);
      assert.ok(generatedSecrets.get(vol.secret.secretName)!.includes(`secrets/${app}.nk`));
      assert.equal(vol.secret.defaultMode & 0o077, 0o040, "group-readable only");
      assert.equal(pod.securityContext.fsGroup, pod.securityContext.runAsGroup, "the pod's group reads it");
    });

  test("console: runs on the operator's seed, from a generated Secret that only its pod mounts", () => {
    const pods = k8sObjects.filter((o) => o.kind === "Deployment").map((o) => o.spec.template.spec);
    const console = k8sObjects.find((o) => o.kind === "Deployment" && o.metadata.name === "jetbus-console")
      .spec.template.spec;
    const c = console.containers[0];
    assert.equal(
      c.env.find((e: any) => e.name === "NATS_NKEY_SEED_FILE")?.value,
      "/etc/jetbus/nats/operator.nk",
    );
    const vol = console.volumes.find((v: any) => v.secret?.secretName === "jetbus-operator-nkey");
    assert.deepEqual(vol?.secret.items, [{ key: "operator.nk", path: "operator.nk" }]);
    assert.deepEqual(generatedSecrets.get("jetbus-operator-nkey"), ["secrets/operator.nk"]);
    const holders = pods.filter((p) =>
      p.volumes?.some((v: any) => v.secret?.secretName === "jetbus-operator-nkey"),
    );
    assert.equal(holders.length, 1, "no other pod holds the operator's seed");
  });

  test("nats-server: the users' public keys from a generated Secret, the account files beside nats.conf", () => {
    const nats = k8sObjects.find((o) => o.kind === "StatefulSet" && o.metadata.name === "nats");
    const c = nats.spec.template.spec.containers[0];
    const secretRef = c.envFrom.find((e: any) => e.secretRef)?.secretRef.name;
    assert.ok(generatedSecrets.get(secretRef)?.includes("secrets/nkeys.env"), `${secretRef} from nkeys.env`);
    const configVolume = nats.spec.template.spec.volumes.find((v: any) => v.name === "config");
    const sources = configVolume.projected.sources.map((s: any) => s.configMap.name).sort();
    assert.deepEqual(sources, ["nats-config", "nats-jetbus-auth"]);
    const conf = k8sObjects.find((o) => o.kind === "ConfigMap" && o.metadata.name === "nats-config").data[
      "nats.conf"
    ];
    assert.match(conf, /^\s*include \.\/jetbus-accounts\.conf/m);
    assert.ok(read("deploy/k8s/secrets/.gitignore").includes("*"), "generated keys are never committed");
  });
});

describe("deploy/helm/nats-values.yaml (official NATS chart)", () => {
  const v = parse(read("deploy/helm/nats-values.yaml")) as any;

  test("3 clustered replicas with JetStream file storage on PVCs", () => {
    assert.equal(v.config.cluster.enabled, true);
    assert.equal(v.config.cluster.replicas, 3);
    assert.equal(v.config.jetstream.enabled, true);
    assert.equal(v.config.jetstream.fileStore.enabled, true);
    assert.equal(v.config.jetstream.fileStore.pvc.enabled, true);
    assert.match(String(v.config.jetstream.fileStore.pvc.size), /^\d+Gi$/);
  });

  test("the pinned image", () => {
    assert.equal(`${v.container.image.repository}:${v.container.image.tag}`, PINNED_NATS_IMAGE);
  });

  test("the jetbus account from deploy/nats, its public keys from a Secret, nothing secret inline", () => {
    const include = v.config.merge.$include as string;
    const mount = v.container.patch.find((p: any) => p.path === "/volumeMounts/-").value;
    const volume = v.podTemplate.patch.find((p: any) => p.path === "/spec/volumes/-").value;
    assert.equal(volume.name, mount.name);
    assert.equal(volume.configMap.name, "nats-jetbus-auth", "the ConfigMap deploy/nats makes");
    // The chart's includes are relative to /etc/nats-config/nats.conf.
    assert.equal(join("/etc/nats-config", include), join(mount.mountPath, "jetbus-accounts.conf"));
    assert.equal(v.container.merge.envFrom[0].secretRef.name, "jetbus-nats-users");
    const text = read("deploy/helm/nats-values.yaml");
    assert.doesNotMatch(text, /\b(password|pass|token|nkey)\s*:/i, "no credentials inline");
    assert.doesNotMatch(text, /\b[SU][A-Z2-7]{55}\b/, "no key inline");
  });
});

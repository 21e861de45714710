/**
 * @module
 * Static checks of the deployment files (no Docker or Kubernetes here): docker-compose.yml, the Dockerfile,
 * deploy/k8s, the Prometheus config and the Grafana dashboard must agree with the code they deploy — the env
 * keys the services read (each service's own loadConfig must accept the env given), their ports and health
 * paths, the metric names and labels in shared/telemetry/metrics.ts, and the source dirs the services import.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { Registry, collectDefaultMetrics } from "prom-client";
import { parse, parseAllDocuments } from "yaml";
import registerExamples from "../../examples/handlers.ts";
import { loadConfig as consoleConfig } from "../../services/console/config.ts";
import { loadConfig as coordinatorConfig } from "../../services/coordinator/config.ts";
import { loadConfig as dispatcherConfig } from "../../services/dispatcher/config.ts";
import { loadConfig as workerConfig } from "../../services/worker/config.ts";
import { jobConsumerName, STREAMS } from "../../shared/protocol/names.ts";
import { atLeast, SERVER_FLOOR, SERVER_UPGRADE_HINT } from "../../shared/protocol/server-version.ts";
import type { Env } from "../../shared/service/env.ts";
import { JETBUS_ACCOUNT, PINNED_NATS_IMAGE } from "../helpers/deploy-files.ts";
import { metrics } from "../../shared/telemetry/metrics.ts";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const read = (p: string) => readFileSync(join(root, p), "utf8");
const APPS = ["dispatcher", "coordinator", "worker", "console"] as const;
type App = (typeof APPS)[number];
const loaders: Record<App, (env: Env) => { common: { httpPort: number; drainTimeoutMs: number } }> = {
  dispatcher: dispatcherConfig,
  coordinator: coordinatorConfig,
  worker: workerConfig,
  // The users file is a Secret mounted at run time; here it is absent, which the loader must report.
  console: (env) => consoleConfig(env, () => ""),
};
/** the service's own hard stop: it exits this long after the drain budget (shared/service/lifecycle.ts) */
const HARD_STOP_MARGIN_MS = 10_000;

/** Every env key a service reads: the literal keys in the config loaders (plus the standard OTEL_* ones). */
const knownKeys = new Set(
  ["shared/service/common-config.ts", ...APPS.map((a) => `services/${a}/config.ts`)].flatMap((f) =>
    [...read(f).matchAll(/r\.\w+\(\s*"([A-Z][A-Z0-9_]*)"/g)].map((m) => m[1]!),
  ),
);

function checkEnv(app: App, env: Env, where: string): void {
  for (const key of Object.keys(env))
    assert.ok(
      knownKeys.has(key) || key.startsWith("OTEL_") || key.startsWith("POD_"),
      `${where}: ${key} is not read by any jetbus config loader (typo?)`,
    );
  assert.doesNotThrow(() => loaders[app](env), `${where}: the ${app}'s loadConfig rejects this env`);
  assert.ok(env.NATS_URL, `${where}: NATS_URL`);
  assert.ok(env.OTEL_EXPORTER_OTLP_ENDPOINT, `${where}: OTEL_EXPORTER_OTLP_ENDPOINT`);
  assert.equal(env.OTEL_SERVICE_NAME, `jetbus-${app}`, `${where}: OTEL_SERVICE_NAME`);
  if (app === "worker") {
    const handlers = env.JETBUS_HANDLERS?.split(",") ?? [];
    for (const h of handlers) assert.ok(existsSync(join(root, h.trim())), `${where}: handler module ${h}`);
  }
}

/** Job types the example handler module registers, as a worker loading it would see them. */
const exampleTypes: string[] = [];
void registerExamples({ register: (type) => exampleTypes.push(type), use: () => undefined });

describe("docker-compose.yml", () => {
  const compose = parse(read("docker-compose.yml")) as { services: Record<string, any> };
  const services = compose.services;
  const envOf = (s: any): Env =>
    Array.isArray(s.environment)
      ? Object.fromEntries((s.environment as string[]).map((kv) => kv.split(/=(.*)/s).slice(0, 2)))
      : Object.fromEntries(Object.entries(s.environment ?? {}).map(([k, v]) => [k, String(v)]));
  const containerPorts = (s: any) => ((s.ports ?? []) as unknown[]).map((p) => String(p).split(":").pop());

  test("has nats, jaeger and the three services; each has an image or a build and a healthcheck", () => {
    for (const name of ["nats", "jaeger", ...APPS]) assert.ok(services[name], `service ${name}`);
    for (const [name, s] of Object.entries(services)) {
      assert.ok(s.image || s.build, `${name}: image or build`);
      assert.ok(Array.isArray(s.healthcheck?.test) && s.healthcheck.test.length > 1, `${name}: healthcheck`);
    }
  });

  test("nats runs JetStream with monitoring, a volume and a /healthz check", () => {
    const nats = services.nats;
    assert.equal(nats.image, PINNED_NATS_IMAGE);
    assert.ok(nats.command.includes("-js") && nats.command.includes("8222"));
    assert.ok(nats.volumes?.length, "nats store on a volume");
    assert.match(nats.healthcheck.test.join(" "), /:8222\/healthz/);
  });

  test("jaeger accepts OTLP over HTTP (4318) and serves its UI (16686)", () => {
    const ports = containerPorts(services.jaeger);
    assert.ok(ports.includes("4318") && ports.includes("16686"), `jaeger ports ${ports.join(", ")}`);
    assert.equal(String(envOf(services.jaeger).COLLECTOR_OTLP_ENABLED), "true");
  });

  for (const app of APPS)
    test(`${app}: built from this repo, env the service accepts, waits for nats, probes /readyz`, () => {
      const s = services[app];
      assert.ok(s.build, "built from the Dockerfile");
      assert.deepEqual([s.command].flat(), [app]);
      const env = envOf(s);
      checkEnv(app, env, `compose ${app}`);
      assert.equal(new URL(env.NATS_URL!).hostname, "nats");
      const otlp = new URL(env.OTEL_EXPORTER_OTLP_ENDPOINT!);
      assert.ok(services[otlp.hostname], `OTLP endpoint ${otlp.host} is a compose service`);
      assert.equal(otlp.port, "4318", "OTLP over HTTP (the SDK exports http/protobuf or http/json)");
      assert.equal(s.depends_on?.nats?.condition, "service_healthy");
      const port = loaders[app](env).common.httpPort;
      assert.match(s.healthcheck.test.join(" "), new RegExp(`127\\.0\\.0\\.1:${port}/readyz`));
      const grace = /^(\d+)s$/.exec(String(s.stop_grace_period));
      assert.ok(grace, `${app}: stop_grace_period in seconds`);
      const drain = loaders[app](env).common.drainTimeoutMs;
      assert.ok(Number(grace[1]) * 1000 > drain + HARD_STOP_MARGIN_MS, `${app}: stop grace > drain + 10 s`);
    });

  test("bind-mounted files exist, and Prometheus scrapes each service on its port", () => {
    for (const [name, s] of Object.entries(services))
      for (const v of (s.volumes ?? []) as string[])
        if (v.startsWith("./")) assert.ok(existsSync(join(root, v.split(":")[0]!)), `${name}: ${v}`);
    const prom = parse(read("deploy/prometheus/prometheus.yml")) as { scrape_configs: any[] };
    for (const app of APPS) {
      const port = loaders[app](envOf(services[app])).common.httpPort;
      const job = prom.scrape_configs.find((j) =>
        (j.dns_sd_configs ?? []).some((d: any) => d.names.includes(app) && d.port === port),
      );
      assert.ok(job, `a scrape job for ${app}:${port}`);
    }
  });
});

describe("Dockerfile", () => {
  const lines = read("Dockerfile")
    .replace(/\\\n/g, " ")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"));
  const stages = lines.reduce<string[][]>((acc, l) => {
    if (/^FROM\s/i.test(l)) acc.push([]);
    acc.at(-1)?.push(l);
    return acc;
  }, []);
  const final = stages.at(-1)!;
  const instr = (name: string) => final.filter((l) => l.toUpperCase().startsWith(`${name} `));

  test("multi-stage on node:20-bookworm-slim, production dependencies only", () => {
    assert.ok(stages.length >= 2, "multi-stage");
    for (const s of stages) assert.match(s[0]!, /^FROM node:20-bookworm-slim\b/);
    assert.ok(
      lines.some((l) => /^RUN .*npm ci .*--omit=dev/.test(l)),
      "npm ci --omit=dev",
    );
  });

  test("runs bin/jetbus.mjs as a non-root user, worker by default, with a HEALTHCHECK", () => {
    const json = (l: string) => JSON.parse(l.replace(/^\w+\s+/, "")) as unknown;
    assert.deepEqual(json(instr("ENTRYPOINT").at(-1)!), ["node", "bin/jetbus.mjs"]);
    assert.deepEqual(json(instr("CMD").at(-1)!), ["worker"]);
    const user = instr("USER").at(-1)?.split(/\s+/)[1];
    assert.ok(user && !/^(root|0)(:|$)/.test(user), `non-root USER, got ${user}`);
    assert.match(instr("HEALTHCHECK").at(-1) ?? "", /\/healthz/);
  });

  test("copies every top-level source dir the services import, and .dockerignore keeps them", () => {
    // Follow relative imports (static and dynamic) from the CLI entry and the example handler module.
    const seen = new Set<string>();
    const queue = [join(root, "bin/jetbus.mjs"), join(root, "examples/handlers.ts")];
    const spec = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)["'](\.{1,2}\/[^"']+)["']/gm;
    while (queue.length > 0) {
      const file = queue.pop()!;
      if (seen.has(file)) continue;
      seen.add(file);
      for (const m of readFileSync(file, "utf8").matchAll(spec)) {
        const target = resolve(dirname(file), m[1]!);
        if (existsSync(target) && statSync(target).isFile()) queue.push(target);
      }
    }
    const dirs = new Set([...seen].map((f) => relative(root, f).split(sep)[0]!));
    assert.ok(seen.size > 20 && dirs.has("services"), "the import walk reached the services");
    const copied = new Set(
      instr("COPY")
        .filter((l) => !l.includes("--from"))
        .flatMap((l) => l.split(/\s+/).slice(1, -1))
        .map((p) => p.replace(/^\.\//, "").replace(/\/$/, "")),
    );
    for (const d of [...dirs, "bin", "cli", "shared", "services", "examples"])
      assert.ok(copied.has(d), `Dockerfile copies ${d}/`);
    for (const f of ["package.json", "package-lock.json", "tsconfig.json"]) assert.ok(copied.has(f), f);
    const ignored = read(".dockerignore")
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith("#"));
    assert.ok(ignored.includes("node_modules"), ".dockerignore excludes node_modules");
    for (const c of copied) assert.ok(!ignored.includes(c), `.dockerignore must not exclude ${c}`);
  });
});

describe("deploy/k8s", () => {
  const k8sDir = join(root, "deploy/k8s");
  const walk = (d: string): string[] =>
    readdirSync(d).flatMap((n) => {
      const p = join(d, n);
      return statSync(p).isDirectory() ? walk(p) : /\.ya?ml$/.test(n) ? [p] : [];
    });
  const files = walk(k8sDir);
  const docs = files.flatMap((f) =>
    parseAllDocuments(readFileSync(f, "utf8")).map((d) => ({ file: relative(root, f), d })),
  );
  const objects = docs.map(({ d }) => d.toJS() as any).filter(Boolean);
  const ofKind = (kind: string) => objects.filter((o) => o.kind === kind);
  const configMaps = new Map(ofKind("ConfigMap").map((c) => [c.metadata.name as string, c]));
  const matches = (selector: Record<string, string>, labels: Record<string, string>) =>
    Object.entries(selector).every(([k, v]) => labels[k] === v);

  test("every manifest parses and names its kind, apiVersion and namespace", () => {
    for (const { file, d } of docs) assert.deepEqual(d.errors, [], `${file} parses`);
    for (const o of objects.filter((x) => x.kind !== "Kustomization")) {
      assert.ok(o.apiVersion && o.kind && o.metadata?.name, `${o.kind}/${o.metadata?.name}`);
      if (o.kind !== "Namespace")
        assert.equal(o.metadata.namespace, "jetbus", `${o.kind}/${o.metadata.name}`);
    }
  });

  test("kustomization lists files that exist, and every top-level manifest", () => {
    const k = parse(read("deploy/k8s/kustomization.yaml")) as { resources: string[] };
    for (const r of k.resources) assert.ok(existsSync(join(k8sDir, r)), `${r} exists`);
    for (const f of readdirSync(k8sDir).filter((n) => /\.ya?ml$/.test(n) && n !== "kustomization.yaml"))
      assert.ok(k.resources.includes(f), `${f} is listed`);
  });

  const apps = ofKind("Deployment").filter((d) => d.metadata.labels?.["app.kubernetes.io/name"] === "jetbus");
  const nats = ofKind("StatefulSet").find((s) => s.metadata.name === "nats");

  test("the three services are Deployments", () => {
    assert.deepEqual(
      apps.map((d) => d.spec.template.metadata.labels["app.kubernetes.io/component"]).sort(),
      [...APPS].sort(),
    );
  });

  for (const app of APPS)
    test(`${app}: probes, resources, env the service accepts, grace period, PDB, scrape annotations`, () => {
      const dep = apps.find((d) => d.spec.template.metadata.labels["app.kubernetes.io/component"] === app);
      const pod = dep.spec.template;
      const c = pod.spec.containers[0];
      assert.deepEqual(c.args, [app]);
      const env: Env = {};
      for (const ef of c.envFrom ?? []) {
        const cm = configMaps.get(ef.configMapRef?.name);
        assert.ok(cm, `ConfigMap ${ef.configMapRef?.name} exists`);
        Object.assign(env, cm.data);
      }
      for (const e of c.env ?? []) if (e.value !== undefined) env[e.name] = String(e.value);
      checkEnv(app, env, `k8s ${app}`);
      const servers = env.NATS_URL!.split(",");
      assert.equal(servers.length, nats.spec.replicas, "NATS_URL lists every NATS server");
      servers.forEach((s, i) => assert.match(s, new RegExp(`nats-${i}\\.${nats.spec.serviceName}\\.`)));
      assert.ok(Number(env.JETBUS_REPLICAS) <= nats.spec.replicas, "JETBUS_REPLICAS <= NATS servers");

      const cfg = loaders[app](env).common;
      const named = new Map<string, number>((c.ports ?? []).map((p: any) => [p.name, p.containerPort]));
      const portOf = (p: string | number) => (typeof p === "number" ? p : named.get(p));
      assert.equal(c.readinessProbe?.httpGet?.path, "/readyz");
      assert.equal(c.livenessProbe?.httpGet?.path, "/healthz");
      assert.equal(portOf(c.readinessProbe.httpGet.port), cfg.httpPort, "readiness probe port");
      assert.equal(portOf(c.livenessProbe.httpGet.port), cfg.httpPort, "liveness probe port");
      assert.equal(Number(pod.metadata.annotations["prometheus.io/port"]), cfg.httpPort);
      assert.equal(pod.metadata.annotations["prometheus.io/scrape"], "true");
      assert.ok(c.resources?.requests?.cpu && c.resources?.requests?.memory, "resource requests");
      assert.ok(c.resources?.limits?.memory, "a memory limit");
      const grace = pod.spec.terminationGracePeriodSeconds as number;
      assert.ok(grace * 1000 > cfg.drainTimeoutMs + HARD_STOP_MARGIN_MS, "grace > drain + hard-stop margin");
      assert.ok(
        ofKind("PodDisruptionBudget").some((p) => matches(p.spec.selector.matchLabels, pod.metadata.labels)),
        "a PodDisruptionBudget covers it",
      );
    });

  test("NATS: 3-node JetStream StatefulSet with a headless service, a PVC per pod and routes to each pod", () => {
    assert.ok(nats, "StatefulSet nats");
    assert.equal(nats.spec.replicas, 3);
    assert.ok(nats.spec.volumeClaimTemplates?.length, "a PVC per pod");
    const headless = ofKind("Service").find((s) => s.metadata.name === nats.spec.serviceName);
    assert.equal(headless?.spec.clusterIP, "None");
    assert.equal(headless?.spec.publishNotReadyAddresses, true, "routes resolve before pods are ready");
    const c = nats.spec.template.spec.containers[0];
    assert.equal(c.image, PINNED_NATS_IMAGE);
    assert.equal(
      c.env.find((e: any) => e.name === "SERVER_NAME")?.valueFrom?.fieldRef?.fieldPath,
      "metadata.name",
    );
    const conf = [...configMaps.values()]
      .map((cm) => cm.data?.["nats.conf"] as string | undefined)
      .find(Boolean)!;
    assert.match(conf, /server_name:\s*\$SERVER_NAME/);
    assert.match(conf, /jetstream\s*\{[^}]*store_dir/);
    for (let i = 0; i < 3; i++) assert.match(conf, new RegExp(`nats-${i}\\.${nats.spec.serviceName}\\.`));
    assert.ok(
      ofKind("PodDisruptionBudget").some((p) =>
        matches(p.spec.selector.matchLabels, nats.spec.template.metadata.labels),
      ),
    );
  });

  test("KEDA ScaledObject targets the worker, on real job consumer names", () => {
    const so = ofKind("ScaledObject")[0];
    assert.ok(so, "a ScaledObject");
    assert.equal(
      so.spec.scaleTargetRef.name,
      apps.find((d) => d.metadata.name.endsWith("worker"))?.metadata.name,
    );
    const worker = apps.find((d) => d.metadata.name.endsWith("worker"))!.spec.template.spec.containers[0];
    const queues = (worker.env.find((e: any) => e.name === "JETBUS_QUEUES")?.value ?? "default").split(",");
    const names = new Set(queues.flatMap((q: string) => exampleTypes.map((t) => jobConsumerName(q, t))));
    assert.ok(so.spec.minReplicaCount >= 1, "never scale workers to zero (NO_WORKER deadline)");
    for (const t of so.spec.triggers) {
      assert.equal(t.type, "nats-jetstream");
      assert.equal(t.metadata.stream, STREAMS.jobs);
      assert.ok(names.has(t.metadata.consumer), `${t.metadata.consumer} is a consumer the worker creates`);
      assert.ok(t.metadata.natsServerMonitoringEndpoint.startsWith(`${nats.spec.serviceName}.`));
      // `$G` reads 0 lag once accounts exist: the scaler must name the account the streams live in.
      assert.equal(t.metadata.account, JETBUS_ACCOUNT, "the account of deploy/nats/jetbus-accounts.conf");
    }
  });
});

describe("Grafana dashboard", () => {
  const dash = JSON.parse(read("deploy/grafana/jetbus-dashboard.json")) as any;
  const panels: any[] = dash.panels.flatMap((p: any) => [p, ...(p.panels ?? [])]);
  const appMetrics = new Map(
    Object.values(metrics).map((m) => {
      const { name, labelNames } = m as unknown as { name: string; labelNames: readonly string[] };
      return [name, labelNames] as const;
    }),
  );
  const processRegistry = new Registry();
  collectDefaultMetrics({ register: processRegistry, prefix: "jetbus_" });

  test("parses, with a Prometheus datasource variable that every panel uses", () => {
    assert.ok(dash.schemaVersion >= 36 && dash.uid && dash.title);
    const dsVar = dash.templating.list.find((v: any) => v.type === "datasource");
    assert.equal(dsVar?.query, "prometheus");
    const ids = panels.map((p) => p.id);
    assert.equal(new Set(ids).size, ids.length, "unique panel ids");
    for (const p of panels.filter((x) => x.type !== "row")) {
      assert.ok(p.gridPos && p.targets?.length, `${p.title}: gridPos and targets`);
      for (const t of [p, ...p.targets]) assert.equal(t.datasource?.uid, `\${${dsVar.name}}`, p.title);
    }
  });

  test("every metric and label in its PromQL exists in shared/telemetry/metrics.ts or the process metrics", async () => {
    const processNames = new Set((await processRegistry.getMetricsAsJSON()).map((m) => m.name));
    const exprs: string[] = [
      ...panels.flatMap((p) => (p.targets ?? []).map((t: any) => t.expr as string)),
      ...dash.templating.list.filter((v: any) => v.type === "query").map((v: any) => v.definition as string),
    ];
    const used = new Set<string>();
    for (const expr of exprs) {
      const names = [...expr.matchAll(/jetbus_[a-z0-9_]+/g)].map((m) =>
        m[0].replace(/_(bucket|sum|count)$/, ""),
      );
      assert.ok(names.length > 0, `no jetbus metric in ${expr}`);
      const labels = new Set(["job", "instance", "le"]);
      for (const n of names) {
        assert.ok(appMetrics.has(n) || processNames.has(n), `unknown metric ${n} in ${expr}`);
        for (const l of appMetrics.get(n) ?? []) labels.add(l);
        used.add(n);
      }
      const grouped = [...expr.matchAll(/\bby\s*\(([^)]*)\)/g)].flatMap((m) => m[1]!.split(","));
      const matched = [...expr.matchAll(/jetbus_\w+\{([^}]*)\}/g)].flatMap((m) =>
        [...m[1]!.matchAll(/(\w+)\s*(?:=~|!~|!=|=)/g)].map((x) => x[1]!),
      );
      for (const l of [...grouped, ...matched].map((s) => s.trim()).filter(Boolean))
        assert.ok(labels.has(l), `label ${l} is not on ${names.join(", ")}: ${expr}`);
    }
    for (const name of appMetrics.keys()) assert.ok(used.has(name), `the dashboard shows ${name}`);
  });
});

describe("the nats image", () => {
  const manifests = (dir: string): string[] =>
    readdirSync(join(root, dir)).flatMap((name) => {
      const path = join(dir, name);
      if (statSync(join(root, path)).isDirectory()) return manifests(path);
      return /\.ya?ml$/.test(name) ? [path] : [];
    });
  const files = ["docker-compose.yml", ...manifests("deploy")];
  /** Every `image:` naming the official nats image (also as docker.io/library/nats), with its file. */
  const images = files.flatMap((f) =>
    [...read(f).matchAll(/^\s*image:\s*["']?((?:docker\.io\/)?(?:library\/)?nats:[^\s"']+)/gm)].map((m) => ({
      file: f,
      image: m[1]!,
    })),
  );

  test("compose and Kubernetes both name it", () => {
    assert.deepEqual([...new Set(images.map((i) => i.file))].sort(), [
      "deploy/k8s/nats.yaml",
      "docker-compose.yml",
    ]);
  });

  test(`every manifest pins a major.minor at or above the ${SERVER_FLOOR} floor, the same everywhere`, () => {
    for (const { file, image } of images) {
      const minor = /:(\d+)\.(\d+)(?:[.-]|$)/.exec(image);
      assert.ok(minor, `${file}: ${image} pins no major.minor (a floating tag may bring any server)`);
      assert.ok(
        atLeast(`${minor[1]}.${minor[2]}.0`, SERVER_FLOOR),
        `${file}: ${image} is older than ${SERVER_FLOOR}`,
      );
      assert.equal(image, PINNED_NATS_IMAGE, `${file}`);
    }
  });

  test("the docs and the upgrade hint name the pinned image", () => {
    assert.ok(SERVER_UPGRADE_HINT.includes(PINNED_NATS_IMAGE), "SERVER_UPGRADE_HINT");
    for (const doc of ["deploy/README.md", "docs/going-to-production.md", "README.md"])
      assert.ok(read(doc).includes(PINNED_NATS_IMAGE), `${doc} names ${PINNED_NATS_IMAGE}`);
  });
});

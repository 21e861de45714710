/**
 * @module
 * The console in Debian's Chromium (playwright-core) against a real mesh: a batch with failures whose
 * progress bar reaches its final counts, a failed member opened, a dead letter replayed and then the rest by
 * filter, a queue paused (its job is not delivered) and resumed, a type with no worker highlighted, an action
 * refused without operator credentials, and a 100,000-member batch's page interactive in under a second
 * (measured in the page with the Performance API). A screenshot of each view goes to test-artifacts/console.
 */
import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import type { Page } from "playwright-core";
import { job, type Bus } from "../../shared/index.ts";
import { waitFor } from "../../shared/testkit/index.ts";
import { findChromium, launchChromium, screenshotPath, type Browser } from "../helpers/browser.ts";
import {
  deliveredSeq,
  operatorEntries,
  startTestConsole,
  waitHeldByPause,
  type ConsoleHandle,
} from "../helpers/console.ts";
import { startMesh, type Mesh } from "../helpers/mesh.ts";
import { uniq } from "../helpers/names.ts";
import { ncOf } from "../helpers/workflow-kit.ts";
import { writeBigBatch } from "./big-batch-record.ts";

const chromium = findChromium();
const skip = "skip" in chromium ? chromium.skip : false;
if (skip) process.stdout.write(`# browser tests skipped: ${skip}\n`);

let mesh: Mesh;
let client: Bus;
let con: ConsoleHandle;
let browser: Browser;
let page: Page;
const SECRET = "correct horse battery staple";
const T = uniq("web");
const PQ = uniq("pq");
const member = `${T}:member`;
const flaky = `${T}:flaky`;
const slow = `${T}:slow`;
const seen = new Set<number>();
const slowRuns: string[] = [];

before(async () => {
  if (skip) return;
  mesh = await startMesh();
  client = await mesh.bus();
  const worker = await mesh.bus({ queues: ["default", PQ] });
  worker.register(member, async (ctx) => {
    const { i } = ctx.bind<{ i: number }>();
    await new Promise((r) => setTimeout(r, 15)); // members take a moment, so the page sees progress
    if (i % 6 === 5) throw new Error(`member ${i} failed`);
  });
  worker.register(flaky, (ctx) => {
    const { i } = ctx.bind<{ i: number }>();
    if (!seen.has(i)) {
      seen.add(i);
      throw new Error(`first run of ${i}`);
    }
  });
  worker.register(slow, (ctx) => {
    slowRuns.push(ctx.bind<{ id: string }>().id);
  });
  await worker.startWorkers();
  con = await startTestConsole(mesh.url, { JETBUS_CONSOLE_USERS: await operatorEntries({ ada: SECRET }) });
  if ("path" in chromium) browser = await launchChromium(chromium.path);
  page = await browser.context.newPage();
  await page.goto(con.url + "/");
  await page.getByTestId("user").fill("ada");
  await page.getByTestId("secret").fill(SECRET);
  await page.getByTestId("sign-in").click();
  await page.getByTestId("signed-in").waitFor();
});
after(async () => {
  await browser?.close();
  await con?.stop();
  await mesh?.stop();
});

const text = (testId: string) => page.getByTestId(testId).first().innerText();

it(
  "a batch with failures: the progress bar reaches the final counts; a failed member opens",
  { skip },
  async () => {
    const members = Array.from({ length: 60 }, (_, i) => job(member, { i }));
    const id = await client
      .batch(...members)
      .allowFailures()
      .dispatch();
    await page.goto(`${con.url}/#/batch/${id}`);
    await page.getByTestId("progress").waitFor();
    await waitFor("the bar at 60 processed, 10 failed", async () =>
      (await text("processed")) === "60" && (await text("failed")) === "10" ? true : undefined,
    );
    assert.equal(await text("pending"), "0");
    await waitFor("the final state", async () =>
      (await text("state")) === "completed with failures" ? true : undefined,
    );
    await page.getByTestId("failed-member").first().waitFor();
    await page.screenshot({ path: screenshotPath("batch"), fullPage: true });
    await page.getByTestId("failed-member").first().click();
    await page.getByTestId("letter-view").waitFor();
    assert.match(await text("letter-error"), /HANDLER_ERROR: member \d+ failed/);
    const jobId = (await client.deadLetters.list({ batch: id, limit: 1 }))[0]!.jobId!;
    await page.goto(`${con.url}/#/id/${jobId}`);
    assert.match(await text("member"), new RegExp(`member \\d+ of batch ${id}.*outcome recorded`));
    await page.screenshot({ path: screenshotPath("dead-letter"), fullPage: true });
  },
);

it("replay a dead letter, then replay the rest by filter", { skip }, async () => {
  const ids = [];
  for (const i of [1, 2, 3]) ids.push((await client.dispatch(job(flaky, { i }))).dispatchId);
  for (const d of ids) await client.wait(d, { timeout: 10_000 });
  await page.goto(`${con.url}/#/dlq?type=${encodeURIComponent(flaky)}`);
  await waitFor("3 letters listed", async () =>
    (await page.getByTestId("letter-row").count()) === 3 ? true : undefined,
  );
  await page.screenshot({ path: screenshotPath("dead-letters"), fullPage: true });
  await page.getByTestId("letter-row").first().getByRole("link").first().click();
  await page.getByTestId("replay").click();
  assert.match(await page.getByTestId("notice").innerText(), /replayed as dsp_/);
  await page.goto(`${con.url}/#/dlq?type=${encodeURIComponent(flaky)}`);
  await waitFor("2 letters left", async () =>
    (await page.getByTestId("letter-row").count()) === 2 ? true : undefined,
  );
  await page.getByTestId("replay-matching").click();
  assert.match(await page.getByTestId("confirm-text").innerText(), /^replay 2 dead letters matching type=/);
  await page.getByTestId("confirm-yes").click();
  assert.match(await page.getByTestId("notice").innerText(), /replayed 2 of 2/);
  for (const d of ids) assert.equal((await client.wait(d, { timeout: 10_000 })).status, "succeeded");
  await page.getByTestId("no-letters").waitFor();
});

it(
  "pause a queue: its job is not delivered; resume: it runs. A type with no worker is highlighted",
  { skip },
  async () => {
    const first = uniq("job");
    await client.dispatch(job(slow, { id: first }).onQueue(PQ));
    await waitFor("the queue's first job", () => (slowRuns.includes(first) ? true : undefined));
    const lonely = `${T}:lonely`;
    await client.dispatch(job(lonely).onQueue(uniq("nobody")));
    await page.goto(`${con.url}/#/`);
    const lonelyRow = page.locator(`tr[data-testid$="-${lonely}"]`);
    await lonelyRow.getByTestId("no-worker").waitFor();
    assert.match((await lonelyRow.getAttribute("class")) ?? "", /no-worker/);
    await page.getByTestId(`pause-queue-${PQ}`).click();
    const row = page.getByTestId(`row-${PQ}-${slow}`);
    await row.getByTestId("paused").waitFor();
    const held = uniq("job");
    const before = await deliveredSeq(ncOf(client), PQ, slow);
    await client.dispatch(job(slow, { id: held }).onQueue(PQ));
    // The page re-reads the counts on the events stream's tick: the job shows as ready, and stays undelivered.
    await waitFor("the held job shown ready", async () =>
      (await row.getByTestId("ready").innerText()) === "1" ? true : undefined,
    );
    await waitHeldByPause(ncOf(client), PQ, slow, before);
    assert.ok(!slowRuns.includes(held), "a paused queue delivered a job");
    await page.screenshot({ path: screenshotPath("queues"), fullPage: true });
    await page.getByTestId(`resume-queue-${PQ}`).click();
    await waitFor("the held job after resume", () => (slowRuns.includes(held) ? true : undefined));
  },
);

it(
  "a chain's nodes as a line; a failed job by its id, with its dead letter and envelope",
  { skip },
  async () => {
    const chainId = await client
      .chain(job(member, { i: 0 }), job(member, { i: 5 }), job(member, { i: 1 }))
      .dispatch();
    await client.wait(chainId, { timeout: 15_000 }).catch(() => undefined);
    await page.goto(`${con.url}/#/chain/${chainId}`);
    await waitFor("the chain failed at its second node", async () =>
      (await text("state")) === "failed" ? true : undefined,
    );
    assert.deepEqual(await page.getByTestId("node").evaluateAll((els) => els.map((e) => e.className)), [
      "node succeeded",
      "node failed",
      "node skipped",
    ]);
    await page.screenshot({ path: screenshotPath("chain"), fullPage: true });
    const { dispatchId } = await client.dispatch(job(flaky, { i: 99 }));
    await client.wait(dispatchId, { timeout: 10_000 });
    await page.getByTestId("search").fill(dispatchId);
    await page.getByTestId("search").press("Enter");
    await page.getByTestId("job-view").waitFor();
    assert.equal(await text("status"), "failed");
    await page.getByTestId("envelope").waitFor();
    await page.screenshot({ path: screenshotPath("job"), fullPage: true });
  },
);

it("an action without operator credentials is refused, and the page says so", { skip }, async () => {
  const seqs = (await client.deadLetters.list({ type: member, limit: 1 })).map((l) => l.seq);
  const anon = await browser.context.browser()?.newContext();
  const p = anon ? await anon.newPage() : await browser.context.newPage();
  if (!anon) await browser.context.clearCookies();
  await p.goto(`${con.url}/#/dlq/${seqs[0]}`);
  await p.getByTestId("replay").click();
  assert.match(await p.getByTestId("error").innerText(), /UNAUTHORIZED: sign in as an operator/);
  await p.screenshot({ path: screenshotPath("refused"), fullPage: true });
  assert.equal((await client.deadLetters.show(seqs[0]!)).seq, seqs[0]);
  await p.close();
});

it("a 100,000-member batch's page is interactive in under a second", { skip }, async () => {
  const id = `bat_${uniq("big").replace(/-/g, "")}`;
  await writeBigBatch(ncOf(client), id, member, 100_000, 25);
  const p = await browser.context.newPage();
  await p.goto(`${con.url}/#/batch/${id}`);
  await p.getByTestId("failed-member").first().waitFor();
  // Rendered with its first page of failed members, and the main thread free again (one frame, one task).
  const ms = Number(
    await p.evaluate(
      "new Promise((r) => requestAnimationFrame(() => setTimeout(() => r(performance.now()), 0)))",
    ),
  );
  assert.equal(await p.getByTestId("total").innerText(), "100000");
  assert.equal(await p.getByTestId("processed").innerText(), "60000");
  assert.equal(await p.getByTestId("failed-member").count(), 20);
  process.stdout.write(
    `# 100k-member batch page interactive at ${ms.toFixed(0)} ms after navigation start\n`,
  );
  await p.screenshot({ path: screenshotPath("batch-100k"), fullPage: true });
  assert.ok(ms < 1_000, `interactive after ${ms} ms`);
  await p.getByTestId("next-page").click();
  await waitFor("the second page", async () =>
    (await p.getByTestId("failed-member").count()) === 5 ? true : undefined,
  );
  await p.close();
});

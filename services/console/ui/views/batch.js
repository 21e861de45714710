// A batch: its record (one read), the counts kept live from its events, its callbacks, and its failed members
// from their dead letters a page at a time.
import { useEffect, useState } from "preact/hooks";
import { html } from "../html.js";
import { api, follow } from "../api.js";
import { Err, time } from "../common.js";
import { useAction } from "../use-action.js";
import { FailedMembers } from "./failed-members.js";

const TERMINAL = ["batch_completed", "batch_failed", "batch_cancelled"];

export function Progress({ b }) {
  const pct = (n) => (b.total ? (100 * n) / b.total : 0) + "%";
  return html`<div>
    <div
      class="bar"
      data-testid="progress"
      role="progressbar"
      aria-valuemax=${b.total}
      aria-valuenow=${b.processed}
    >
      <div class="ok" style=${{ width: pct(b.processed - b.failed) }}></div>
      <div class="failed" style=${{ width: pct(b.failed) }}></div>
    </div>
    <p data-testid="counts">
      processed <b data-testid="processed">${b.processed}</b> /
      <b data-testid="total">${b.total}</b>,${" "}failed${" "}
      <b data-testid="failed">${b.failed}</b>,${" "}pending${" "}<b data-testid="pending">${b.pending}</b>
    </p>
  </div>`;
}

// Only the four counts, as integers: an event's other keys must not overwrite the batch's view.
const COUNT_KEYS = ["total", "pending", "processed", "failed"];
function countsOf(c) {
  if (!c || !COUNT_KEYS.every((k) => Number.isSafeInteger(c[k]) && c[k] >= 0)) return null;
  return Object.fromEntries(COUNT_KEYS.map((k) => [k, c[k]]));
}

export function Batch({ id }) {
  const [b, setB] = useState(null);
  const [error, setError] = useState(null);
  const [failedSeen, setFailedSeen] = useState(0);
  const action = useAction();
  const load = () => api("/api/batches/" + encodeURIComponent(id)).then(setB, setError);
  useEffect(() => {
    load();
    return follow("workflow=" + encodeURIComponent(id), {
      workflow: (e) => {
        const counts = countsOf(e.counts);
        if (counts) setB((cur) => (cur ? { ...cur, ...counts } : cur));
        if (TERMINAL.includes(e.kind) || e.kind.startsWith("callback_")) load();
      },
    });
  }, [id]);
  useEffect(() => {
    if (b && b.failed !== failedSeen) setFailedSeen(b.failed);
  }, [b?.failed]);
  if (!b) return html`<${Err} error=${error} />`;
  const cancel = () =>
    action
      .run(
        () => api("/api/batches/" + encodeURIComponent(id) + "/cancel", { method: "POST", body: {} }),
        () => "cancelled",
      )
      .then(load);
  return html`<section data-testid="batch-view">
    <h2>batch ${b.name ? b.name + " · " : ""}<code>${b.id}</code></h2>
    <p>
      state <b data-testid="state">${b.state}</b>
      ${` · queue ${b.queue} · ${b.allowFailures ? "allows failures" : "fails on the first failure"}`}
      ${` · created ${time(b.createdAt)} · updated ${time(b.updatedAt)}`}
      ${b.traceUrl && html` · <a href=${b.traceUrl} target="_blank" rel="noopener">trace</a>`}
    </p>
    <${Progress} b=${b} />
    ${b.failure && html`<p class="error">failure: ${b.failure.code}: ${b.failure.message}</p>`}
    ${
      !b.state.startsWith("completed") &&
      b.state !== "cancelled" &&
      html`<button data-testid="cancel-batch" onClick=${cancel}>cancel batch</button>`
    }
    <${Err} error=${action.error} />
    ${action.notice && html`<p class="notice">${action.notice}</p>`}
    <h3>callbacks</h3>
    <table data-testid="callbacks">
      ${b.callbacks.map(
        (c) =>
          html`<tr>
            <td>${c.kind}</td>
            <td>${c.type}</td>
            <td>${c.status}${c.count ? " ×" + c.count : ""}</td>
          </tr>`,
      )}
      ${
        b.callbacks.length === 0 &&
        html`<tr>
          <td>none</td>
        </tr>`
      }
    </table>
    <h3>members</h3>
    <p>${b.members.map((m) => `${m.count} × ${m.type}`).join(", ")}${b.membersTruncated ? ", …" : ""}</p>
    <h3>failed members</h3>
    <${FailedMembers} batchId=${b.id} failed=${failedSeen} />
  </section>`;
}

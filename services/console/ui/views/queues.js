// Queues and types: counts from stream and consumer info and the worker registry, re-read when the events
// stream says jobs moved (never polled). Types with jobs waiting and no live worker are highlighted.
import { useEffect, useState } from "preact/hooks";
import { html } from "../html.js";
import { api, follow } from "../api.js";
import { Err, time } from "../common.js";
import { useAction } from "../use-action.js";

const rate = (r) => (r === null ? "–" : r.toFixed(1));

export function Queues() {
  const [data, setData] = useState(null);
  const [loadError, setLoadError] = useState(null);
  const action = useAction();
  const load = () => api("/api/queues").then(setData, setLoadError);
  useEffect(() => {
    load();
    return follow("", { queues: load, ready: load });
  }, []);
  const act = (kind, queue, type) =>
    action
      .run(
        () => api("/api/queues/" + kind, { method: "POST", body: type ? { queue, type } : { queue } }),
        () => `${kind}d ${type ? type + " on " : "queue "}${queue}`,
      )
      .then(load);
  if (!data) return html`<${Err} error=${loadError} />`;
  const queues = [...new Set(data.rows.map((r) => r.queue))];
  return html`<section data-testid="queues-view">
    <h2>Queues and types</h2>
    <${Err} error=${action.error} />
    ${action.notice && html`<p class="notice" data-testid="notice">${action.notice}</p>`}
    ${queues.length === 0 && html`<p>no queues yet</p>`}
    ${queues.map(
      (q) =>
        html`<div>
          <h3>
            ${q}
            <button data-testid=${"pause-queue-" + q} onClick=${() => act("pause", q)}>pause queue</button>
            <button data-testid=${"resume-queue-" + q} onClick=${() => act("resume", q)}>resume queue</button>
          </h3>
          <table>
            <tr>
              <th>type</th>
              <th>ready</th>
              <th>in flight</th>
              <th>waiting</th>
              <th>rate/s</th>
              <th>lag</th>
              <th>workers</th>
              <th></th>
              <th></th>
            </tr>
            ${data.rows
              .filter((r) => r.queue === q)
              .map(
                (r) =>
                  html`<tr class=${r.noWorker ? "no-worker" : ""} data-testid=${"row-" + q + "-" + r.type}>
                    <td>${r.type}</td>
                    <td class="n" data-testid="ready">${r.ready}</td>
                    <td class="n">${r.inFlight}</td>
                    <td class="n">${r.delayed}</td>
                    <td class="n">${rate(r.rate)}</td>
                    <td class="n">${r.lag}</td>
                    <td class="n">
                      ${r.liveWorkers}${r.workers === 0 && r.liveWorkers > 0 ? " (foreign)" : ""}
                    </td>
                    <td>
                      ${r.noWorker && html`<span class="flag" data-testid="no-worker">NO WORKER</span>`}
                      ${r.pausedUntil && html`<span class="paused" data-testid="paused">paused until ${time(r.pausedUntil)}</span>`}
                    </td>
                    <td>
                      ${
                        r.consumer &&
                        (r.pausedUntil
                          ? html`<button onClick=${() => act("resume", q, r.type)}>resume</button>`
                          : html`<button onClick=${() => act("pause", q, r.type)}>pause</button>`)
                      }
                    </td>
                  </tr>`,
              )}
          </table>
        </div>`,
    )}
  </section>`;
}

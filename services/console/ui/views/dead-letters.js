// Dead letters through the shared filter (queue, type, reason, batch, since, until; the CLI's --filter keys),
// a page at a time; replay or discard one, or all that match after a confirmation that states the count.
import { useEffect, useState } from "preact/hooks";
import { html } from "../html.js";
import { api } from "../api.js";
import { Err, idLink, time } from "../common.js";
import { useAction } from "../use-action.js";

const KEYS = ["queue", "type", "reason", "batch", "since", "until"];
const REASONS = ["", "exhausted", "permanent", "worker_died", "malformed", "no_handler"];

function fromQuery(q) {
  return Object.fromEntries(KEYS.map((k) => [k, q.get(k) ?? ""]));
}
const toQuery = (f) => new URLSearchParams(Object.entries(f).filter(([, v]) => v)).toString();

export function DeadLetters({ query }) {
  const filter = fromQuery(query);
  const [draft, setDraft] = useState(filter);
  const [after, setAfter] = useState([0]);
  const [page, setPage] = useState(null);
  const [error, setError] = useState(null);
  const [confirm, setConfirm] = useState(null);
  const [reload, setReload] = useState(0);
  const action = useAction();
  const q = toQuery(filter);
  const cursor = after[after.length - 1];
  useEffect(() => {
    setError(null);
    api(`/api/dlq?${q}&limit=20${cursor ? "&after=" + cursor : ""}`).then(setPage, setError);
  }, [q, cursor, reload]);
  useEffect(() => {
    setDraft(filter);
    setAfter([0]);
  }, [q]);
  const apply = (e) => {
    e.preventDefault();
    location.hash = "#/dlq?" + toQuery(draft);
  };
  const ask = (kind) =>
    action.run(async () => {
      const clean = Object.fromEntries(Object.entries(filter).filter(([, v]) => v));
      const c = await api("/api/dlq/count", { method: "POST", body: clean });
      setConfirm({ kind, ...c });
    });
  const doBulk = () =>
    action
      .run(
        () =>
          api("/api/dlq/" + confirm.kind, {
            method: "POST",
            // the count's resolved filter, sequence and count: the server refuses if the set changed
            body: confirm.confirm,
          }),
        (r) =>
          `${confirm.kind === "replay" ? "replayed" : "discarded"} ${r.done} of ${confirm.count}${r.failed.length ? `; ${r.failed.length} failed` : ""}`,
      )
      .then(() => {
        setConfirm(null);
        setReload(reload + 1);
      });
  const one = (l, kind) =>
    action
      .run(
        () => api(`/api/dlq/${l.seq}/${kind}`, { method: "POST", body: {} }),
        () => `${kind === "replay" ? "replayed" : "discarded"} #${l.seq}`,
      )
      .then(() => setReload(reload + 1));
  return html`<section data-testid="dlq-view">
    <h2>Dead letters</h2>
    <form class="filter" onSubmit=${apply}>
      ${KEYS.map((k) =>
        k === "reason"
          ? html`<label
              >reason<select
                value=${draft.reason}
                onChange=${(e) => setDraft({ ...draft, reason: e.target.value })}
                data-testid="f-reason"
              >
                ${REASONS.map((r) => html`<option value=${r}>${r || "any"}</option>`)}
              </select></label
            >`
          : html`<label
              >${k}<input
                value=${draft[k]}
                placeholder=${k === "since" || k === "until" ? "-1h or ISO" : ""}
                onInput=${(e) => setDraft({ ...draft, [k]: e.target.value })}
                data-testid=${"f-" + k}
            /></label>`,
      )}
      <button data-testid="apply-filter">filter</button>
    </form>
    <p>
      <button data-testid="replay-matching" onClick=${() => ask("replay")}>replay all matching</button>
      <button data-testid="discard-matching" onClick=${() => ask("discard")}>discard all matching</button>
    </p>
    ${
      confirm &&
      html`<div class="confirm" data-testid="confirm">
        <p data-testid="confirm-text">
          ${`${confirm.kind} ${confirm.count} dead letter${confirm.count === 1 ? "" : "s"} matching ${confirm.filter}?`}
        </p>
        <button data-testid="confirm-yes" disabled=${confirm.count === 0} onClick=${doBulk}>
          yes, ${confirm.kind} ${confirm.count}
        </button>
        <button onClick=${() => setConfirm(null)}>no</button>
      </div>`
    }
    <${Err} error=${action.error || error} />
    ${action.notice && html`<p class="notice" data-testid="notice">${action.notice}</p>`}
    ${
      page &&
      html`<table>
          <tr>
            <th>#</th>
            <th>queue</th>
            <th>type</th>
            <th>reason</th>
            <th>attempts</th>
            <th>failed at</th>
            <th>workflow</th>
            <th>error</th>
            <th></th>
          </tr>
          ${page.letters.map(
            (l) =>
              html`<tr data-testid="letter-row">
                <td><a href=${"#/dlq/" + l.seq}>${l.seq}</a></td>
                <td>${l.queue}</td>
                <td>${l.type}</td>
                <td>${l.reason}</td>
                <td class="n">${l.attempts}</td>
                <td>${time(l.failedAt)}</td>
                <td>${l.workflowId ? idLink(l.workflowId) : ""}</td>
                <td class="error">${l.error.code}: ${l.error.message}</td>
                <td>
                  <button onClick=${() => one(l, "replay")}>replay</button
                  ><button onClick=${() => one(l, "discard")}>discard</button>
                </td>
              </tr>`,
          )}
        </table>
        ${page.letters.length === 0 && html`<p data-testid="no-letters">no dead letters match</p>`}
        ${after.length > 1 && html`<button onClick=${() => setAfter(after.slice(0, -1))}>previous</button>`}
        ${page.nextSeq && html`<button data-testid="next-page" onClick=${() => setAfter([...after, page.nextSeq])}>next</button>`}`
    }
  </section>`;
}

// Anything by id: a batch or chain goes to its view; a job shows its result record, its dead letter (with the
// envelope) and a link to its trace.
import { useEffect, useState } from "preact/hooks";
import { html } from "../html.js";
import { api } from "../api.js";
import { Err, Json, time } from "../common.js";

export function Lookup({ id }) {
  const [j, setJ] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    setJ(null);
    setError(null);
    api("/api/lookup/" + encodeURIComponent(id)).then((r) => {
      if (r.kind === "batch" || r.kind === "chain")
        location.replace("#/" + r.kind + "/" + encodeURIComponent(id));
      else setJ(r);
    }, setError);
  }, [id]);
  if (!j) return html`<${Err} error=${error} />`;
  const r = j.result;
  return html`<section data-testid="job-view">
    <h2>job <code>${j.id}</code></h2>
    ${j.traceUrl && html`<p><a href=${j.traceUrl} target="_blank" rel="noopener" data-testid="trace-link">trace in Jaeger</a></p>`}
    ${
      j.member &&
      html`<p data-testid="member">
        ${`${j.member.role}${j.member.index !== null ? " " + j.member.index : ""} of ${j.member.workflowKind} `}
        <a href=${"#/" + j.member.workflowKind + "/" + encodeURIComponent(j.member.workflowId)}
          >${j.member.workflowId}</a
        >
        ${j.member.outcomeRecorded !== undefined && ` · outcome ${j.member.outcomeRecorded ? "recorded" : "not recorded yet"}`}
      </p>`
    }
    ${
      r
        ? html`<p>
              ${r.type} on ${r.queue}: <b data-testid="status">${r.status}</b> after ${r.attempts}
              attempt(s),${" "} ${time(r.finished_at)}
            </p>
            ${
              r.status === "succeeded"
                ? html`<h3>result</h3>
                    <${Json} value=${r.result ?? null} />`
                : html`<p class="error">${r.error?.code}: ${r.error?.message}</p>`
            }`
        : !j.member && html`<p>no outcome recorded (still waiting, or its result has expired)</p>`
    }
    ${
      j.deadLetter &&
      html`<h3>dead letter <a href=${"#/dlq/" + j.deadLetter.seq}>#${j.deadLetter.seq}</a></h3>
        <p>${j.deadLetter.reason}, ${j.deadLetter.attempts} attempt(s): ${j.deadLetter.error.message}</p>
        <h3 data-testid="envelope">envelope</h3>
        <${Json} value=${j.deadLetter.envelope ?? null} />`
    }
  </section>`;
}

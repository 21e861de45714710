// One dead letter: its error, attempts, envelope; replay or discard it.
import { useEffect, useState } from "preact/hooks";
import { html } from "../html.js";
import { api } from "../api.js";
import { Err, Json, idLink, time } from "../common.js";
import { useAction } from "../use-action.js";

export function Letter({ seq }) {
  const [l, setL] = useState(null);
  const [error, setError] = useState(null);
  const action = useAction();
  useEffect(() => {
    api("/api/dlq/" + encodeURIComponent(seq)).then(setL, setError);
  }, [seq]);
  if (!l) return html`<${Err} error=${error} />`;
  const act = (kind) =>
    action.run(
      () => api(`/api/dlq/${l.seq}/${kind}`, { method: "POST", body: {} }),
      (r) => (kind === "replay" ? `replayed as ${r.dispatchId}` : "discarded"),
    );
  return html`<section data-testid="letter-view">
    <h2>dead letter #${l.seq}</h2>
    <p>
      ${l.type ?? "(undecodable)"} on ${l.queue ?? l.subject} · <b>${l.reason}</b> · ${l.attempts} attempt(s)
      · ${time(l.failedAt)}
    </p>
    ${l.dispatchId && html`<p>dispatch ${idLink(l.dispatchId)}${l.workflowId ? html` · workflow ${idLink(l.workflowId)}` : ""}</p>`}
    <p class="error" data-testid="letter-error">${l.error.code}: ${l.error.message}</p>
    <button data-testid="replay" onClick=${() => act("replay")}>replay</button>
    <button data-testid="discard" onClick=${() => act("discard")}>discard</button>
    <${Err} error=${action.error} />
    ${action.notice && html`<p class="notice" data-testid="notice">${action.notice}</p>`}
    <h3>envelope</h3>
    <${Json} value=${l.envelope ?? l.raw ?? null} />
  </section>`;
}

// A chain: its nodes as a line, each with its state, kept live from the chain's events.
import { useEffect, useState } from "preact/hooks";
import { html } from "../html.js";
import { api, follow } from "../api.js";
import { Err, time } from "../common.js";

export function Chain({ id }) {
  const [c, setC] = useState(null);
  const [error, setError] = useState(null);
  const load = () => api("/api/chains/" + encodeURIComponent(id)).then(setC, setError);
  useEffect(() => {
    load();
    return follow("workflow=" + encodeURIComponent(id), { workflow: load });
  }, [id]);
  if (!c) return html`<${Err} error=${error} />`;
  return html`<section data-testid="chain-view">
    <h2>chain <code>${c.id}</code></h2>
    <p>
      state <b data-testid="state">${c.state}</b> · queue ${c.queue} · created ${time(c.createdAt)}
      ${c.traceUrl && html` · <a href=${c.traceUrl} target="_blank" rel="noopener">trace</a>`}
    </p>
    <div class="chain" data-testid="nodes">
      ${c.nodes.map(
        (n, i) =>
          html`${i > 0 && html`<span>→</span>`}<span
              class=${"node " + n.state}
              data-testid="node"
              title=${n.queue}
            >
              ${n.index + 1}. ${n.type} <small>${n.state}</small></span
            >`,
      )}
    </div>
    ${c.failure && html`<p class="error">failure: ${c.failure.code}: ${c.failure.message}</p>`}
    <h3>callbacks</h3>
    <table>
      ${c.callbacks.map(
        (k) =>
          html`<tr>
            <td>${k.kind}</td>
            <td>${k.type}</td>
            <td>${k.status}</td>
          </tr>`,
      )}
      ${
        c.callbacks.length === 0 &&
        html`<tr>
          <td>none</td>
        </tr>`
      }
    </table>
  </section>`;
}

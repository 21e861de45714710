// A batch's failed members: its dead letters, selected on the server by the batch's subject token, 20 a page.
import { useEffect, useState } from "preact/hooks";
import { html } from "../html.js";
import { api } from "../api.js";
import { Err, time } from "../common.js";

export function FailedMembers({ batchId, failed }) {
  const [pages, setPages] = useState([0]);
  const [page, setPage] = useState(null);
  const [error, setError] = useState(null);
  const after = pages[pages.length - 1];
  useEffect(() => {
    api(`/api/dlq?batch=${encodeURIComponent(batchId)}&limit=20${after ? "&after=" + after : ""}`).then(
      setPage,
      setError,
    );
  }, [batchId, after, failed]);
  if (!page) return html`<${Err} error=${error} />`;
  return html`<div data-testid="failed-members">
    ${page.letters.length === 0 && html`<p>none${failed ? " dead-lettered yet" : ""}</p>`}
    <table>
      ${page.letters.map(
        (l) =>
          html`<tr>
            <td><a href=${"#/dlq/" + l.seq} data-testid="failed-member">#${l.seq}</a></td>
            <td>${l.type}</td>
            <td>${l.dispatchId}</td>
            <td>${l.reason}</td>
            <td class="error">${l.error.code}: ${l.error.message}</td>
            <td>${time(l.failedAt)}</td>
          </tr>`,
      )}
    </table>
    ${pages.length > 1 && html`<button onClick=${() => setPages(pages.slice(0, -1))}>previous</button>`}
    ${page.nextSeq && html`<button data-testid="next-page" onClick=${() => setPages([...pages, page.nextSeq])}>next</button>`}
  </div>`;
}

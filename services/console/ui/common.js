// Small pieces the views share: times, an error line, a JSON block, links.
import { html } from "./html.js";

export const time = (ms) => (ms ? new Date(ms).toISOString().replace("T", " ").replace("Z", "") : "–");

export function Err({ error }) {
  if (!error) return null;
  return html`<p class="error" data-testid="error" role="alert">
    ${error.code ? error.code + ": " : ""}${error.message}
  </p>`;
}

export function Json({ value }) {
  return html`<pre class="json">${JSON.stringify(value, null, 2)}</pre>`;
}

export const idLink = (id) => html`<a href=${"#/id/" + encodeURIComponent(id)}>${id}</a>`;

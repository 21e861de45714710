// The console page: a hash router over small views, the sign-in box, and the navigation.
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { html } from "./html.js";
import { api, setCsrf } from "./api.js";
import { SignIn } from "./views/sign-in.js";
import { Queues } from "./views/queues.js";
import { Batch } from "./views/batch.js";
import { Chain } from "./views/chain.js";
import { Lookup } from "./views/lookup.js";
import { DeadLetters } from "./views/dead-letters.js";
import { Letter } from "./views/letter.js";

function parseHash() {
  const [path, query = ""] = location.hash.replace(/^#/, "").split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  return { parts, query: new URLSearchParams(query) };
}

function View({ route, session }) {
  const [head, arg] = route.parts;
  if (head === "batch" && arg) return html`<${Batch} id=${arg} session=${session} />`;
  if (head === "chain" && arg) return html`<${Chain} id=${arg} session=${session} />`;
  if (head === "id" && arg) return html`<${Lookup} id=${arg} session=${session} />`;
  if (head === "dlq" && arg) return html`<${Letter} seq=${arg} session=${session} />`;
  if (head === "dlq") return html`<${DeadLetters} query=${route.query} session=${session} />`;
  return html`<${Queues} session=${session} />`;
}

function App() {
  const [route, setRoute] = useState(parseHash());
  const [session, setSession] = useState(null);
  const [search, setSearch] = useState("");
  useEffect(() => {
    const on = () => setRoute(parseHash());
    addEventListener("hashchange", on);
    api("/api/session").then(setSession, () => setSession({ user: null, readOnly: true }));
    return () => removeEventListener("hashchange", on);
  }, []);
  useEffect(() => setCsrf(session?.csrf ?? null), [session]);
  const go = (e) => {
    e.preventDefault();
    if (search.trim()) location.hash = "#/id/" + encodeURIComponent(search.trim());
  };
  return html`
    <header>
      <strong>jetbus</strong>
      <nav><a href="#/">Queues</a><a href="#/dlq">Dead letters</a></nav>
      <form class="search" onSubmit=${go}>
        <input
          placeholder="job, chain or batch id"
          value=${search}
          onInput=${(e) => setSearch(e.target.value)}
          data-testid="search"
        />
      </form>
      ${session && html`<${SignIn} session=${session} onChange=${setSession} />`}
    </header>
    <main>${session ? html`<${View} route=${route} session=${session} />` : html`<p>loading…</p>`}</main>
  `;
}

render(html`<${App} />`, document.getElementById("app"));

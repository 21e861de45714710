// Who is signed in; a sign-in form when operators exist; "read-only" when none do.
import { useState } from "preact/hooks";
import { html } from "../html.js";
import { api } from "../api.js";
import { Err } from "../common.js";

export function SignIn({ session, onChange }) {
  const [user, setUser] = useState("");
  const [secret, setSecret] = useState("");
  const [error, setError] = useState(null);
  if (session.readOnly) return html`<span class="who" data-testid="read-only">read-only console</span>`;
  if (session.user)
    return html`<span class="who">
      <span data-testid="signed-in">${session.user}</span>
      <button
        onClick=${() => api("/api/session", { method: "DELETE" }).then(() => onChange({ ...session, user: null, csrf: null }))}
      >
        sign out
      </button>
    </span>`;
  const submit = async (e) => {
    e.preventDefault();
    try {
      onChange(await api("/api/session", { method: "POST", body: { user, secret } }));
      setSecret("");
      setError(null);
    } catch (err) {
      setError(err);
    }
  };
  return html`<form class="who" onSubmit=${submit}>
    <input
      placeholder="operator"
      value=${user}
      onInput=${(e) => setUser(e.target.value)}
      data-testid="user"
    />
    <input
      type="password"
      placeholder="password or token"
      value=${secret}
      onInput=${(e) => setSecret(e.target.value)}
      data-testid="secret"
    />
    <button data-testid="sign-in">sign in</button>
    <${Err} error=${error} />
  </form>`;
}

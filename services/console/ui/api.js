// The page's one way to the console API: JSON in and out, the session's CSRF token on every change, and the
// server's error message (code and text) surfaced as an Error the views show.
let csrf = null;

export function setCsrf(token) {
  csrf = token;
}

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export async function api(path, { method = "GET", body } = {}) {
  const headers = { accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (method !== "GET" && csrf) headers["x-csrf-token"] = csrf;
  const res = await fetch(path, {
    method,
    headers,
    credentials: "same-origin",
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const data = await res.json().catch(() => null);
  if (!res.ok) {
    const e = data?.error ?? {};
    throw new ApiError(res.status, e.code ?? "HTTP_" + res.status, e.message ?? res.statusText);
  }
  return data;
}

/** Follows the events stream; returns a stop function. */
export function follow(query, handlers) {
  const es = new EventSource("/api/events" + (query ? "?" + query : ""));
  for (const [name, fn] of Object.entries(handlers)) es.addEventListener(name, (m) => fn(JSON.parse(m.data)));
  return () => es.close();
}

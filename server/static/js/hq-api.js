// fetch() for the pages: JSON in and out, the session's CSRF token on writes, the contract's error body.

/** The session's CSRF token from <meta name="csrf-token"> (base.html renders it when a session exists). */
export function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.getAttribute("content") || "" : "";
}

/** A failed request: HTTP status (0 when the network failed), the error body's code and message. */
export class ApiError extends Error {
  constructor(status, code, message, body = null) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.body = body;
  }
}

/**
 * Send a request and return the parsed JSON (null for an empty body).
 * Throws ApiError for a non-2xx answer ({"error": {"code", "message"}}), a network failure or a timeout.
 */
export async function fetchJSON(url, { method = "GET", body, headers = {}, timeoutMs = 15000, signal } = {}) {
  const sent = { Accept: "application/json", ...headers };
  if (body !== undefined) sent["Content-Type"] = "application/json";
  if (method !== "GET" && method !== "HEAD") {
    const token = csrfToken();
    if (token) sent["X-CSRF-Token"] = token;
  }
  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(), timeoutMs);
  if (signal) signal.addEventListener("abort", () => timeout.abort(), { once: true });
  let response;
  try {
    response = await fetch(url, {
      method,
      headers: sent,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
      signal: timeout.signal,
    });
  } catch (err) {
    throw new ApiError(0, timeout.signal.aborted ? "timeout" : "network", String(err && err.message ? err.message : err));
  } finally {
    clearTimeout(timer);
  }
  const text = await response.text();
  let parsed = null;
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = null;
    }
  }
  if (!response.ok) {
    const error = parsed && parsed.error ? parsed.error : {};
    throw new ApiError(response.status, error.code || "http_" + response.status, error.message || response.statusText, parsed);
  }
  return parsed;
}

export const getJSON = (url, options = {}) => fetchJSON(url, { ...options, method: "GET" });
export const postJSON = (url, body, options = {}) => fetchJSON(url, { ...options, method: "POST", body });

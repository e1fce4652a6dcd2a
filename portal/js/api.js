// The API as a browser frontend calls it: a bearer token, cross-origin (CORS), JSON bodies, an
// Idempotency-Key on every change, the error shape {"error": {"code", "message"}}, opaque cursors.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

function newKey() {
  return globalThis.crypto?.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(16).slice(2)}`;
}

export class Api {
  constructor(baseUrl, token, { onUnauthorized } = {}) {
    this.baseUrl = baseUrl.replace(/\/$/, "");
    this.token = token;
    this.onUnauthorized = onUnauthorized;
  }

  url(path, query) {
    const url = new URL(this.baseUrl + path);
    for (const [name, value] of Object.entries(query || {})) {
      if (value !== undefined && value !== null && value !== "") url.searchParams.set(name, value);
    }
    return url;
  }

  async send(method, path, { body, query, accept = "application/json" } = {}) {
    const headers = { Authorization: `Bearer ${this.token}`, Accept: accept };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    // One key per user action: a retry of the same action is answered from the first.
    if (method !== "GET") headers["Idempotency-Key"] = newKey();
    let response;
    try {
      response = await fetch(this.url(path, query), {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        mode: "cors",
        credentials: "omit",
      });
    } catch {
      throw new ApiError(0, "network_error", "The API could not be reached (offline, or this origin is not allowed).");
    }
    if (response.status === 401) {
      this.onUnauthorized?.();
      throw new ApiError(401, "unauthorized", "Your session has ended: please sign in again.");
    }
    if (!response.ok) throw await errorFrom(response);
    return response;
  }

  async json(method, path, options) {
    const response = await this.send(method, path, options);
    return response.status === 204 ? null : response.json();
  }

  get(path, query) {
    return this.json("GET", path, { query });
  }

  // Every page of a list route, following nextCursor (bounded: the portal shows at most `max` items).
  async all(path, query = {}, max = 200) {
    const items = [];
    let cursor;
    do {
      const page = await this.get(path, { ...query, cursor });
      items.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor && items.length < max);
    return items;
  }
}

async function errorFrom(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    // not JSON: keep the status
  }
  if (body?.error) return new ApiError(response.status, body.error.code, body.error.message);
  // API Gateway's own answers ({"message": ...}) before the request reaches a function.
  return new ApiError(response.status, "gateway", body?.message || `The API answered ${response.status}.`);
}

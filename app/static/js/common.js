// Shared by assetmap's pages: calls to the API, who is signed in, and DOM building that only ever sets text.
//
// Signing in (POST /api/auth/session) sets an HttpOnly, SameSite=Strict session cookie; pages read and write with
// it, and the browser adds the Origin header that the server checks for every change. Page scripts never hold a
// token and nothing is kept in web storage, so a script that should not be here finds nothing to take away.
// Community text is never parsed as HTML here: el() and setText() create text nodes.

/** An answer from the API that is not a success; `body` is its JSON ({"detail", "field", "errors"}) or null. */
export class ApiError extends Error {
  constructor(status, body) {
    super(body && typeof body.detail === "string" ? body.detail : `request failed (${status})`);
    this.status = status;
    this.body = body || {};
  }
}

/**
 * Call the API. Options: json (a body to send as JSON), form (an object sent as a url-encoded form),
 * formData (a FormData, e.g. with files), headers, signal. The session cookie goes with every call (same origin).
 * Returns {data, response, etag}; throws ApiError for 4xx/5xx and for a failed connection (status 0).
 */
export async function api(method, url, options = {}) {
  const headers = new Headers(options.headers || {});
  headers.set("Accept", "application/json, application/geo+json");
  let body;
  if (options.json !== undefined) {
    headers.set("Content-Type", "application/json");
    body = JSON.stringify(options.json);
  } else if (options.form) {
    body = new URLSearchParams(options.form);
  } else if (options.formData) {
    body = options.formData;
  }
  let response;
  try {
    response = await fetch(url, {
      method,
      headers,
      body,
      signal: options.signal,
      credentials: "same-origin",
    });
  } catch (err) {
    if (err && err.name === "AbortError") {
      throw err;
    }
    throw new ApiError(0, { detail: "could not reach the server: check the connection and try again" });
  }
  let data = null;
  const type = response.headers.get("content-type") || "";
  if (type.includes("json")) {
    try {
      data = await response.json();
    } catch (_err) {
      data = null;
    }
  }
  if (!response.ok) {
    throw new ApiError(response.status, data);
  }
  return { data, response, etag: response.headers.get("ETag") };
}

/** A readable sentence for an error from api(). */
export function describeError(err) {
  if (!(err instanceof ApiError)) {
    return "Something went wrong in this page: " + String(err && err.message ? err.message : err);
  }
  const detail = err.message;
  switch (err.status) {
    case 0:
      return "Could not reach the server: check the connection and try again.";
    case 401:
      return "You are not signed in, or your sign-in has expired: sign in again.";
    case 403:
      return "Not allowed: " + detail;
    case 404:
      return "Not found: " + detail;
    case 409:
      return "Conflict: " + detail;
    case 412:
      return "Someone else changed this entry; reload it, then make your change again.";
    case 413:
      return "Too large: " + detail;
    case 429:
      return "Too many attempts: " + detail;
    default:
      if (err.status >= 500) {
        return "The server could not do this (" + err.status + "): " + detail;
      }
      return detail;
  }
}

/**
 * Create an element. `props`: className, text (textContent), hidden, and attributes set with setAttribute
 * (names are the page's own, never data). Children: nodes, or strings which become text nodes.
 */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) {
      continue;
    }
    if (name === "className") {
      node.className = value;
    } else if (name === "text") {
      node.textContent = String(value);
    } else if (name === "hidden") {
      node.hidden = Boolean(value);
    } else if (name === "checked" || name === "selected" || name === "disabled") {
      node[name] = Boolean(value);
    } else {
      node.setAttribute(name, String(value));
    }
  }
  for (const child of children) {
    if (child === undefined || child === null) {
      continue;
    }
    node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}

/** Replace an element's content with plain text (and nodes). */
export function setText(node, ...parts) {
  node.replaceChildren(...parts.map((p) => (typeof p === "string" ? document.createTextNode(p) : p)));
}

/**
 * Who this browser's session belongs to ({username, role, neighbourhood_ids}), or null (not signed in). The page
 * says whom the server saw in its cookie (#viewer's data-username); when it saw nobody, the server is not asked
 * again unless `ask` is true (just after signing in).
 */
export async function currentUser(ask = false) {
  const viewer = document.getElementById("viewer");
  if (!ask && viewer && !viewer.dataset.username) {
    return null;
  }
  try {
    const { data } = await api("GET", "/api/auth/me");
    return data;
  } catch (_err) {
    return null; // 401: not signed in, or the session expired or was revoked
  }
}

/** Show who is signed in in the top bar. */
export function showViewer(user) {
  const viewer = document.getElementById("viewer");
  if (!viewer) {
    return;
  }
  if (user) {
    setText(viewer, "Signed in as ", el("strong", { text: user.username }), " (" + user.role + ")");
  } else {
    setText(viewer, el("a", { href: "/", text: "Sign in" }));
  }
}

/** A readable label for a vocabulary word ('physical_space' -> 'Physical space'). */
export function label(word) {
  const text = String(word || "").replace(/_/g, " ");
  return text.charAt(0).toUpperCase() + text.slice(1);
}

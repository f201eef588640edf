// Transport: the ONLY frontend module that touches WebSocket or fetch.
//   - LiveSocket: the live-annotation websocket (/ws/annotate/{image_id}/) with reconnect + backoff;
//   - createApi: the REST calls the pages use (annotations, draft, submit, review, next image).
// Both take their browser primitives as injectable options so they can be tested without a browser.

/** Close codes after which reconnecting is pointless (contracts.md). */
export const FATAL_CLOSE_CODES = Object.freeze({
  4400: "protocol violation",
  4401: "not logged in",
  4403: "not a member of this project",
  4404: "no such image",
  4429: "too many annotator tabs open; close one and reload",
});

/**
 * Reconnect delay in ms for the n-th consecutive failed attempt (0-based): exponential with jitter.
 * @param {number} attempt @param {{base?: number, max?: number, random?: () => number}} [opts]
 * @returns {number}
 */
export function backoffDelay(attempt, { base = 500, max = 10000, random = Math.random } = {}) {
  const raw = Math.min(max, base * 2 ** Math.max(0, attempt));
  return Math.round(raw * (0.75 + 0.5 * random()));
}

/**
 * The websocket URL for a path on the page's own host (ws: for http:, wss: for https:).
 * @param {string} path @param {{protocol: string, host: string}} location
 */
export function wsUrl(path, location) {
  return `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}${path}`;
}

/**
 * The live-annotation socket. Reconnects with backoff unless closed on purpose or with a fatal code.
 * Callbacks: onMessage(msg object), onState({state: "connecting"|"open"|"closed"|"failed", code?, reason?, retryIn?}).
 */
export class LiveSocket {
  /**
   * @param {string} url ws:// or wss:// URL
   * @param {{onMessage: Function, onState: Function, WebSocketImpl?: Function, setTimer?: Function,
   *   clearTimer?: Function, random?: () => number, pingMs?: number}} opts
   */
  constructor(url, opts) {
    this.url = url;
    this.onMessage = opts.onMessage;
    this.onState = opts.onState;
    this.WebSocketImpl = opts.WebSocketImpl || globalThis.WebSocket;
    this.setTimer = opts.setTimer || ((fn, ms) => setTimeout(fn, ms));
    this.clearTimer = opts.clearTimer || ((t) => clearTimeout(t));
    this.random = opts.random || Math.random;
    this.pingMs = opts.pingMs ?? 20000;
    this.attempt = 0;
    this.ws = null;
    this.stopped = false;
    this.retryTimer = null;
    this.pingTimer = null;
  }

  /** Open the socket (again). */
  connect() {
    this.stopped = false;
    this.onState({ state: "connecting", attempt: this.attempt });
    const ws = new this.WebSocketImpl(this.url);
    this.ws = ws;
    ws.onopen = () => {
      this.attempt = 0;
      this.onState({ state: "open" });
      this.schedulePing();
    };
    ws.onmessage = (ev) => {
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch {
        this.onMessage({ type: "error", code: "bad_frame", message: "The server sent a frame that is not JSON." });
        return;
      }
      this.onMessage(msg);
    };
    ws.onclose = (ev) => this.handleClose(ws, ev.code, ev.reason);
    ws.onerror = () => {}; // a close event always follows
  }

  handleClose(ws, code, reason) {
    if (ws !== this.ws) return;
    this.ws = null;
    this.clearTimer(this.pingTimer);
    if (this.stopped) {
      this.onState({ state: "closed", code });
      return;
    }
    if (FATAL_CLOSE_CODES[code]) {
      this.onState({ state: "failed", code, reason: FATAL_CLOSE_CODES[code] });
      return;
    }
    const retryIn = backoffDelay(this.attempt, { random: this.random });
    this.attempt += 1;
    this.onState({ state: "closed", code, reason, retryIn });
    this.retryTimer = this.setTimer(() => this.connect(), retryIn);
  }

  schedulePing() {
    this.clearTimer(this.pingTimer);
    if (!this.pingMs) return;
    this.pingTimer = this.setTimer(() => {
      if (this.send({ type: "ping" })) this.schedulePing();
    }, this.pingMs);
  }

  /** Whether the socket is open. */
  get isOpen() {
    return Boolean(this.ws && this.ws.readyState === 1);
  }

  /**
   * Send one JSON message; returns false (and sends nothing) when the socket is not open.
   * @param {object} msg
   * @returns {boolean}
   */
  send(msg) {
    if (!this.isOpen) return false;
    this.ws.send(JSON.stringify(msg));
    return true;
  }

  /** Close for good (no reconnect). */
  close() {
    this.stopped = true;
    this.clearTimer(this.retryTimer);
    this.clearTimer(this.pingTimer);
    if (this.ws) this.ws.close(1000);
  }

  /** Drop the connection as a network failure would (used by tests and the "reconnect" button). */
  drop() {
    if (this.ws) this.ws.close(4000);
  }
}

/** A refused REST call: HTTP status plus the API's {"error": {"code", "message", "details"}}. */
export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.details = details || {};
  }
}

/**
 * The REST client of the pages.
 * @param {{csrfToken: string, fetchImpl?: Function, base?: string}} opts
 */
export function createApi({ csrfToken, fetchImpl = globalThis.fetch?.bind(globalThis), base = "/api" }) {
  async function call(method, path, body, extra = {}) {
    const headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (method !== "GET") headers["X-CSRFToken"] = csrfToken;
    let res;
    try {
      res = await fetchImpl(base + path, {
        method, headers, credentials: "same-origin", body: body === undefined ? undefined : JSON.stringify(body), ...extra,
      });
    } catch (err) {
      throw new ApiError(0, "network", `Network error: ${err.message || err}`);
    }
    const text = await res.text();
    let data = null;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = null;
      }
    }
    if (!res.ok) {
      const e = (data && data.error) || {};
      const message = e.message || (data && data.detail) || `${method} ${path} failed with HTTP ${res.status}`;
      throw new ApiError(res.status, e.code || `http_${res.status}`, message, e.details);
    }
    return data;
  }

  async function allPages(path) {
    const out = [];
    let next = path;
    while (next) {
      const data = await call("GET", next);
      if (Array.isArray(data)) return data;
      out.push(...(data.results || []));
      next = data.next ? data.next.replace(/^https?:\/\/[^/]+/, "").replace(base, "") : null;
    }
    return out;
  }

  return {
    call,
    listAnnotations: (imageId) => allPages(`/annotations/?image=${encodeURIComponent(imageId)}`),
    createAnnotation: (body) => call("POST", "/annotations/", body),
    updateAnnotation: (id, body) => call("PATCH", `/annotations/${id}/`, body),
    deleteAnnotation: (id, version) => call("DELETE", `/annotations/${id}/`, { version }),
    /** The saved draft state object, or null when there is none. */
    async getDraft(imageId) {
      try {
        const data = await call("GET", `/images/${imageId}/draft/`);
        return data && data.state && Object.keys(data.state).length ? data.state : null;
      } catch (err) {
        if (err.status === 404) return null;
        throw err;
      }
    },
    putDraft: (imageId, state, { keepalive = false } = {}) => call("PUT", `/images/${imageId}/draft/`, { state }, { keepalive }),
    getImage: (imageId) => call("GET", `/images/${imageId}/`),
    submitImage: (imageId) => call("POST", `/images/${imageId}/submit/`, {}),
    reviewImage: (imageId, decision, comment) => call("POST", `/images/${imageId}/review/`, { decision, comment }),
    nextImage: (projectId) => call("GET", `/projects/${projectId}/next-image/`),
  };
}

// Transport: reconnect with backoff, fatal close codes, send-when-open, REST error mapping.
import { test } from "node:test";
import assert from "node:assert/strict";
import { LiveSocket, backoffDelay, createApi, wsUrl, ApiError } from "../../frontend/transport.js";

class FakeSocket {
  static all = [];
  constructor(url) { this.url = url; this.readyState = 0; this.sent = []; FakeSocket.all.push(this); }
  open() { this.readyState = 1; this.onopen?.(); }
  receive(obj) { this.onmessage?.({ data: typeof obj === "string" ? obj : JSON.stringify(obj) }); }
  send(text) { this.sent.push(JSON.parse(text)); }
  close(code = 1006) { this.readyState = 3; this.onclose?.({ code, reason: "" }); }
}

function harness() {
  FakeSocket.all = [];
  const timers = [];
  const states = [];
  const messages = [];
  const sock = new LiveSocket("ws://h/ws/annotate/1/", {
    onMessage: (m) => messages.push(m), onState: (s) => states.push(s), WebSocketImpl: FakeSocket,
    setTimer: (fn, ms) => { timers.push({ fn, ms }); return timers.length; }, clearTimer: () => {}, random: () => 0.5, pingMs: 0,
  });
  return { sock, timers, states, messages };
}

test("backoff doubles from 500 ms up to the cap, with bounded jitter", () => {
  const mid = { random: () => 0.5 };
  assert.deepEqual([0, 1, 2, 3, 10].map((n) => backoffDelay(n, mid)), [500, 1000, 2000, 4000, 10000]);
  assert.equal(backoffDelay(0, { random: () => 0 }), 375);
  assert.equal(backoffDelay(0, { random: () => 1 }), 625);
});

test("wsUrl follows the page's scheme", () => {
  assert.equal(wsUrl("/ws/a/", { protocol: "https:", host: "x:1" }), "wss://x:1/ws/a/");
  assert.equal(wsUrl("/ws/a/", { protocol: "http:", host: "x" }), "ws://x/ws/a/");
});

test("messages are parsed; send only works while open", () => {
  const { sock, messages } = harness();
  sock.connect();
  const ws = FakeSocket.all[0];
  assert.equal(sock.send({ type: "ping" }), false);
  ws.open();
  assert.equal(sock.send({ type: "click", seq: 1 }), true);
  assert.deepEqual(ws.sent, [{ type: "click", seq: 1 }]);
  ws.receive({ type: "ready" });
  ws.receive("not json");
  assert.equal(messages[0].type, "ready");
  assert.equal(messages[1].code, "bad_frame");
});

test("a dropped connection reconnects with growing delays, reset after a successful open", () => {
  const { sock, timers, states } = harness();
  sock.connect();
  FakeSocket.all[0].close(1006);
  assert.equal(timers.at(-1).ms, 500);
  timers.at(-1).fn();
  FakeSocket.all[1].close(1006);
  assert.equal(timers.at(-1).ms, 1000);
  timers.at(-1).fn();
  FakeSocket.all[2].open();
  FakeSocket.all[2].close(1011);
  assert.equal(timers.at(-1).ms, 500);
  assert.equal(FakeSocket.all.length, 3);
  assert.ok(states.some((s) => s.state === "closed" && s.retryIn === 1000));
});

test("fatal close codes and a deliberate close do not reconnect", () => {
  for (const code of [4401, 4403, 4404]) {
    const { sock, timers, states } = harness();
    sock.connect();
    FakeSocket.all[0].close(code);
    assert.equal(timers.length, 0);
    assert.equal(states.at(-1).state, "failed");
  }
  const { sock, timers, states } = harness();
  sock.connect();
  FakeSocket.all[0].open();
  sock.close();
  assert.equal(timers.length, 0);
  assert.equal(states.at(-1).state, "closed");
});

function fakeFetch(routes) {
  const calls = [];
  const impl = async (url, init) => {
    calls.push({ url, ...init });
    const [status, body] = routes(url, init);
    return { ok: status >= 200 && status < 300, status, text: async () => (body === undefined ? "" : JSON.stringify(body)) };
  };
  return { impl, calls };
}

test("REST writes send JSON with the CSRF token; errors become ApiError with the API's code", async () => {
  const { impl, calls } = fakeFetch((url, init) => {
    if (init.method === "POST") return [201, { id: 9 }];
    return [409, { error: { code: "conflict", message: "stale version", details: { version: 4 } } }];
  });
  const api = createApi({ csrfToken: "tok", fetchImpl: impl });
  assert.deepEqual(await api.createAnnotation({ image: 1 }), { id: 9 });
  assert.equal(calls[0].url, "/api/annotations/");
  assert.equal(calls[0].headers["X-CSRFToken"], "tok");
  assert.deepEqual(JSON.parse(calls[0].body), { image: 1 });
  await assert.rejects(api.updateAnnotation(9, { version: 3 }), (err) => {
    assert.ok(err instanceof ApiError);
    assert.equal(err.status, 409);
    assert.equal(err.code, "conflict");
    assert.equal(err.details.version, 4);
    return true;
  });
});

test("annotation lists follow pagination; a missing or empty draft reads as null", async () => {
  const { impl, calls } = fakeFetch((url) => {
    if (url === "/api/annotations/?image=3") return [200, { results: [{ id: 1 }], next: "http://h/api/annotations/?image=3&page=2" }];
    if (url === "/api/annotations/?image=3&page=2") return [200, { results: [{ id: 2 }], next: null }];
    if (url === "/api/images/3/draft/") return [404, { error: { code: "not_found", message: "no draft" } }];
    if (url === "/api/images/4/draft/") return [200, { image: 4, state: {} }];
    if (url === "/api/images/5/draft/") return [200, { image: 5, state: { clicks: [] } }];
    return [500, undefined];
  });
  const api = createApi({ csrfToken: "t", fetchImpl: impl });
  assert.deepEqual((await api.listAnnotations(3)).map((a) => a.id), [1, 2]);
  assert.equal(await api.getDraft(3), null);
  assert.equal(await api.getDraft(4), null);
  assert.deepEqual(await api.getDraft(5), { clicks: [] });
  assert.equal(calls[0].headers["X-CSRFToken"], undefined, "GET carries no CSRF token");
  await assert.rejects(api.submitImage(6), (err) => err.status === 500 && /HTTP 500/.test(err.message));
});

test("a network failure is reported as status 0", async () => {
  const api = createApi({ csrfToken: "t", fetchImpl: async () => { throw new Error("offline"); } });
  await assert.rejects(api.getDraft(1), (err) => err.status === 0 && err.code === "network");
});

// The status line texts (waiting / queued n ahead / preparing / computing / ms per click / device / errors).
import { test } from "node:test";
import assert from "node:assert/strict";
import { statusLine } from "../../frontend/panel.js";
import { initialState, reducer } from "../../frontend/state.js";

function fresh() {
  return initialState({ image: { id: 1, width: 4, height: 4 }, project: { id: 1, default_model: "m", default_mode: "grabcut" },
    labels: [{ id: 1, name: "a", color: "#000000" }], objectId: "o" });
}
const run = (s, ...actions) => actions.reduce(reducer, s);

test("connection, queued and computing follow the newest request", () => {
  let s = run(fresh(), { type: "status/connection", connection: "ready" }, { type: "click/add", click: { x: 1, y: 1, positive: true } });
  assert.equal(statusLine(s).connection, "● ready");
  assert.equal(statusLine(s).progress, "waiting for worker…");
  s = run(s, { type: "status/server", seq: 1, state: "queued" });
  assert.equal(statusLine(s).progress, "waiting for worker…", "dispatched, no worker took it yet");
  s = run(s, { type: "status/server", seq: 1, state: "queued", position: 2 });
  assert.equal(statusLine(s).progress, "queued (2 ahead)…");
  s = run(s, { type: "status/server", seq: 1, state: "preparing" });
  assert.equal(statusLine(s).progress, "preparing image…");
  s = run(s, { type: "status/server", seq: 1, state: "computing" });
  assert.equal(statusLine(s).progress, "computing…");
  s = run(s, { type: "status/connection", connection: "disconnected, retrying in 1.0 s" });
  assert.equal(statusLine(s).connection, "○ disconnected, retrying in 1.0 s");
});

test("after the mask: model time, round trip, device and mode; errors are shown", () => {
  let s = run(fresh(), { type: "click/add", click: { x: 1, y: 1, positive: true } },
    { type: "mask/received", seq: 1, objectId: "o", prob: { roi: { x: 0, y: 0, width: 1, height: 1 }, data: new Uint8Array(1) } },
    { type: "status/mask", ms: 151.6, rtt: 222.2, device: "cuda:0", mode: "f-brs-b" });
  const line = statusLine(s);
  assert.equal(line.progress, "");
  assert.equal(line.timing, "152 ms/click (round trip 222 ms) · cuda:0 · f-brs-b");
  s = run(s, { type: "status/error", message: "no worker (no_worker)" });
  assert.equal(statusLine(s).error, "no worker (no_worker)");
  assert.equal(statusLine(fresh()).timing, "");
});

test("the status line names the model that answered (an adapted project-<id>-v<n> included)", () => {
  const s = run(fresh(), { type: "click/add", click: { x: 1, y: 1, positive: true } },
    { type: "mask/received", seq: 1, objectId: "o", prob: { roi: { x: 0, y: 0, width: 1, height: 1 }, data: new Uint8Array(1) } },
    { type: "status/mask", ms: 40, rtt: null, device: "cpu", mode: "nobrs", model: "project-3-v2" });
  assert.equal(statusLine(s).timing, "40 ms/click · cpu · nobrs · project-3-v2");
});

test("'preparing image…' while the opened image is prepared, until its warm-up or first mask", () => {
  let s = run(fresh(), { type: "status/connection", connection: "ready" }, { type: "status/preparing", value: true });
  assert.equal(statusLine(s).progress, "preparing image…");
  assert.equal(statusLine(run(s, { type: "status/preparing", value: false })).progress, "");
  s = run(s, { type: "click/add", click: { x: 1, y: 1, positive: true } });
  assert.equal(statusLine(s).progress, "preparing image…", "a click sent while the image is prepared waits for it");
  s = run(s, { type: "mask/received", seq: 1, objectId: "o", prob: { roi: { x: 0, y: 0, width: 1, height: 1 }, data: new Uint8Array(1) } },
    { type: "status/mask", ms: 10, device: "cpu", mode: "grabcut" });
  assert.equal(statusLine(s).progress, "");
  assert.equal(s.status.preparing, false);
});

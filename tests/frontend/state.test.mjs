// Store and reducers of the annotator: clicks, latest-wins masks, undo/redo, strokes, drafts, payloads.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  createStore, reducer, initialState, currentMask, draftFromState, clickMessage, annotationBody, hasWork, cleanSteps,
} from "../../frontend/state.js";
import { decodeRle } from "../../frontend/rle.js";

const LABELS = [{ id: 5, name: "cat", color: "#ff0000" }, { id: 6, name: "dog", color: "#00ff00" }];

function fresh(extra = {}) {
  return initialState({
    image: { id: 1, width: 8, height: 6 }, project: { id: 2, default_model: "default", default_mode: "grabcut" },
    labels: LABELS, objectId: "o1", ...extra,
  });
}

function run(state, ...actions) {
  return actions.reduce((s, a) => reducer(s, a), state);
}

function probAll(value, w = 8, h = 6) {
  return { roi: { x: 0, y: 0, width: w, height: h }, data: new Uint8Array(w * h).fill(value) };
}

test("initial state picks the remembered label when it exists, else the first", () => {
  assert.equal(fresh({ label: 6 }).current.label, 6);
  assert.equal(fresh({ label: 99 }).current.label, 5);
  assert.throws(() => initialState({ image: { id: 1 }, project: {}, labels: [], objectId: "x" }), /width/);
});

test("a click appends to the full click list and asks for a new sequence number", () => {
  let s = run(fresh(), { type: "click/add", click: { x: 2.7, y: 3.2, positive: true } });
  s = run(s, { type: "click/add", click: { x: 4, y: 1, positive: false } });
  assert.deepEqual(s.current.clicks, [{ x: 2, y: 3, positive: true }, { x: 4, y: 1, positive: false }]);
  assert.equal(s.current.expectSeq, 2);
  const msg = clickMessage(s);
  assert.equal(msg.type, "click");
  assert.equal(msg.seq, 2);
  assert.equal(msg.object_id, "o1");
  assert.equal(msg.mode, "grabcut");
  assert.equal(msg.clicks.length, 2);
  assert.equal("prev_mask" in msg, false);
});

test("clicks outside the image are ignored", () => {
  const s0 = fresh();
  assert.equal(run(s0, { type: "click/add", click: { x: 8, y: 0, positive: true } }), s0);
  assert.equal(run(s0, { type: "click/add", click: { x: -0.5, y: 0, positive: true } }), s0);
});

test("only the mask for the newest request is accepted (latest wins)", () => {
  let s = run(fresh(), { type: "click/add", click: { x: 1, y: 1, positive: true } },
    { type: "click/add", click: { x: 2, y: 2, positive: true } });
  const stale = run(s, { type: "mask/received", seq: 1, objectId: "o1", prob: probAll(255) });
  assert.equal(stale, s);
  const otherObject = run(s, { type: "mask/received", seq: 2, objectId: "o9", prob: probAll(255) });
  assert.equal(otherObject, s);
  s = run(s, { type: "mask/received", seq: 2, objectId: "o1", prob: probAll(255) });
  assert.equal(s.current.probValid, true);
  assert.equal(currentMask(s).reduce((a, b) => a + b, 0), 48);
});

test("undo restores the previous mask without a round trip, redo brings the newer one back", () => {
  let s = run(fresh(), { type: "click/add", click: { x: 1, y: 1, positive: true } },
    { type: "mask/received", seq: 1, objectId: "o1", prob: probAll(200) },
    { type: "click/add", click: { x: 5, y: 5, positive: false } },
    { type: "mask/received", seq: 2, objectId: "o1", prob: probAll(10) });
  assert.equal(currentMask(s).reduce((a, b) => a + b, 0), 0);
  s = run(s, { type: "history/undo" });
  assert.equal(s.current.clicks.length, 1);
  assert.equal(s.current.probValid, true);
  assert.equal(currentMask(s).reduce((a, b) => a + b, 0), 48);
  s = run(s, { type: "history/redo" });
  assert.equal(s.current.clicks.length, 2);
  assert.equal(currentMask(s).reduce((a, b) => a + b, 0), 0);
  // a new click clears the redo branch
  s = run(s, { type: "history/undo" }, { type: "click/add", click: { x: 3, y: 3, positive: true } });
  assert.equal(s.future.length, 0);
  assert.equal(run(s, { type: "history/redo" }), s);
});

test("undo to an edit whose mask never arrived marks it for a new request", () => {
  let s = run(fresh(), { type: "click/add", click: { x: 1, y: 1, positive: true } },
    { type: "click/add", click: { x: 2, y: 2, positive: true } },
    { type: "mask/received", seq: 2, objectId: "o1", prob: probAll(255) },
    { type: "history/undo" });
  assert.equal(s.current.clicks.length, 1);
  assert.equal(s.current.probValid, false);
  s = run(s, { type: "mask/requested" });
  assert.equal(s.current.expectSeq, 3);
  assert.equal(clickMessage(s).clicks.length, 1);
});

test("the threshold is applied client-side to the stored probabilities", () => {
  const prob = { roi: { x: 2, y: 1, width: 2, height: 1 }, data: Uint8Array.from([100, 200]) };
  let s = run(fresh(), { type: "click/add", click: { x: 2, y: 1, positive: true } },
    { type: "mask/received", seq: 1, objectId: "o1", prob });
  const ones = (m) => [...m.keys()].filter((i) => m[i]);
  assert.deepEqual(ones(currentMask(s)), [1 * 8 + 3]);
  s = run(s, { type: "threshold/set", value: 0.3 });
  assert.deepEqual(ones(currentMask(s)), [1 * 8 + 2, 1 * 8 + 3]);
  assert.equal(run(s, { type: "threshold/set", value: 7 }).threshold, 1);
});

test("brush and eraser strokes are painted over the mask and are undoable", () => {
  let s = run(fresh(), { type: "stroke/add", stroke: { mode: "brush", radius: 1, points: [[0.5, 0.5]] } });
  assert.equal(currentMask(s)[0], 1);
  assert.equal(hasWork(s), true);
  s = run(s, { type: "stroke/add", stroke: { mode: "erase", radius: 1, points: [[0.5, 0.5]] } });
  assert.equal(currentMask(s)[0], 0);
  s = run(s, { type: "history/undo" });
  assert.equal(currentMask(s)[0], 1);
  assert.throws(() => run(s, { type: "stroke/add", stroke: { mode: "spray", radius: 1, points: [[0, 0]] } }), /mode/);
});

test("finishing stores the object, starts a new one with the same label and clears history", () => {
  let s = run(fresh(), { type: "label/select", labelId: 6 }, { type: "click/add", click: { x: 1, y: 1, positive: true } });
  s = run(s, { type: "object/finished", objectId: "o2",
    annotation: { id: 40, label: 6, rle: { size: [6, 8], counts: "0" }, clicks: s.current.clicks, version: 1 } });
  assert.equal(s.objects.length, 1);
  assert.equal(s.objects[0].visible, true);
  assert.equal(s.current.objectId, "o2");
  assert.equal(s.current.label, 6);
  assert.deepEqual([s.current.clicks, s.past, s.future], [[], [], []]);
  s = run(s, { type: "object/toggle", id: 40 });
  assert.equal(s.objects[0].visible, false);
});

test("re-editing an object sends prev_mask and keeps its clicks and version", () => {
  let s = run(fresh(), { type: "objects/loaded", annotations: [
    { id: 7, label: 6, rle: { size: [6, 8], counts: [48] }, clicks: [{ x: 3, y: 4, positive: true }], version: 3 }] });
  s = run(s, { type: "object/edit", annotationId: 7, objectId: "o5", prob: probAll(255) });
  assert.equal(s.current.annotationId, 7);
  assert.equal(s.current.label, 6);
  s = run(s, { type: "click/add", click: { x: 0, y: 0, positive: false } });
  const msg = clickMessage(s);
  assert.deepEqual(msg.prev_mask, { annotation_id: 7 });
  assert.equal(msg.clicks.length, 2);
  const body = annotationBody(s, new Uint8Array(48).fill(1));
  assert.equal(body.version, 3);
});

test("annotationBody carries an uncompressed column-major COCO RLE of the mask", () => {
  const s = fresh();
  const mask = new Uint8Array(48);
  mask[0 * 8 + 1] = 1; // (x=1, y=0)
  const body = annotationBody(s, mask);
  assert.deepEqual(body.mask.size, [6, 8]);
  assert.deepEqual(body.mask.counts, [6, 1, 41]);
  assert.deepEqual(decodeRle(body.mask).mask, mask);
  assert.equal(body.image, 1);
  assert.equal(body.label, 5);
  assert.equal(body.mode, "grabcut");
  assert.equal("version" in body, false);
});

test("a draft round-trips and the restored clicks need a fresh mask", () => {
  let s = run(fresh(), { type: "label/select", labelId: 6 }, { type: "click/add", click: { x: 1, y: 2, positive: true } },
    { type: "stroke/add", stroke: { mode: "brush", radius: 2, points: [[1, 1], [3, 3]] } });
  const draft = JSON.parse(JSON.stringify(draftFromState(s)));
  const r = run(fresh(), { type: "draft/restored", draft });
  assert.deepEqual(r.current.clicks, s.current.clicks);
  assert.deepEqual(r.current.strokes, s.current.strokes);
  assert.equal(r.current.label, 6);
  assert.equal(r.current.objectId, "o1");
  assert.equal(r.current.probValid, false);
  const empty = fresh();
  assert.equal(run(empty, { type: "draft/restored", draft: {} }), empty);
});

test("server status for an older request does not overwrite the newer one", () => {
  let s = run(fresh(), { type: "click/add", click: { x: 1, y: 1, positive: true } },
    { type: "click/add", click: { x: 2, y: 1, positive: true } });
  assert.equal(run(s, { type: "status/server", seq: 1, state: "computing" }), s);
  s = run(s, { type: "status/server", seq: 2, state: "queued" });
  assert.equal(s.status.state, "queued");
});

test("unknown actions, tools and modes are refused", () => {
  assert.throws(() => reducer(fresh(), { type: "nope" }), /unknown action/);
  assert.throws(() => reducer(fresh(), { type: "tool/set", tool: "lasso" }), /unknown tool/);
  assert.throws(() => reducer(fresh(), { type: "mode/set", mode: "sam" }), /unknown mode/);
});

test("the store notifies subscribers only on change", () => {
  const store = createStore(reducer, fresh());
  const seen = [];
  const off = store.subscribe((st, action) => seen.push(action.type));
  store.dispatch({ type: "history/undo" }); // nothing to undo: no change
  store.dispatch({ type: "tool/set", tool: "brush" });
  off();
  store.dispatch({ type: "tool/set", tool: "erase" });
  assert.deepEqual(seen, ["tool/set"]);
  assert.equal(store.getState().tool, "erase");
  assert.throws(() => store.dispatch({}), /type/);
});

test("masks carry their steps; the next request sends them and a draft keeps them with the undo history", () => {
  const click = (x) => ({ type: "click/add", click: { x, y: 1, positive: true } });
  const mask = (seq, steps, v) => ({ type: "mask/received", seq, objectId: "o1", prob: probAll(v), steps });
  let s = run(fresh(), click(1), click(2));                 // a burst: no mask for the first click shown
  assert.deepEqual(clickMessage(s).steps, []);
  s = run(s, mask(1, [1], 100));
  assert.equal(s.current.probValid, false, "the answer to an older request is ignored");
  s = run(s, mask(2, [2], 200), click(3));
  assert.deepEqual(clickMessage(s).steps, [2], "the steps of the mask shown");
  s = run(s, mask(3, [2, 3], 255), { type: "stroke/add", stroke: { mode: "erase", radius: 1, points: [[0, 0]] } });
  assert.deepEqual(s.current.steps, [2, 3]);
  const draft = JSON.parse(JSON.stringify(draftFromState(s)));
  assert.equal(draft.version, 2);
  assert.deepEqual(draft.past.map((e) => [e.clicks, e.strokes, e.steps]), [[0, 0, []], [1, 0, []], [2, 0, [2]], [3, 0, [2, 3]]]);
  let r = run(fresh(), { type: "draft/restored", draft });
  assert.deepEqual(clickMessage(r).steps, [2, 3], "a reload asks for the same (clicks, steps)");
  r = run(r, { type: "history/undo" }, { type: "history/undo" });
  assert.deepEqual([r.current.clicks.length, r.current.steps, r.current.probValid], [2, [2], false]);
  assert.deepEqual(clickMessage(run(r, { type: "mask/requested" })).steps, [2], "undo after a reload: the same mask");
  assert.deepEqual(cleanSteps([0, 2, 2, 5, "3", 4], 4), [2, 4]);
});

test("editing a finished object keeps its strokes, paints them over new masks and saves them", () => {
  const stroke = { mode: "brush", radius: 1, points: [[7, 5]] };
  let s = run(fresh(), { type: "objects/loaded", annotations: [
    { id: 9, label: 5, rle: { size: [6, 8], counts: [48] }, clicks: [{ x: 3, y: 4, positive: true }], strokes: [stroke], version: 1 }] });
  s = run(s, { type: "object/edit", annotationId: 9, objectId: "o9", prob: probAll(255) });
  assert.deepEqual(s.current.strokes, [stroke]);
  s = run(s, { type: "click/add", click: { x: 0, y: 0, positive: false } },
    { type: "mask/received", seq: 1, objectId: "o9", prob: probAll(0), steps: [2] });
  const mask = currentMask(s);
  assert.equal(mask[5 * 8 + 7], 1, "the brushed pixel survives a network output without it");
  assert.deepEqual(annotationBody(s, mask).strokes, [stroke]);
});

// Object colours on the canvas: each object its own fill, its label's colour as outline, the edited object distinct.
import { test } from "node:test";
import assert from "node:assert/strict";
import { EDIT_OUTLINE, legendSwatch, objectColor, outlinePixels, outlineWidth, overlayPlan } from "../../frontend/overlay.js";
import { initialState, reducer } from "../../frontend/state.js";

const labels = [{ id: 1, name: "cat", color: "#00ff00" }, { id: 2, name: "dog", color: "#0000ff" }];

function withObjects(n, label = 1) {
  const s = initialState({ image: { id: 1, width: 4, height: 4 }, project: { id: 1, default_model: "default", default_mode: "grabcut" },
    labels, objectId: "o" });
  const annotations = Array.from({ length: n }, (_, i) => ({ id: i + 1, label, rle: null, clicks: [], version: 1, area: 1 }));
  return reducer(s, { type: "objects/loaded", annotations });
}

test("objects of one label get different fills and share the label's colour as outline", () => {
  const plan = overlayPlan(withObjects(12), false);
  const fills = plan.layers.map((l) => l.fill);
  assert.equal(new Set(fills).size, 12, "every object its own colour");
  for (const f of fills) assert.match(f, /^#[0-9a-f]{6}$/);
  assert.deepEqual(new Set(plan.layers.map((l) => l.outline)), new Set(["#00ff00"]));
  assert.equal(objectColor(7), objectColor(7), "an object keeps its colour");
});

test("the object being edited is drawn last, in its label's colour with a white outline, and not twice", () => {
  let s = withObjects(3);
  s = reducer(s, { type: "object/edit", annotationId: 2, objectId: "e" });
  const plan = overlayPlan(s, true);
  assert.deepEqual(plan.layers.map((l) => [l.kind, l.id]), [["object", 1], ["object", 3], ["current", 2]]);
  const current = plan.layers.at(-1);
  assert.equal(current.outline, EDIT_OUTLINE);
  assert.equal(current.fill, "#00ff00");
  assert.ok(plan.layers.slice(0, -1).every((l) => l.outline !== EDIT_OUTLINE && l.fill !== EDIT_OUTLINE));
});

test("outline only drops the fills; opacity 0 hides everything; hidden objects stay hidden", () => {
  let s = withObjects(2);
  s = reducer(s, { type: "outline/set" });
  assert.equal(s.outlineOnly, true);
  const plan = overlayPlan(s, true);
  assert.ok(plan.layers.length === 3 && plan.layers.every((l) => l.fill === null && l.outline));
  assert.equal(reducer(s, { type: "outline/set", value: true }), s, "setting the same value changes nothing");
  assert.equal(reducer(s, { type: "outline/set" }).outlineOnly, false);
  assert.deepEqual(overlayPlan(reducer(s, { type: "opacity/set", value: 0 }), true).layers, []);
  const hidden = reducer(withObjects(2), { type: "object/toggle", id: 1 });
  assert.deepEqual(overlayPlan(hidden, false).layers.map((l) => l.id), [2]);
});

test("the legend swatch shows the object's colour inside its label's colour", () => {
  assert.deepEqual(legendSwatch({ id: 5, label: 2 }, labels), { background: objectColor(5), border: "#0000ff" });
  assert.equal(legendSwatch({ id: 5, label: 99 }, labels).border, "#888888");
});

test("outlines are inside the mask and thicken on large images", () => {
  const w = 7, h = 7;
  const mask = new Uint8Array(w * h);
  for (let y = 1; y < 6; y++) for (let x = 1; x < 6; x++) mask[y * w + x] = 1;
  const thin = outlinePixels(mask, w, h, 1);
  const thick = outlinePixels(mask, w, h, 2);
  assert.equal(thin.reduce((a, b) => a + b, 0), 16);
  assert.equal(thin[3 * w + 3], 0);
  assert.equal(thick.reduce((a, b) => a + b, 0), 24, "two pixels wide, the centre left empty");
  assert.equal(thick[3 * w + 3], 0);
  for (let i = 0; i < mask.length; i++) if (thick[i]) assert.equal(mask[i], 1);
  assert.equal(outlineWidth(640, 480), 1);
  assert.equal(outlineWidth(4000, 3000), 5);
});

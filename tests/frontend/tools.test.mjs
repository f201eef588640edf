// Pointer conventions of the click tool, brush rasterisation and the view transform.
import { test } from "node:test";
import assert from "node:assert/strict";
import { DOUBLE_CLICK_MS, clickPolarity, isDrag, isRepeatClick, normaliseClick } from "../../frontend/tools/click.js";
import { applyStrokes, validateStroke } from "../../frontend/tools/brush.js";
import { fitView, screenToImage, imageToScreen, pixelAt, zoomAt, panBy } from "../../frontend/viewport.js";

test("left click is positive, right click and Shift/Alt+left are negative, middle is no click", () => {
  assert.equal(clickPolarity({ button: 0 }), true);
  assert.equal(clickPolarity({ button: 2 }), false);
  assert.equal(clickPolarity({ button: 0, shiftKey: true }), false);
  assert.equal(clickPolarity({ button: 0, altKey: true }), false);
  assert.equal(clickPolarity({ button: 1 }), null);
});

test("a press becomes a drag only past the threshold", () => {
  assert.equal(isDrag(10, 10, 13, 10), false);
  assert.equal(isDrag(10, 10, 15, 10), true);
});

test("a double-click is one click: the second press at the same place within the interval repeats the first", () => {
  const first = { time: 1000, x: 50, y: 50, button: 0 };
  assert.equal(isRepeatClick(null, first), false);
  assert.equal(isRepeatClick(first, { ...first, time: 1000 + DOUBLE_CLICK_MS - 1, x: 52 }), true);
  assert.equal(isRepeatClick(first, { ...first, time: 1000 + DOUBLE_CLICK_MS + 1 }), false, "later: a new click");
  assert.equal(isRepeatClick(first, { ...first, time: 1100, x: 70 }), false, "elsewhere: a new click");
  assert.equal(isRepeatClick(first, { ...first, time: 1100, button: 2 }), false, "the other button: a new click");
});

test("normaliseClick floors to pixels and refuses clicks outside the image", () => {
  assert.deepEqual(normaliseClick({ x: 3.9, y: 0.1, positive: 1 }, 4, 2), { x: 3, y: 0, positive: true });
  assert.throws(() => normaliseClick({ x: 4, y: 0, positive: true }, 4, 2), /outside/);
});

test("a brush dot paints the pixels whose centres are within the radius", () => {
  const m = applyStrokes(null, [{ mode: "brush", radius: 1, points: [[2, 2]] }], 5, 5);
  const on = [...m.keys()].filter((i) => m[i]).map((i) => [i % 5, Math.floor(i / 5)]);
  // centres (1.5,1.5) (2.5,1.5) (1.5,2.5) (2.5,2.5) are at distance ~0.71 of (2,2)
  assert.deepEqual(on, [[1, 1], [2, 1], [1, 2], [2, 2]]);
});

test("a brush line covers its whole length; the eraser clears it again", () => {
  const line = { mode: "brush", radius: 0.6 + 0.5, points: [[0.5, 0.5], [9.5, 0.5]] };
  const m = applyStrokes(null, [line], 10, 3);
  assert.deepEqual([...m.slice(0, 10)], new Array(10).fill(1));
  const cleared = applyStrokes(m, [{ ...line, mode: "erase" }], 10, 3);
  assert.equal(cleared.reduce((a, b) => a + b, 0), 0);
  assert.equal(m.reduce((a, b) => a + b, 0) > 0, true); // input not modified
});

test("validateStroke rejects bad strokes", () => {
  assert.throws(() => validateStroke({ mode: "brush", radius: 0, points: [[1, 1]] }), /radius/);
  assert.throws(() => validateStroke({ mode: "brush", radius: 3, points: [] }), /point/);
  assert.throws(() => validateStroke({ mode: "brush", radius: 3, points: [[1, "a"]] }), /pairs/);
});

test("fitView centres the image; screen and image coordinates convert both ways", () => {
  const v = fitView(200, 100, 400, 400);
  assert.ok(Math.abs(v.scale - 1.96) < 1e-9);
  const s = imageToScreen(v, 200, 100);
  const back = screenToImage(v, s.x, s.y);
  assert.ok(Math.abs(back.x - 200) < 1e-9 && Math.abs(back.y - 100) < 1e-9);
  assert.deepEqual(pixelAt({ scale: 2, tx: 10, ty: 0 }, 15, 3, 100, 100), { x: 2, y: 1 }); // (x, y) = (column, row)
  assert.equal(pixelAt({ scale: 2, tx: 10, ty: 0 }, 5, 3, 100, 100), null);
});

test("zoomAt keeps the point under the cursor fixed; panBy moves the view", () => {
  const v = { scale: 1.5, tx: 20, ty: -7 };
  const before = screenToImage(v, 123, 77);
  const z = zoomAt(v, 1.7, 123, 77);
  const after = screenToImage(z, 123, 77);
  assert.ok(Math.abs(before.x - after.x) < 1e-9 && Math.abs(before.y - after.y) < 1e-9);
  assert.ok(Math.abs(z.scale - 2.55) < 1e-9);
  assert.deepEqual(panBy(v, 5, -3), { scale: 1.5, tx: 25, ty: -10 });
  assert.equal(zoomAt(v, 1e9, 0, 0).scale, 40);
});

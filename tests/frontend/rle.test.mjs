// RLE codec: parity with pycocotools (fixture made by make_rle_fixture.py) and round trips.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import {
  encodeRle, decodeRle, countsFromString, countsToString, thresholdProbs, roiProbsToMask, maskArea, maskBbox, maskBoundary,
} from "../../frontend/rle.js";

const cases = JSON.parse(readFileSync(new URL("./fixtures/coco_rle.json", import.meta.url)));

function maskFromRows(rows) {
  const h = rows.length, w = rows[0].length;
  const m = new Uint8Array(w * h);
  rows.forEach((row, y) => { for (let x = 0; x < w; x++) m[y * w + x] = row[x] === "1" ? 1 : 0; });
  return m;
}

test("encodeRle gives pycocotools' runs (column-major) for every fixture mask", () => {
  for (const c of cases) {
    const rle = encodeRle(maskFromRows(c.rows), c.width, c.height);
    assert.deepEqual(rle.size, [c.height, c.width]);
    assert.equal(countsToString(rle.counts), c.counts_string);
    assert.equal(rle.counts.reduce((a, b) => a + b, 0), c.width * c.height);
  }
});

test("decodeRle reads pycocotools' compressed strings back to the same mask", () => {
  for (const c of cases) {
    const { mask, width, height } = decodeRle({ size: [c.height, c.width], counts: c.counts_string });
    assert.equal(width, c.width);
    assert.equal(height, c.height);
    assert.deepEqual(mask, maskFromRows(c.rows));
    assert.equal(maskArea(mask), c.area);
    const bbox = maskBbox(mask, width, height);
    assert.deepEqual(bbox ?? [0, 0, 0, 0], c.bbox);
  }
});

test("column-major order: a single pixel at (x=2, y=0) in a 3x2 image", () => {
  const w = 3, h = 2, m = new Uint8Array(w * h);
  m[0 * w + 2] = 1;
  // columns 0 and 1 (4 pixels) are zero, then (2,0) is one, then (2,1) is zero
  assert.deepEqual(encodeRle(m, w, h).counts, [4, 1, 1]);
});

test("string counts round-trip large and alternating runs", () => {
  const counts = [0, 1, 100000, 3, 2, 70000, 1, 1, 31, 32, 33];
  assert.deepEqual(countsFromString(countsToString(counts)), counts);
});

test("decodeRle rejects counts that do not cover the mask", () => {
  assert.throws(() => decodeRle({ size: [2, 2], counts: [1, 1] }), /cover 2 pixels/);
  assert.throws(() => decodeRle({ size: [2, 2], counts: [3, 3] }), /exceed/);
  assert.throws(() => decodeRle({ counts: [4] }), /size/);
});

test("encodeRle rejects a mask of the wrong length", () => {
  assert.throws(() => encodeRle(new Uint8Array(5), 2, 2), /expected 4/);
});

test("thresholdProbs is strict: p/255 > t", () => {
  // 0.49 * 255 = 124.95: byte 124 is outside, 125 inside
  const probs = Uint8Array.from([0, 124, 125, 127, 255]);
  assert.deepEqual(thresholdProbs(probs, 0.49), Uint8Array.from([0, 0, 1, 1, 1]));
  assert.deepEqual(thresholdProbs(probs, 1), Uint8Array.from([0, 0, 0, 0, 0]));
  assert.throws(() => thresholdProbs(probs, 1.5), /threshold/);
});

test("roiProbsToMask places the crop at its offset and clips to the image", () => {
  const roi = { x: 3, y: 1, width: 2, height: 2 };
  const data = Uint8Array.from([255, 0, 200, 255]);
  const mask = roiProbsToMask({ roi, data }, 4, 3, 0.5);
  const expected = new Uint8Array(12);
  expected[1 * 4 + 3] = 1; // (3,1) inside; (4,1) and (4,2) fall outside the 4-wide image
  expected[2 * 4 + 3] = 1;
  assert.deepEqual(mask, expected);
});

test("maskBoundary keeps the ring of a filled square and drops its interior", () => {
  const w = 5, h = 5, m = new Uint8Array(25);
  for (let y = 0; y < 4; y++) for (let x = 1; x < 5; x++) m[y * w + x] = 1; // 4x4 square touching top/right edges
  const b = maskBoundary(m, w, h);
  const on = [...b.keys()].filter((i) => b[i]).map((i) => [i % w, Math.floor(i / w)]);
  assert.equal(on.length, 12); // 16 pixels minus the 2x2 interior
  assert.ok(!b[1 * w + 2] && !b[2 * w + 3], "interior pixels are not boundary");
  assert.ok(b[0 * w + 4] && b[3 * w + 1], "edge and corner pixels are boundary");
  assert.equal(maskBoundary(new Uint8Array(25), w, h).reduce((a, v) => a + v, 0), 0);
});

// Brush and eraser touch-up: strokes in image pixels and their rasterisation onto a mask. Pure.
//
// A stroke is {mode: "brush"|"erase", radius: number, points: [[x, y], ...]} in image pixels; it
// paints (or clears) every pixel whose centre lies within `radius` of the polyline through the points.

export const STROKE_MODES = Object.freeze(["brush", "erase"]);
export const MIN_RADIUS = 1;
export const MAX_RADIUS = 200;

/**
 * Check a stroke and return a clean copy.
 * @param {{mode: string, radius: number, points: number[][]}} stroke
 * @returns {{mode: string, radius: number, points: number[][]}}
 */
export function validateStroke(stroke) {
  if (!stroke || !STROKE_MODES.includes(stroke.mode)) throw new Error(`stroke mode must be one of ${STROKE_MODES}`);
  const radius = Number(stroke.radius);
  if (!(radius >= MIN_RADIUS && radius <= MAX_RADIUS)) throw new Error(`brush radius must be in [${MIN_RADIUS}, ${MAX_RADIUS}]`);
  if (!Array.isArray(stroke.points) || stroke.points.length === 0) throw new Error("a stroke needs at least one point");
  const points = stroke.points.map((p) => {
    if (!Array.isArray(p) || p.length !== 2 || !p.every(Number.isFinite)) throw new Error("stroke points are [x, y] pairs");
    return [p[0], p[1]];
  });
  return { mode: stroke.mode, radius, points };
}

/**
 * Paint strokes in order onto a copy of `mask` (brush sets 1, erase sets 0).
 * @param {Uint8Array|null} mask row-major width*height, or null for an empty mask
 * @param {Array<{mode: string, radius: number, points: number[][]}>} strokes
 * @param {number} width @param {number} height
 * @returns {Uint8Array} a new mask
 */
export function applyStrokes(mask, strokes, width, height) {
  const out = mask ? Uint8Array.from(mask) : new Uint8Array(width * height);
  if (out.length !== width * height) throw new Error("mask size does not match the image");
  for (const s of strokes) paintStroke(out, s, width, height);
  return out;
}

/**
 * Paint one stroke in place.
 * @param {Uint8Array} mask @param {{mode: string, radius: number, points: number[][]}} stroke
 * @param {number} width @param {number} height
 */
export function paintStroke(mask, stroke, width, height) {
  const value = stroke.mode === "erase" ? 0 : 1;
  const r = stroke.radius;
  const pts = stroke.points;
  const segs = pts.length === 1 ? [[pts[0], pts[0]]] : pts.slice(1).map((p, i) => [pts[i], p]);
  for (const [a, b] of segs) {
    const x0 = Math.max(0, Math.floor(Math.min(a[0], b[0]) - r));
    const x1 = Math.min(width - 1, Math.ceil(Math.max(a[0], b[0]) + r));
    const y0 = Math.max(0, Math.floor(Math.min(a[1], b[1]) - r));
    const y1 = Math.min(height - 1, Math.ceil(Math.max(a[1], b[1]) + r));
    for (let y = y0; y <= y1; y++) {
      for (let x = x0; x <= x1; x++) {
        if (distToSegment(x + 0.5, y + 0.5, a, b) <= r) mask[y * width + x] = value;
      }
    }
  }
}

function distToSegment(px, py, a, b) {
  const dx = b[0] - a[0];
  const dy = b[1] - a[1];
  const len2 = dx * dx + dy * dy;
  let t = len2 === 0 ? 0 : ((px - a[0]) * dx + (py - a[1]) * dy) / len2;
  t = Math.max(0, Math.min(1, t));
  return Math.hypot(px - (a[0] + t * dx), py - (a[1] + t * dy));
}

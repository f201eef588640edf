// The view transform of the canvas: screen = image * scale + (tx, ty). Pure functions on plain objects.
// This is the ONE place where screen coordinates become image coordinates ((x, y), x = column).

/** @typedef {{scale: number, tx: number, ty: number}} View */

export const MIN_SCALE = 0.02;
export const MAX_SCALE = 40;

/**
 * The view that fits an image inside a canvas, centred, with a small margin.
 * @param {number} imageW @param {number} imageH @param {number} canvasW @param {number} canvasH
 * @returns {View}
 */
export function fitView(imageW, imageH, canvasW, canvasH) {
  if (!(imageW > 0 && imageH > 0 && canvasW > 0 && canvasH > 0)) throw new Error("fitView needs positive sizes");
  const scale = clampScale(Math.min(canvasW / imageW, canvasH / imageH) * 0.98);
  return { scale, tx: (canvasW - imageW * scale) / 2, ty: (canvasH - imageH * scale) / 2 };
}

/**
 * Screen (canvas CSS pixels) to image pixels, as floats.
 * @param {View} view @param {number} sx @param {number} sy
 * @returns {{x: number, y: number}}
 */
export function screenToImage(view, sx, sy) {
  return { x: (sx - view.tx) / view.scale, y: (sy - view.ty) / view.scale };
}

/**
 * Image pixels to screen.
 * @param {View} view @param {number} x @param {number} y
 * @returns {{x: number, y: number}}
 */
export function imageToScreen(view, x, y) {
  return { x: x * view.scale + view.tx, y: y * view.scale + view.ty };
}

/**
 * The integer pixel (x, y) under a screen point, or null when it is outside the image.
 * @param {View} view @param {number} sx @param {number} sy @param {number} imageW @param {number} imageH
 * @returns {{x: number, y: number}|null}
 */
export function pixelAt(view, sx, sy, imageW, imageH) {
  const p = screenToImage(view, sx, sy);
  const x = Math.floor(p.x);
  const y = Math.floor(p.y);
  if (x < 0 || y < 0 || x >= imageW || y >= imageH) return null;
  return { x, y };
}

/**
 * Zoom by `factor` keeping the image point under the screen point (sx, sy) fixed.
 * @param {View} view @param {number} factor @param {number} sx @param {number} sy
 * @returns {View}
 */
export function zoomAt(view, factor, sx, sy) {
  const scale = clampScale(view.scale * factor);
  const p = screenToImage(view, sx, sy);
  return { scale, tx: sx - p.x * scale, ty: sy - p.y * scale };
}

/**
 * Move the view by (dx, dy) screen pixels.
 * @param {View} view @param {number} dx @param {number} dy
 * @returns {View}
 */
export function panBy(view, dx, dy) {
  return { scale: view.scale, tx: view.tx + dx, ty: view.ty + dy };
}

function clampScale(s) {
  return Math.min(MAX_SCALE, Math.max(MIN_SCALE, s));
}

// The click tool: which mouse gestures are positive or negative clicks, and when a press is a pan.
// Pure functions of pointer-event fields so that they can be tested without a DOM.

/** A press that moves more than this many screen pixels before release is a pan, not a click. */
export const DRAG_THRESHOLD_PX = 4;

/**
 * The polarity of a click from the pointer event fields.
 * Left = positive, right = negative; Shift+left or Alt+left = negative (trackpads). Middle = none.
 * @param {{button: number, shiftKey?: boolean, altKey?: boolean}} ev
 * @returns {boolean|null} true positive, false negative, null when the gesture is not a click
 */
export function clickPolarity(ev) {
  if (ev.button === 2) return false;
  if (ev.button !== 0) return null;
  return !(ev.shiftKey || ev.altKey);
}

/**
 * Whether a press that started at (x0, y0) and is now at (x1, y1) (screen pixels) has become a drag.
 * @param {number} x0 @param {number} y0 @param {number} x1 @param {number} y1
 * @returns {boolean}
 */
export function isDrag(x0, y0, x1, y1) {
  return Math.hypot(x1 - x0, y1 - y0) > DRAG_THRESHOLD_PX;
}

/**
 * Validate and normalise a click in image pixels: integer (x, y) inside the image.
 * @param {{x: number, y: number, positive: boolean}} click
 * @param {number} width @param {number} height
 * @returns {{x: number, y: number, positive: boolean}}
 */
export function normaliseClick(click, width, height) {
  const x = Math.floor(click.x);
  const y = Math.floor(click.y);
  if (!Number.isFinite(x) || !Number.isFinite(y) || x < 0 || y < 0 || x >= width || y >= height) {
    throw new Error(`click (${click.x}, ${click.y}) is outside the ${width}x${height} image`);
  }
  return { x, y, positive: Boolean(click.positive) };
}

/** Presses of the same button this close in time (ms) and space (screen px) are one click (a double-click). */
export const DOUBLE_CLICK_MS = 500;

/**
 * Whether a click repeats the previous one: a double-click (or triple) counts once. Both are
 * {time: ms, x, y: screen px, button}; `prev` may be null.
 * @param {{time: number, x: number, y: number, button: number}|null} prev
 * @param {{time: number, x: number, y: number, button: number}} next
 * @returns {boolean}
 */
export function isRepeatClick(prev, next) {
  return Boolean(prev) && prev.button === next.button && next.time - prev.time >= 0
    && next.time - prev.time <= DOUBLE_CLICK_MS && !isDrag(prev.x, prev.y, next.x, next.y);
}

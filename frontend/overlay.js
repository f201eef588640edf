// How objects are coloured on the canvas and in the object list. Pure (no DOM): canvas.js draws the plan.
//
// Every finished object is filled with its own colour (a hue picked from its id, so it keeps it across
// reloads) and outlined in its label's colour, which the object list shows as the legend. The object
// being edited is filled with its label's colour and outlined in white, so it stands out. "Outline only"
// drops the fills; opacity 0 hides the whole overlay.

import { maskBoundary } from "./rle.js";

export const EDIT_OUTLINE = "#ffffff";
const GOLDEN_ANGLE = 137.508;

/**
 * "#rrggbb" of an HSL colour (h in degrees, s and l in [0, 1]).
 * @returns {string}
 */
export function hslToHex(h, s, l) {
  const k = (n) => (n + h / 30) % 12;
  const a = s * Math.min(l, 1 - l);
  const f = (n) => l - a * Math.max(-1, Math.min(k(n) - 3, Math.min(9 - k(n), 1)));
  const hex = (v) => Math.round(v * 255).toString(16).padStart(2, "0");
  return `#${hex(f(0))}${hex(f(8))}${hex(f(4))}`;
}

/**
 * The fill colour of object `id`: hues a golden angle apart, so consecutive objects differ strongly.
 * @param {number|string} id annotation id
 * @returns {string} "#rrggbb"
 */
export function objectColor(id) {
  const n = Number.parseInt(String(id), 10);
  const hue = ((Number.isFinite(n) ? n : 0) * GOLDEN_ANGLE) % 360;
  return hslToHex(hue, 0.75, 0.55);
}

/**
 * The label colour of a label id ("#888888" for an unknown label).
 * @param {Array<{id: number, color: string}>} labels
 * @param {number|null} labelId
 */
export function labelColor(labels, labelId) {
  const lab = labels.find((l) => l.id === labelId);
  return lab ? lab.color : "#888888";
}

/**
 * What to draw, bottom to top: one layer per visible finished object, then the object being edited.
 * @param {{objects: Array<{id: number, label: number, visible: boolean}>, labels: Array<{id: number, color: string}>,
 *   current: {annotationId: number|null, label: number|null}, opacity: number, outlineOnly?: boolean}} state
 * @param {boolean} hasCurrentMask whether the object being edited has a mask to show
 * @returns {{alpha: number, layers: Array<{kind: "object"|"current", id: number|null, fill: string|null,
 *   outline: string}>}} `alpha` is the fills' opacity; `fill` is null when outlines only are shown
 */
export function overlayPlan(state, hasCurrentMask) {
  if (!(state.opacity > 0)) return { alpha: 0, layers: [] };
  const fills = !state.outlineOnly;
  const layers = state.objects
    .filter((o) => o.visible && o.id !== state.current.annotationId)
    .map((o) => ({ kind: "object", id: o.id, fill: fills ? objectColor(o.id) : null, outline: labelColor(state.labels, o.label) }));
  if (hasCurrentMask) {
    layers.push({ kind: "current", id: state.current.annotationId, fill: fills ? labelColor(state.labels, state.current.label) : null,
      outline: EDIT_OUTLINE });
  }
  return { alpha: state.opacity, layers };
}

/**
 * The object list's legend swatch of an object: its fill colour inside its label's colour.
 * @returns {{background: string, border: string}}
 */
export function legendSwatch(obj, labels) {
  return { background: objectColor(obj.id), border: labelColor(labels, obj.label) };
}

/**
 * The outline width in image pixels that stays visible when the whole image fits the screen.
 * @param {number} width @param {number} height image size
 */
export function outlineWidth(width, height) {
  return Math.max(1, Math.round(Math.max(width, height) / 800));
}

/**
 * The outline of a mask, `thickness` pixels wide, inside the mask (row-major Uint8Array of 0/1).
 * @param {Uint8Array} mask row-major width*height, nonzero = inside
 * @returns {Uint8Array}
 */
export function outlinePixels(mask, width, height, thickness = 1) {
  const edge = maskBoundary(mask, width, height);
  if (thickness <= 1) return edge;
  const out = new Uint8Array(width * height);
  const r = thickness - 1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (!edge[y * width + x]) continue;
      for (let yy = Math.max(0, y - r); yy <= Math.min(height - 1, y + r); yy++) {
        for (let xx = Math.max(0, x - r); xx <= Math.min(width - 1, x + r); xx++) {
          const j = yy * width + xx;
          if (mask[j]) out[j] = 1;
        }
      }
    }
  }
  return out;
}

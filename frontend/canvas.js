// Rendering and pointer input of the image canvas. Never talks to the network.
//
// The view draws the image, finished objects, the in-progress mask, clicks and brush previews from
// the state it is given, and reports user input as DOM CustomEvents on the <canvas> element:
//   "annotator:click"  detail {x, y, positive}      integer image pixels (x = column, y = row)
//   "annotator:stroke" detail {mode, radius, points} points [[x, y], ...] in image pixels (floats)
//   "annotator:zoom"   detail {factor, sx, sy}       zoom about screen point (sx, sy), CSS pixels
//   "annotator:pan"    detail {dx, dy}               move by CSS pixels
// Screen -> image conversion happens only through viewport.js.

import { overlayPlan, outlinePixels, outlineWidth } from "./overlay.js";
import { decodeRle } from "./rle.js";
import { clickPolarity, isDrag, isRepeatClick } from "./tools/click.js";
import { pixelAt, screenToImage } from "./viewport.js";

/**
 * "#rrggbb" to [r, g, b]; unknown strings give red.
 * @param {string} hex
 * @returns {[number, number, number]}
 */
export function hexToRgb(hex) {
  const m = /^#?([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex || "");
  return m ? [parseInt(m[1], 16), parseInt(m[2], 16), parseInt(m[3], 16)] : [255, 0, 0];
}

/**
 * Decode the worker's base64 8-bit grey PNG into probability bytes at the ROI's size (browser only).
 * The worker downscales ROIs longer than 1024 px; the PNG is then stretched over the ROI (bilinear).
 * @param {string} b64
 * @param {number} width   ROI width in image pixels
 * @param {number} height  ROI height in image pixels
 * @returns {Promise<{width: number, height: number, data: Uint8Array}>} data row-major, width*height
 */
export async function decodeProbPng(b64, width, height) {
  const bin = atob(b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  const bitmap = await createImageBitmap(new Blob([bytes], { type: "image/png" }),
    { colorSpaceConversion: "none", premultiplyAlpha: "none" });
  const c = new OffscreenCanvas(width, height);
  const ctx = c.getContext("2d", { willReadFrequently: true });
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(bitmap, 0, 0, width, height);
  bitmap.close();
  const rgba = ctx.getImageData(0, 0, width, height).data;
  const data = new Uint8Array(width * height);
  for (let i = 0; i < data.length; i++) data[i] = rgba[i * 4];
  return { width, height, data };
}

function maskCanvas(mask, width, height, rgb) {
  const c = new OffscreenCanvas(width, height);
  const ctx = c.getContext("2d");
  const img = ctx.createImageData(width, height);
  const px = img.data;
  for (let i = 0; i < mask.length; i++) {
    if (mask[i]) {
      const o = i * 4;
      px[o] = rgb[0];
      px[o + 1] = rgb[1];
      px[o + 2] = rgb[2];
      px[o + 3] = 255;
    }
  }
  ctx.putImageData(img, 0, 0);
  return c;
}

/** Fill and outline layers of one mask (the outline stays opaque at any overlay opacity). */
function maskLayers(mask, width, height, fill, outline) {
  return {
    fill: maskCanvas(mask, width, height, hexToRgb(fill)),
    outline: maskCanvas(outlinePixels(mask, width, height, outlineWidth(width, height)), width, height, hexToRgb(outline)),
  };
}

export class CanvasView {
  /**
   * @param {HTMLCanvasElement} canvas
   * @param {{interactive?: boolean}} [opts] interactive=false: zoom/pan only (reviewer)
   */
  constructor(canvas, { interactive = true } = {}) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.interactive = interactive;
    this.image = null;
    this.state = null;
    this.mask = null;
    this.objectCache = new Map(); // key -> {fill, outline} OffscreenCanvases
    this.currentCache = { mask: null, key: null, canvas: null };
    this.press = null; // active pointer gesture
    this.stroke = null; // stroke being painted
    this.hover = null; // last pointer position (screen)
    this.lastClick = null; // {time, x, y, button} of the last click (a double-click counts once)
    this.frame = 0;
    this.bindPointer();
  }

  /** Size of the canvas in CSS pixels. */
  get cssSize() {
    const r = this.canvas.getBoundingClientRect();
    return { width: Math.max(1, r.width), height: Math.max(1, r.height) };
  }

  /** Match the backing store to the element size and device pixel ratio. */
  resize() {
    const { width, height } = this.cssSize;
    const dpr = window.devicePixelRatio || 1;
    this.canvas.width = Math.round(width * dpr);
    this.canvas.height = Math.round(height * dpr);
    this.requestDraw();
  }

  /** @param {CanvasImageSource} image decoded image at its natural size */
  setImage(image) {
    this.image = image;
    this.requestDraw();
  }

  /**
   * Render a state. `mask` is the in-progress object's mask (row-major Uint8Array or null).
   * @param {object} state @param {Uint8Array|null} mask
   */
  render(state, mask) {
    this.state = state;
    this.mask = mask;
    this.requestDraw();
  }

  requestDraw() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.draw();
    });
  }

  labelColor(labelId) {
    const lab = this.state.labels.find((l) => l.id === labelId);
    return lab ? lab.color : "#ff0000";
  }

  objectOverlay(obj, fill, outline) {
    const key = `${obj.id}:${obj.version}:${fill}:${outline}`;
    let c = this.objectCache.get(key);
    if (!c) {
      const { mask, width, height } = decodeRle(obj.rle);
      c = maskLayers(mask, width, height, fill, outline);
      this.objectCache.set(key, c);
    }
    return c;
  }

  currentOverlay(fill, outline) {
    const key = `${fill}:${outline}`;
    const cache = this.currentCache;
    if (cache.mask !== this.mask || cache.key !== key) {
      const { width, height } = this.state.image;
      cache.canvas = this.mask ? maskLayers(this.mask, width, height, fill, outline) : null;
      cache.mask = this.mask;
      cache.key = key;
    }
    return cache.canvas;
  }

  draw() {
    const { ctx, canvas, state } = this;
    const dpr = window.devicePixelRatio || 1;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = "#1d2026";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    if (!state || !this.image) return;
    const v = state.view;
    ctx.setTransform(dpr * v.scale, 0, 0, dpr * v.scale, dpr * v.tx, dpr * v.ty);
    ctx.imageSmoothingEnabled = v.scale < 2;
    ctx.drawImage(this.image, 0, 0, state.image.width, state.image.height);
    ctx.imageSmoothingEnabled = false;
    // each finished object in its own colour, outlined in its label's colour; the edited one outlined in white
    const plan = overlayPlan(state, Boolean(this.mask));
    const byId = new Map(state.objects.map((o) => [o.id, o]));
    const layers = plan.layers.map((l) => {
      const fill = l.fill || "#000000"; // outline only: the fill layer is built but not drawn
      return { ...l, canvas: l.kind === "current" ? this.currentOverlay(fill, l.outline) : this.objectOverlay(byId.get(l.id), fill, l.outline) };
    });
    ctx.globalAlpha = plan.alpha;
    for (const l of layers) if (l.fill && l.canvas) ctx.drawImage(l.canvas.fill, 0, 0);
    ctx.globalAlpha = 1;
    for (const l of layers) if (l.canvas) ctx.drawImage(l.canvas.outline, 0, 0);
    if (this.stroke) this.drawStrokePreview(ctx, this.stroke);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    this.drawClicks(ctx, state);
    this.drawBrushCursor(ctx, state);
  }

  drawStrokePreview(ctx, stroke) {
    ctx.strokeStyle = stroke.mode === "erase" ? "rgba(255,255,255,0.6)" : this.labelColor(this.state.current.label);
    ctx.globalAlpha = 0.6;
    ctx.lineWidth = stroke.radius * 2;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.beginPath();
    stroke.points.forEach(([x, y], i) => (i ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
    if (stroke.points.length === 1) ctx.lineTo(stroke.points[0][0] + 0.01, stroke.points[0][1]);
    ctx.stroke();
    ctx.globalAlpha = 1;
  }

  drawClicks(ctx, state) {
    const v = state.view;
    for (const c of state.current.clicks) {
      const sx = (c.x + 0.5) * v.scale + v.tx;
      const sy = (c.y + 0.5) * v.scale + v.ty;
      ctx.beginPath();
      ctx.arc(sx, sy, 5, 0, Math.PI * 2);
      ctx.fillStyle = c.positive ? "#2ecc40" : "#ff4136";
      ctx.fill();
      ctx.lineWidth = 1.5;
      ctx.strokeStyle = "#ffffff";
      ctx.stroke();
    }
  }

  drawBrushCursor(ctx, state) {
    if (!this.hover || state.tool === "click" || !this.interactive) return;
    ctx.beginPath();
    ctx.arc(this.hover.x, this.hover.y, state.brushRadius * state.view.scale, 0, Math.PI * 2);
    ctx.lineWidth = 1;
    ctx.strokeStyle = state.tool === "erase" ? "#ffffff" : "#ffdc00";
    ctx.stroke();
  }

  emit(name, detail) {
    this.canvas.dispatchEvent(new CustomEvent(name, { detail, bubbles: true }));
  }

  localPoint(ev) {
    const r = this.canvas.getBoundingClientRect();
    return { x: ev.clientX - r.left, y: ev.clientY - r.top };
  }

  bindPointer() {
    const el = this.canvas;
    el.addEventListener("contextmenu", (ev) => ev.preventDefault());
    el.addEventListener("wheel", (ev) => {
      ev.preventDefault();
      const p = this.localPoint(ev);
      this.emit("annotator:zoom", { factor: Math.exp(-ev.deltaY * 0.0015), sx: p.x, sy: p.y });
    }, { passive: false });
    el.addEventListener("pointerdown", (ev) => this.onDown(ev));
    el.addEventListener("pointermove", (ev) => this.onMove(ev));
    el.addEventListener("pointerup", (ev) => this.onUp(ev));
    el.addEventListener("pointercancel", () => { this.press = null; this.stroke = null; this.requestDraw(); });
    el.addEventListener("pointerleave", () => { this.hover = null; this.requestDraw(); });
  }

  onDown(ev) {
    if (!this.state) return;
    this.canvas.focus();
    const p = this.localPoint(ev);
    this.canvas.setPointerCapture?.(ev.pointerId);
    const painting = this.interactive && ev.button === 0 && this.state.tool !== "click" && !ev.ctrlKey;
    this.press = { x0: p.x, y0: p.y, last: p, dragging: false, button: ev.button, shiftKey: ev.shiftKey, altKey: ev.altKey };
    if (painting) {
      const q = screenToImage(this.state.view, p.x, p.y);
      this.stroke = { mode: this.state.tool, radius: this.state.brushRadius, points: [[q.x, q.y]] };
      this.requestDraw();
    }
  }

  onMove(ev) {
    const p = this.localPoint(ev);
    this.hover = p;
    const press = this.press;
    if (!press) {
      if (this.state && this.state.tool !== "click") this.requestDraw();
      return;
    }
    if (this.stroke) {
      const q = screenToImage(this.state.view, p.x, p.y);
      const [lx, ly] = this.stroke.points[this.stroke.points.length - 1];
      if (Math.hypot(q.x - lx, q.y - ly) * this.state.view.scale >= 2) this.stroke.points.push([q.x, q.y]);
      this.requestDraw();
      return;
    }
    if (!press.dragging && isDrag(press.x0, press.y0, p.x, p.y)) press.dragging = true;
    if (press.dragging) {
      this.emit("annotator:pan", { dx: p.x - press.last.x, dy: p.y - press.last.y });
      press.last = p;
    }
  }

  onUp(ev) {
    const press = this.press;
    this.press = null;
    if (!press || !this.state) return;
    if (this.stroke) {
      const stroke = this.stroke;
      this.stroke = null;
      this.emit("annotator:stroke", stroke);
      this.requestDraw();
      return;
    }
    if (press.dragging || !this.interactive) return;
    const positive = clickPolarity(press);
    if (positive === null) return;
    const p = this.localPoint(ev);
    const click = { time: ev.timeStamp, x: p.x, y: p.y, button: press.button };
    const repeat = isRepeatClick(this.lastClick, click);
    this.lastClick = click;
    if (repeat) return;
    const px = pixelAt(this.state.view, p.x, p.y, this.state.image.width, this.state.image.height);
    if (px) this.emit("annotator:click", { x: px.x, y: px.y, positive });
  }
}

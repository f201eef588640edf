// Annotator state: a tiny store plus pure reducers and selectors. No DOM, no network.
//
// The object being edited ("current") keeps an undo history of its edits. An edit is
// {clicks, strokes, prob, probValid, steps}: the full click list, the brush/eraser strokes painted on top,
// the last probability crop received ({roi: {x, y, width, height}, data: Uint8Array} of roi.width*roi.height
// bytes, 0..255), whether that crop belongs to exactly these clicks, and its steps: the click counts after
// which the network predicted. The worker's mask is a function of (clicks, steps) (docs/live_protocol.md), so
// the steps travel with the clicks (requests, drafts, undo history) and a reload, a reconnect or an undo after
// a reload shows the very mask seen before. Undo/redo restore a whole edit, so a mask seen before comes back
// without a round trip. Strokes stay with the object (drafts, saved annotations) and are painted over every
// new network output. Coordinates are image pixels, (x, y) with x = column.

import { encodeRle, roiProbsToMask } from "./rle.js";
import { applyStrokes, validateStroke } from "./tools/brush.js";
import { fitView, panBy, zoomAt } from "./viewport.js";

export const HISTORY_LIMIT = 200;
export const DRAFT_VERSION = 2;
export const TOOLS = Object.freeze(["click", "brush", "erase"]);
export const MODES = Object.freeze(["nobrs", "rgb-brs", "distmap-brs", "f-brs-a", "f-brs-b", "f-brs-c", "grabcut"]);

/**
 * A minimal observable store.
 * @param {(state: object, action: {type: string}) => object} reducer pure
 * @param {object} initial
 * @returns {{getState: () => object, dispatch: (action: object) => object, subscribe: (fn: Function) => Function}}
 */
export function createStore(reducer, initial) {
  let state = initial;
  const listeners = new Set();
  return {
    getState: () => state,
    dispatch(action) {
      if (!action || typeof action.type !== "string") throw new Error("an action needs a string type");
      const prev = state;
      state = reducer(state, action);
      if (state !== prev) for (const fn of [...listeners]) fn(state, action, prev);
      return state;
    },
    subscribe(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
  };
}

/**
 * A fresh, empty object to edit.
 * @param {string} objectId client-side id (the websocket's object_id)
 * @param {number|null} label label id
 */
export function newObject(objectId, label = null) {
  return {
    objectId, annotationId: null, version: null, label, prevMask: null,
    clicks: [], strokes: [], prob: null, probValid: true, steps: [], expectSeq: 0,
  };
}

/**
 * The initial annotator state.
 * @param {{image: {id: number, width: number, height: number}, project: {id: number, default_model: string,
 *   default_mode: string}, labels: Array<{id: number, name: string, color: string}>, objectId: string,
 *   label?: number|null, threshold?: number, opacity?: number}} cfg
 */
export function initialState(cfg) {
  const { image, project, labels } = cfg;
  if (!image || !(image.width > 0) || !(image.height > 0)) throw new Error("initialState needs image width and height");
  const label = labels.some((l) => l.id === cfg.label) ? cfg.label : labels.length ? labels[0].id : null;
  return {
    image: { id: image.id, width: image.width, height: image.height },
    project: { id: project.id, defaultModel: project.default_model, defaultMode: project.default_mode },
    labels,
    mode: project.default_mode,
    model: project.default_model,
    tool: "click",
    brushRadius: 8,
    threshold: cfg.threshold ?? 0.49,
    opacity: cfg.opacity ?? 0.5,
    outlineOnly: false, // draw objects as outlines, without fills
    view: { scale: 1, tx: 0, ty: 0 },
    objects: [],
    current: newObject(cfg.objectId, label),
    past: [],
    future: [],
    seq: 0,
    status: {
      connection: "connecting", state: "idle", position: null, preparing: false, ms: null, rtt: null, device: null,
      mode: null, worker: null, error: null,
    },
    helpOpen: false,
    revision: 0, // bumped by every change of the in-progress object (drives autosave)
  };
}

// --- reducers ----------------------------------------------------------------------------------

function edit(cur) {
  return { clicks: cur.clicks, strokes: cur.strokes, prob: cur.prob, probValid: cur.probValid, steps: cur.steps };
}

/**
 * Clean steps for `n` clicks: strictly increasing integers in [1, n] (anything else is dropped).
 * @param {unknown} steps @param {number} n
 * @returns {number[]}
 */
export function cleanSteps(steps, n) {
  const out = [];
  for (const s of Array.isArray(steps) ? steps : []) {
    if (Number.isInteger(s) && s >= 1 && s <= n && (!out.length || s > out[out.length - 1])) out.push(s);
  }
  return out;
}

function cleanClicks(clicks) {
  return (Array.isArray(clicks) ? clicks : []).map((c) => ({ x: Math.floor(c.x), y: Math.floor(c.y), positive: Boolean(c.positive) }));
}

function cleanStrokes(strokes) {
  return (Array.isArray(strokes) ? strokes : []).map(validateStroke);
}

function pushHistory(state, current) {
  const past = [...state.past, edit(state.current)].slice(-HISTORY_LIMIT);
  return { ...state, past, future: [], current, revision: state.revision + 1 };
}

function request(state) {
  // A new mask request: the next sequence number becomes the only answer we accept.
  const seq = state.seq + 1;
  return { ...state, seq, current: { ...state.current, expectSeq: seq, probValid: false } };
}

function clamp01(v) {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`not a number: ${v}`);
  return Math.min(1, Math.max(0, n));
}

function objectFromAnnotation(a) {
  return {
    id: a.id, label: a.label, rle: a.rle, clicks: a.clicks || [], strokes: a.strokes || [], version: a.version,
    mode: a.mode || "", model_name: a.model_name || "", area: a.area, visible: true, edit_seconds: a.edit_seconds ?? null,
  };
}

const handlers = {
  "click/add"(state, { click }) {
    const { width, height } = state.image;
    const x = Math.floor(click.x), y = Math.floor(click.y);
    if (!(x >= 0 && y >= 0 && x < width && y < height)) return state;
    const c = { x, y, positive: Boolean(click.positive) };
    const next = pushHistory(state, { ...state.current, clicks: [...state.current.clicks, c] });
    return request(next);
  },
  "mask/requested"(state) {
    return request(state);
  },
  "mask/received"(state, { seq, objectId, prob, steps }) {
    const cur = state.current;
    if (objectId !== cur.objectId || seq !== cur.expectSeq) return state; // stale: latest wins
    if (!prob || !prob.roi || !(prob.data instanceof Uint8Array)) throw new Error("mask/received needs prob {roi, data}");
    return { ...state, current: { ...cur, prob, probValid: true, steps: cleanSteps(steps, cur.clicks.length) } };
  },
  "stroke/add"(state, { stroke }) {
    const s = validateStroke(stroke);
    return pushHistory(state, { ...state.current, strokes: [...state.current.strokes, s] });
  },
  "history/undo"(state) {
    if (!state.past.length) return state;
    const prev = state.past[state.past.length - 1];
    return {
      ...state, past: state.past.slice(0, -1), future: [edit(state.current), ...state.future],
      current: { ...state.current, ...prev, prob: prev.prob ?? state.current.prob }, revision: state.revision + 1,
    };
  },
  "history/redo"(state) {
    if (!state.future.length) return state;
    const [next, ...rest] = state.future;
    return {
      ...state, past: [...state.past, edit(state.current)], future: rest,
      current: { ...state.current, ...next, prob: next.prob ?? state.current.prob }, revision: state.revision + 1,
    };
  },
  "object/reset"(state, { objectId }) {
    return { ...state, current: newObject(objectId, state.current.label), past: [], future: [], revision: state.revision + 1 };
  },
  "object/finished"(state, { annotation, objectId }) {
    const obj = objectFromAnnotation(annotation);
    const exists = state.objects.some((o) => o.id === obj.id);
    const objects = exists ? state.objects.map((o) => (o.id === obj.id ? { ...obj, visible: o.visible } : o)) : [...state.objects, obj];
    return { ...state, objects, current: newObject(objectId, state.current.label), past: [], future: [], revision: state.revision + 1 };
  },
  "object/edit"(state, { annotationId, objectId, prob }) {
    const obj = state.objects.find((o) => o.id === annotationId);
    if (!obj) return state;
    // The network continues from the saved mask (prev_mask) with only the new clicks predicted (no steps yet);
    // the object's strokes stay and are painted over every new output.
    const current = {
      ...newObject(objectId, obj.label), annotationId: obj.id, version: obj.version,
      prevMask: { annotation_id: obj.id }, clicks: obj.clicks.map((c) => ({ x: c.x, y: c.y, positive: Boolean(c.positive) })),
      strokes: cleanStrokes(obj.strokes), prob: prob || null, probValid: true,
    };
    return { ...state, current, past: [], future: [], revision: state.revision + 1 };
  },
  "object/toggle"(state, { id }) {
    return { ...state, objects: state.objects.map((o) => (o.id === id ? { ...o, visible: !o.visible } : o)) };
  },
  "object/deleted"(state, { id }) {
    const current = state.current.annotationId === id ? { ...state.current, annotationId: null, version: null, prevMask: null } : state.current;
    return { ...state, objects: state.objects.filter((o) => o.id !== id), current };
  },
  "objects/loaded"(state, { annotations }) {
    return { ...state, objects: annotations.map(objectFromAnnotation) };
  },
  "draft/restored"(state, { draft }) {
    if (!draft || !Array.isArray(draft.clicks)) return state;
    const clicks = cleanClicks(draft.clicks);
    const strokes = cleanStrokes(draft.strokes);
    const current = {
      ...newObject(draft.object_id || state.current.objectId, draft.label ?? state.current.label),
      annotationId: draft.annotation_id ?? null, version: draft.annotation_version ?? null,
      prevMask: draft.annotation_id ? { annotation_id: draft.annotation_id } : null,
      clicks, strokes, steps: cleanSteps(draft.steps, clicks.length), probValid: !(clicks.length > 0),
    };
    const past = (Array.isArray(draft.past) ? draft.past : []).map((e) => pastEdit(e, clicks, strokes)).filter(Boolean);
    const mode = MODES.includes(draft.mode) ? draft.mode : state.mode;
    return { ...state, mode, current, past: past.slice(-HISTORY_LIMIT), future: [] };
  },
  "label/select"(state, { labelId }) {
    if (!state.labels.some((l) => l.id === labelId)) return state;
    return { ...state, current: { ...state.current, label: labelId }, revision: state.revision + 1 };
  },
  "threshold/set"(state, { value }) {
    return { ...state, threshold: clamp01(value) };
  },
  "opacity/set"(state, { value }) {
    return { ...state, opacity: clamp01(value) };
  },
  "outline/set"(state, { value }) {
    const outlineOnly = value === undefined ? !state.outlineOnly : Boolean(value);
    return outlineOnly === state.outlineOnly ? state : { ...state, outlineOnly };
  },
  "tool/set"(state, { tool }) {
    if (!TOOLS.includes(tool)) throw new Error(`unknown tool ${tool}`);
    return { ...state, tool };
  },
  "brush/radius"(state, { radius }) {
    return { ...state, brushRadius: Math.min(200, Math.max(1, Math.round(radius))) };
  },
  "mode/set"(state, { mode }) {
    if (!MODES.includes(mode)) throw new Error(`unknown mode ${mode}`);
    return { ...state, mode };
  },
  "view/fit"(state, { canvasW, canvasH }) {
    return { ...state, view: fitView(state.image.width, state.image.height, canvasW, canvasH) };
  },
  "view/zoom"(state, { factor, sx, sy }) {
    return { ...state, view: zoomAt(state.view, factor, sx, sy) };
  },
  "view/pan"(state, { dx, dy }) {
    return { ...state, view: panBy(state.view, dx, dy) };
  },
  "status/connection"(state, { connection, error }) {
    return { ...state, status: { ...state.status, connection, error: error ?? state.status.error } };
  },
  "status/server"(state, { seq, state: serverState, position = null }) {
    if (seq !== undefined && seq !== state.current.expectSeq) return state;
    return { ...state, status: { ...state.status, state: serverState, position, error: null } };
  },
  "status/preparing"(state, { value }) {
    return { ...state, status: { ...state.status, preparing: Boolean(value) } };
  },
  "status/mask"(state, { ms, rtt = null, device, mode, worker, model = "" }) {
    return {
      ...state,
      status: { ...state.status, state: "done", position: null, preparing: false, ms, rtt, device, mode, worker, model, error: null },
    };
  },
  "status/error"(state, { message }) {
    return { ...state, status: { ...state.status, state: "error", error: message } };
  },
  "help/toggle"(state, { open }) {
    return { ...state, helpOpen: open === undefined ? !state.helpOpen : Boolean(open) };
  },
};

/** Action types the reducer knows. */
export const ACTIONS = Object.freeze(Object.keys(handlers));

/**
 * The annotator's root reducer (pure: returns a new state or the same object when nothing changed).
 * @param {object} state @param {{type: string}} action
 * @returns {object}
 */
export function reducer(state, action) {
  const h = handlers[action.type];
  if (!h) throw new Error(`unknown action ${action.type}`);
  return h(state, action);
}

// --- selectors ---------------------------------------------------------------------------------

/**
 * The in-progress object's binary mask: thresholded probability crop, then strokes painted in order.
 * @param {object} state
 * @returns {Uint8Array|null} row-major width*height, or null when there is nothing to show
 */
export function currentMask(state) {
  const { current, threshold } = state;
  const { width, height } = state.image;
  if (!current.prob && !current.strokes.length) return null;
  const base = current.prob ? roiProbsToMask(current.prob, width, height, threshold) : null;
  return current.strokes.length ? applyStrokes(base, current.strokes, width, height) : base;
}

/** Whether the in-progress object has anything worth saving. */
export function hasWork(state) {
  return state.current.clicks.length > 0 || state.current.strokes.length > 0;
}

function isPrefix(short, long, same) {
  return short.length <= long.length && short.every((v, i) => same(v, long[i]));
}

const sameClick = (a, b) => a.x === b.x && a.y === b.y && a.positive === b.positive;

/** One undo-history edit as the draft stores it: counts of the current clicks/strokes it is a prefix of. */
function draftEdit(e, cur) {
  if (isPrefix(e.clicks, cur.clicks, sameClick) && isPrefix(e.strokes, cur.strokes, (a, b) => a === b)) {
    return { clicks: e.clicks.length, strokes: e.strokes.length, steps: e.steps };
  }
  return { clicks: e.clicks, strokes: e.strokes, steps: e.steps };
}

/** A draft's history edit back as a state edit (its mask is asked for again when undo reaches it). */
function pastEdit(e, clicks, strokes) {
  if (!e || typeof e !== "object") return null;
  try {
    const c = Number.isInteger(e.clicks) ? clicks.slice(0, e.clicks) : cleanClicks(e.clicks);
    const s = Number.isInteger(e.strokes) ? strokes.slice(0, e.strokes) : cleanStrokes(e.strokes);
    return { clicks: c, strokes: s, prob: null, probValid: c.length === 0, steps: cleanSteps(e.steps, c.length) };
  } catch {
    return null;
  }
}

/**
 * The autosave payload of the in-progress object (JSON-safe). The mask itself is not stored: it is a function of
 * the clicks and their steps (the worker rebuilds it, pixel for pixel); the undo history keeps each edit's clicks,
 * strokes and steps, as counts when they are prefixes of the current ones.
 * @param {object} state
 */
export function draftFromState(state) {
  const c = state.current;
  return {
    version: DRAFT_VERSION, object_id: c.objectId, annotation_id: c.annotationId, annotation_version: c.version,
    label: c.label, clicks: c.clicks, strokes: c.strokes, steps: c.steps, mode: state.mode,
    past: state.past.map((e) => draftEdit(e, c)),
  };
}

/**
 * The websocket click message for the in-progress object (contract: full click list and the steps of the mask
 * it continues from, latest wins).
 * @param {object} state
 */
export function clickMessage(state) {
  const c = state.current;
  const msg = {
    type: "click", seq: c.expectSeq, object_id: c.objectId, clicks: c.clicks, steps: cleanSteps(c.steps, c.clicks.length),
    mode: state.mode, model: state.model,
  };
  if (c.prevMask) msg.prev_mask = c.prevMask;
  return msg;
}

/**
 * The REST body that saves the in-progress object as an Annotation (mask as uncompressed COCO RLE).
 * @param {object} state @param {Uint8Array} mask row-major width*height
 * @returns {object}
 */
export function annotationBody(state, mask) {
  const c = state.current;
  if (c.label === null || c.label === undefined) throw new Error("pick a label first");
  const body = {
    image: state.image.id, label: c.label, mask: encodeRle(mask, state.image.width, state.image.height),
    clicks: c.clicks, strokes: c.strokes, model_name: state.mode === "grabcut" ? "" : state.model, mode: state.mode,
  };
  if (c.annotationId) body.version = c.version;
  return body;
}

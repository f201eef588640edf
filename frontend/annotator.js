// The annotator page: wires the store (state.js), the canvas (canvas.js) and the transport
// (transport.js) together. It owns no state of its own beyond timers; everything else is in the store.

import { CanvasView, decodeProbPng } from "./canvas.js";
import { createEffortTimer, effortText } from "./effort.js";
import { pickMode } from "./modes.js";
import { decodeRle, maskArea } from "./rle.js";
import {
  fillStaticControls, modesOf, renderControls, renderObjectList, setStatusBadge, setText, showNotices,
} from "./panel.js";
import { commandFor, isTypingTarget } from "./shortcuts.js";
import {
  annotationBody, clickMessage, createStore, currentMask, draftFromState, hasWork, initialState, reducer,
} from "./state.js";
import { LiveSocket, createApi, wsUrl } from "./transport.js";

const AUTOSAVE_MS = 800;
const $ = (id) => document.getElementById(id);

const cfg = JSON.parse($("annotator-config").textContent);
const root = $("annotator");
const lastLabelKey = `clicklabel.lastLabel.${cfg.project.id}`;
const api = createApi({ csrfToken: cfg.csrf_token });
const newObjectId = () => (crypto.randomUUID ? crypto.randomUUID() : `o${Date.now()}${Math.random()}`);

// The mode to run: the project's (the server already replaced an unavailable one) if this page offers it.
const offeredModes = modesOf(cfg);
const picked = pickMode(offeredModes, cfg.project.default_mode);
const notices = [...(cfg.notices || []), ...(picked.notice ? [picked.notice] : [])];

const store = createStore(reducer, initialState({
  image: cfg.image, project: { ...cfg.project, default_mode: picked.mode }, labels: cfg.labels, objectId: newObjectId(),
  label: Number(localStorage.getItem(lastLabelKey)),
}));
const view = new CanvasView($("canvas"), { interactive: cfg.can_edit });
const socket = new LiveSocket(wsUrl(cfg.ws_path, window.location), { onMessage, onState: onSocketState });

// --- derived mask (memoised on the inputs it depends on) ---------------------------------------
let memo = { prob: undefined, strokes: undefined, threshold: undefined, mask: null };
function maskOf(state) {
  const c = state.current;
  if (memo.prob !== c.prob || memo.strokes !== c.strokes || memo.threshold !== state.threshold) {
    memo = { prob: c.prob, strokes: c.strokes, threshold: state.threshold, mask: currentMask(state) };
  }
  return memo.mask;
}

// --- live protocol -----------------------------------------------------------------------------
const sentAt = new Map(); // seq -> performance.now() when its click message went out (round-trip readout)

function sendCurrentClicks() {
  const s = store.getState();
  if (!cfg.can_edit || !s.current.clicks.length) return;
  if (socket.send(clickMessage(s))) sentAt.set(s.current.expectSeq, performance.now());
}

function requestMask() {
  store.dispatch({ type: "mask/requested" });
  sendCurrentClicks();
}

let prefetched = false; // the next image is prefetched once this image's preparation finished

const messageHandlers = {
  ready(msg) {
    store.dispatch({ type: "status/connection", connection: "ready", error: null });
    store.dispatch({ type: "status/preparing", value: true });
    if (store.getState().current.clicks.length) requestMask(); // rebuild the worker's state after (re)connect
  },
  warm(msg) {
    if (msg.image_id !== cfg.image.id) return;
    store.dispatch({ type: "status/preparing", value: false });
    if (cfg.next_image_id && !prefetched) prefetched = socket.send({ type: "prefetch", image_id: cfg.next_image_id });
  },
  status(msg) {
    store.dispatch({ type: "status/server", seq: msg.seq, state: msg.state, position: msg.position ?? null });
  },
  async mask(msg) {
    const s = store.getState();
    if (msg.object_id !== s.current.objectId || msg.seq !== s.current.expectSeq) return; // superseded
    try {
      const img = await decodeProbPng(msg.png, msg.roi.width, msg.roi.height);
      store.dispatch({ type: "mask/received", seq: msg.seq, objectId: msg.object_id,
        prob: { roi: msg.roi, data: img.data }, steps: msg.steps });
      const t0 = sentAt.get(msg.seq);
      const rtt = t0 === undefined ? null : performance.now() - t0;
      sentAt.clear();
      store.dispatch({ type: "status/mask", ms: msg.model_ms, rtt, device: msg.device, mode: msg.mode, worker: msg.worker, model: msg.model });
      if (msg.fallback_reason) showError(`The worker used ${msg.mode} instead: ${msg.fallback_reason}`);
    } catch (err) {
      store.dispatch({ type: "status/error", message: `Could not decode the mask: ${err.message}` });
    }
  },
  error(msg) {
    const s = store.getState();
    if (msg.seq !== undefined && msg.seq !== s.current.expectSeq) return;
    store.dispatch({ type: "status/error", message: `${msg.message} (${msg.code})` });
  },
  pong() {},
};

function onMessage(msg) {
  const h = messageHandlers[msg && msg.type];
  if (h) h(msg);
}

function onSocketState(ev) {
  const text = {
    connecting: "connecting",
    open: "connected",
    closed: ev.retryIn !== undefined ? `disconnected, retrying in ${(ev.retryIn / 1000).toFixed(1)} s` : "closed",
    failed: `disconnected: ${ev.reason}`,
  }[ev.state];
  store.dispatch({ type: "status/connection", connection: ev.state === "open" ? "open" : text });
}

// --- autosave ----------------------------------------------------------------------------------
let saveTimer = null;
let savedRevision = store.getState().revision;
let saving = false;

function scheduleAutosave() {
  if (!cfg.can_edit) return;
  clearTimeout(saveTimer);
  saveTimer = setTimeout(saveDraft, AUTOSAVE_MS);
  setText("status-save", "unsaved changes");
}

async function saveDraft({ keepalive = false } = {}) {
  const s = store.getState();
  if (!cfg.can_edit || s.revision === savedRevision || (saving && !keepalive)) return;
  clearTimeout(saveTimer);
  saving = true;
  try {
    await api.putDraft(cfg.image.id, { ...draftFromState(s), edit_seconds: effort.seconds(performance.now()) }, { keepalive });
    savedRevision = s.revision;
    setText("status-save", `draft saved ${new Date().toLocaleTimeString()}`);
  } catch (err) {
    setText("status-save", `draft not saved: ${err.message}`);
    saveTimer = setTimeout(saveDraft, 5000);
  } finally {
    saving = false;
    root.dataset.savedRevision = String(savedRevision);
    if (store.getState().revision !== savedRevision) scheduleAutosave();
  }
}

// --- commands ----------------------------------------------------------------------------------
function showError(message) {
  store.dispatch({ type: "status/error", message });
}

function afterHistoryMove() {
  const s = store.getState();
  if (!s.current.probValid && s.current.clicks.length) requestMask();
}

let finishing = false;

async function finishObject() {
  if (finishing) return; // a second Enter while the first save is in flight
  finishing = true;
  try {
    await saveObject();
  } finally {
    finishing = false;
  }
}

async function saveObject() {
  const s = store.getState();
  if (!cfg.can_edit) return;
  if (!hasWork(s) && !s.current.annotationId) return showError("Nothing to save: click on the object first.");
  if (!s.current.probValid) return showError("The mask is still being computed; finish again when it shows.");
  const mask = maskOf(s);
  if (!mask || maskArea(mask) === 0) return showError("The mask is empty; add a positive click or paint with the brush.");
  let body;
  try {
    body = annotationBody(s, mask);
  } catch (err) {
    return showError(err.message);
  }
  body.edit_seconds = effort.seconds(performance.now());
  try {
    const saved = s.current.annotationId ? await api.updateAnnotation(s.current.annotationId, body)
      : await api.createAnnotation(body);
    store.dispatch({ type: "object/finished", annotation: saved, objectId: newObjectId() });
    await saveDraft();
    refreshImageStatus();
    refreshEffort();
  } catch (err) {
    showError(err.status === 409 ? "Someone else changed this object; reload the page to see their version."
      : `Could not save the object: ${err.message}`);
  }
}

function confirmDiscard() {
  return !hasWork(store.getState()) || window.confirm("Discard the object in progress?");
}

async function editObject(id) {
  const obj = store.getState().objects.find((o) => o.id === id);
  if (!obj || !cfg.can_edit || !confirmDiscard()) return;
  const { mask, width, height } = decodeRle(obj.rle);
  const data = new Uint8Array(mask.length);
  for (let i = 0; i < mask.length; i++) data[i] = mask[i] ? 255 : 0;
  store.dispatch({ type: "object/edit", annotationId: id, objectId: newObjectId(),
    prob: { roi: { x: 0, y: 0, width, height }, data } });
}

async function deleteObject(id) {
  const obj = store.getState().objects.find((o) => o.id === id);
  if (!obj || !window.confirm("Delete this object?")) return;
  try {
    await api.deleteAnnotation(id, obj.version);
    store.dispatch({ type: "object/deleted", id });
  } catch (err) {
    showError(`Could not delete: ${err.message}`);
  }
}

async function refreshImageStatus() {
  try {
    const image = await api.getImage(cfg.image.id);
    if (image && image.status) setStatusBadge(image.status);
  } catch {
    // the badge is informative only
  }
}

// --- effort: clicks and active seconds of the object, the annotator's averages ---------------------
const effort = createEffortTimer();
const touchEffort = () => effort.touch(performance.now());

function renderEffort() {
  const s = store.getState();
  setText("effort-object", `${s.current.clicks.length} click${s.current.clicks.length === 1 ? "" : "s"} · ${Math.round(effort.seconds(performance.now()))} s`);
}

async function refreshEffort() {
  try {
    const progress = await api.call("GET", `/projects/${cfg.project.id}/progress/`);
    const mine = (progress.effort.by_annotator || []).find((row) => row.user && row.user.id === cfg.user.id);
    setText("effort-user", effortText(mine));
  } catch {
    // the figures are informative only
  }
}

const EFFORT_RESETS = {
  "object/finished": () => 0,
  "object/reset": () => 0,
  "object/edit": (action, state) => (state.objects.find((o) => o.id === action.annotationId) || {}).edit_seconds || 0,
  "draft/restored": (action) => (action.draft && action.draft.edit_seconds) || 0,
};

async function submitImage() {
  if (hasWork(store.getState()) && !window.confirm("The object in progress is not finished and will not be submitted. Submit anyway?")) return;
  try {
    const res = await api.submitImage(cfg.image.id);
    setStatusBadge((res && res.status) || "in_review");
    const next = await api.nextImage(cfg.project.id).catch(() => null);
    if (next && next.id && next.id !== cfg.image.id) goToImage(next.id);
    else setText("status-error", "Submitted. No more images waiting for you in this project.");
  } catch (err) {
    showError(`Could not submit: ${err.message}`);
  }
}

async function goToImage(id) {
  if (!id) return showError("There is no image in that direction.");
  await saveDraft();
  window.location.assign(`/annotate/${id}/`);
}

function canvasCentre() {
  const { width, height } = view.cssSize;
  return { sx: width / 2, sy: height / 2 };
}

function nudge(key, delta, lo, hi) {
  const s = store.getState();
  const value = Math.min(hi, Math.max(lo, Math.round((s[key] + delta) * 100) / 100));
  store.dispatch({ type: `${key}/set`, value });
}

let lastOpacity = 0.5;
const commands = {
  help: () => store.dispatch({ type: "help/toggle" }),
  undo: () => { store.dispatch({ type: "history/undo" }); afterHistoryMove(); },
  redo: () => { store.dispatch({ type: "history/redo" }); afterHistoryMove(); },
  finish: () => finishObject(),
  discard: () => {
    if (store.getState().helpOpen) return store.dispatch({ type: "help/toggle", open: false });
    if (confirmDiscard()) store.dispatch({ type: "object/reset", objectId: newObjectId() });
  },
  "tool-click": () => store.dispatch({ type: "tool/set", tool: "click" }),
  "tool-brush": () => store.dispatch({ type: "tool/set", tool: "brush" }),
  "tool-erase": () => store.dispatch({ type: "tool/set", tool: "erase" }),
  "brush-smaller": () => store.dispatch({ type: "brush/radius", radius: store.getState().brushRadius / 1.25 }),
  "brush-larger": () => store.dispatch({ type: "brush/radius", radius: store.getState().brushRadius * 1.25 + 1 }),
  "threshold-up": () => nudge("threshold", 0.05, 0.05, 0.95),
  "threshold-down": () => nudge("threshold", -0.05, 0.05, 0.95),
  "opacity-toggle": () => {
    const o = store.getState().opacity;
    if (o > 0) lastOpacity = o;
    store.dispatch({ type: "opacity/set", value: o > 0 ? 0 : lastOpacity || 0.5 });
  },
  "opacity-up": () => nudge("opacity", 0.1, 0, 1),
  "opacity-down": () => nudge("opacity", -0.1, 0, 1),
  "outline-toggle": () => store.dispatch({ type: "outline/set" }),
  "zoom-in": () => store.dispatch({ type: "view/zoom", factor: 1.25, ...canvasCentre() }),
  "zoom-out": () => store.dispatch({ type: "view/zoom", factor: 0.8, ...canvasCentre() }),
  fit: () => store.dispatch({ type: "view/fit", canvasW: view.cssSize.width, canvasH: view.cssSize.height }),
  "pan-left": () => store.dispatch({ type: "view/pan", dx: 60, dy: 0 }),
  "pan-right": () => store.dispatch({ type: "view/pan", dx: -60, dy: 0 }),
  "pan-up": () => store.dispatch({ type: "view/pan", dx: 0, dy: 60 }),
  "pan-down": () => store.dispatch({ type: "view/pan", dx: 0, dy: -60 }),
  "prev-image": () => goToImage(cfg.prev_image_id),
  "next-image": () => goToImage(cfg.next_image_id),
};

// --- panel rendering ---------------------------------------------------------------------------
function renderPanel(state, prev) {
  renderControls(state);
  if (!prev || prev.objects !== state.objects || prev.current.annotationId !== state.current.annotationId) {
    renderObjectList(state, {
      labels: cfg.labels,
      onToggle: (id) => store.dispatch({ type: "object/toggle", id }),
      onEdit: cfg.can_edit ? editObject : undefined,
      onDelete: cfg.can_edit ? deleteObject : undefined,
    });
  }
  // test and automation hooks
  const mask = maskOf(state);
  root.dataset.maskArea = String(mask ? maskArea(mask) : 0);
  root.dataset.clicks = String(state.current.clicks.length);
  root.dataset.pending = state.current.clicks.length && !state.current.probValid ? "1" : "0";
  root.dataset.seq = String(state.seq);
  root.dataset.objects = String(state.objects.length);
  root.dataset.connection = state.status.connection;
  root.dataset.revision = String(state.revision);
  root.dataset.mode = state.mode;
  root.dataset.outline = state.outlineOnly ? "1" : "0";
}

function bindControls() {
  $("label-select").addEventListener("change", (ev) => {
    const id = Number(ev.target.value);
    store.dispatch({ type: "label/select", labelId: id });
    localStorage.setItem(lastLabelKey, String(id));
  });
  $("mode-select").addEventListener("change", (ev) => {
    store.dispatch({ type: "mode/set", mode: ev.target.value });
    if (store.getState().current.clicks.length) requestMask();
  });
  $("threshold").addEventListener("input", (ev) => store.dispatch({ type: "threshold/set", value: Number(ev.target.value) }));
  $("opacity").addEventListener("input", (ev) => store.dispatch({ type: "opacity/set", value: Number(ev.target.value) }));
  $("outline-only").addEventListener("change", (ev) => store.dispatch({ type: "outline/set", value: ev.target.checked }));
  $("brush-size").addEventListener("input", (ev) => store.dispatch({ type: "brush/radius", radius: Number(ev.target.value) }));
  for (const b of document.querySelectorAll("[data-tool]")) b.addEventListener("click", () => store.dispatch({ type: "tool/set", tool: b.dataset.tool }));
  const buttons = { undo: "undo", redo: "redo", finish: "finish", "reset-object": "discard", submit: null,
    "prev-image": "prev-image", "next-image": "next-image", "help-button": "help" };
  for (const [id, cmd] of Object.entries(buttons)) if (cmd) $(id).addEventListener("click", () => commands[cmd]());
  $("submit").addEventListener("click", submitImage);
  $("prev-image").disabled = !cfg.prev_image_id;
  $("next-image").disabled = !cfg.next_image_id;
  for (const el of document.querySelectorAll("[data-close-help]")) el.addEventListener("click", () => store.dispatch({ type: "help/toggle", open: false }));

  const canvas = $("canvas");
  canvas.addEventListener("annotator:click", (ev) => {
    if (!cfg.can_edit) return;
    store.dispatch({ type: "click/add", click: ev.detail });
    sendCurrentClicks();
  });
  canvas.addEventListener("annotator:stroke", (ev) => {
    if (!cfg.can_edit) return;
    try {
      store.dispatch({ type: "stroke/add", stroke: ev.detail });
    } catch (err) {
      showError(err.message);
    }
  });
  canvas.addEventListener("annotator:zoom", (ev) => store.dispatch({ type: "view/zoom", ...ev.detail }));
  canvas.addEventListener("annotator:pan", (ev) => store.dispatch({ type: "view/pan", ...ev.detail }));

  for (const type of ["pointerdown", "wheel"]) canvas.addEventListener(type, touchEffort, { passive: true });
  document.addEventListener("keydown", (ev) => {
    touchEffort();
    if (isTypingTarget(ev.target) || ev.target.tagName === "SELECT") return;
    const cmd = commandFor(ev);
    if (!cmd) return;
    if (cmd === "finish" && ev.target.tagName === "BUTTON") return; // let Enter/Space press the button
    ev.preventDefault();
    commands[cmd]();
  });
  window.addEventListener("resize", () => view.resize());
  window.addEventListener("pagehide", () => saveDraft({ keepalive: true }));
}

store.subscribe((state, action, prev) => {
  view.render(state, maskOf(state));
  renderPanel(state, prev);
  if (state.revision !== prev.revision) scheduleAutosave();
  const reset = EFFORT_RESETS[action.type];
  if (reset) effort.reset(reset(action, state), performance.now());
});

async function start() {
  fillStaticControls(cfg);
  showNotices(notices);
  bindControls();
  renderPanel(store.getState(), null);
  setText("effort-user", effortText(cfg.effort));
  effort.reset(0, performance.now());
  setInterval(renderEffort, 1000);
  try {
    const img = new Image();
    img.src = cfg.image.file_url;
    await img.decode();
    view.setImage(img);
    view.resize();
    commands.fit();
    const annotations = await api.listAnnotations(cfg.image.id);
    store.dispatch({ type: "objects/loaded", annotations });
    if (cfg.can_edit) {
      const draft = await api.getDraft(cfg.image.id);
      if (draft && ((draft.clicks || []).length || (draft.strokes || []).length)) {
        store.dispatch({ type: "draft/restored", draft });
        if (!offeredModes.some((m) => m.name === store.getState().mode)) store.dispatch({ type: "mode/set", mode: picked.mode });
        savedRevision = store.getState().revision;
      }
      socket.connect();
    } else {
      store.dispatch({ type: "status/connection", connection: "read-only" });
    }
  } catch (err) {
    showError(`Could not load the image: ${err.message}`);
  }
  root.dataset.ready = "1";
  view.render(store.getState(), maskOf(store.getState()));
}

// Exposed for debugging and for the end-to-end tests (e.g. simulating a dropped connection).
window.clicklabel = { store, socket, api };
start();

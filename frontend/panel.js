// The annotator's side panel and status line: DOM rendering from state, no state of its own, no network.
// `statusLine` is pure (unit-tested); the rest writes into the page's elements by id.

import { modeDetail, modeOptions } from "./modes.js";
import { legendSwatch } from "./overlay.js";
import { MODES } from "./state.js";
import { SHORTCUTS } from "./shortcuts.js";

const $ = (id) => document.getElementById(id);

/**
 * What the status line says about the click in flight (or the image being prepared), honest under load:
 * "waiting for worker…" until a worker took the click, "queued (n ahead)…" while it waits behind other
 * annotators' clicks, "preparing image…" while the image is decoded and prepared, then "computing…".
 * @param {object} state annotator state
 * @returns {string}
 */
export function progressText(state) {
  const st = state.status;
  const pending = state.current.clicks.length > 0 && !state.current.probValid;
  if (!pending) return st.preparing ? "preparing image…" : "";
  if (st.state === "computing") return "computing…";
  if (st.state === "preparing") return "preparing image…";
  if (st.state === "queued" && st.position > 0) return `queued (${st.position} ahead)…`;
  return st.preparing ? "preparing image…" : "waiting for worker…";
}

/**
 * The texts of the status line for a state.
 * @param {object} state annotator state
 * @returns {{connection: string, progress: string, timing: string, error: string}}
 */
export function statusLine(state) {
  const st = state.status;
  const live = st.connection === "ready" || st.connection === "open";
  const has = (v) => v !== null && v !== undefined;
  const rtt = has(st.rtt) ? ` (round trip ${Math.round(st.rtt)} ms)` : "";
  return {
    connection: `${live ? "●" : "○"} ${st.connection}`,
    progress: progressText(state),
    timing: has(st.ms) ? `${Math.round(st.ms)} ms/click${rtt} · ${st.device || "?"} · ${st.mode || ""}${st.model ? ` · ${st.model}` : ""}` : "",
    error: st.error || "",
  };
}

/** Set an element's text if it changed. */
export function setText(id, text) {
  const el = $(id);
  if (el && el.textContent !== text) el.textContent = text;
}

/** Show an image status ("in_review") in the #image-status badge. */
export function setStatusBadge(status) {
  const el = $("image-status");
  el.textContent = status.replace("_", " ");
  el.className = `status status-${status}`;
}

function button(text, className, onClick) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = text;
  b.className = className;
  b.addEventListener("click", onClick);
  return b;
}

/**
 * Render #object-list: visibility box, colour swatch, name, and (when `onEdit`/`onDelete` are given) buttons.
 * @param {object} state
 * @param {{labels: Array<{id: number, name: string, color: string}>, details?: boolean,
 *   onToggle: (id: number) => void, onEdit?: (id: number) => void, onDelete?: (id: number) => void}} opts
 */
export function renderObjectList(state, { labels, details = false, onToggle, onEdit, onDelete }) {
  const ul = $("object-list");
  ul.replaceChildren();
  for (const obj of state.objects) {
    const lab = labels.find((l) => l.id === obj.label);
    const li = document.createElement("li");
    li.dataset.objectId = String(obj.id);
    if (obj.id === state.current.annotationId) li.classList.add("editing");
    const vis = document.createElement("input");
    vis.type = "checkbox";
    vis.checked = obj.visible;
    vis.title = "Visible";
    vis.addEventListener("change", () => onToggle(obj.id));
    const sw = document.createElement("span");
    sw.className = "swatch";
    const legend = legendSwatch(obj, labels); // the object's own colour inside its label's colour
    sw.style.background = legend.background;
    sw.style.borderColor = legend.border;
    sw.title = lab ? `label ${lab.name}` : "unknown label";
    const name = document.createElement("span");
    name.className = "name";
    name.textContent = `${lab ? lab.name : "?"} #${obj.id}` + (details ? ` · ${obj.area ?? "?"} px · ${obj.mode || "manual"}` : "");
    li.append(vis, sw, name);
    if (onEdit) li.append(button("Edit", "small", () => onEdit(obj.id)));
    if (onDelete) li.append(button("Delete", "small danger", () => onDelete(obj.id)));
    ul.append(li);
  }
  if (!state.objects.length) {
    const li = document.createElement("li");
    li.className = "muted";
    li.textContent = "No objects yet.";
    ul.append(li);
  }
}

/**
 * Update the annotator's controls and status line from the state.
 * @param {object} state
 */
export function renderControls(state) {
  const line = statusLine(state);
  setText("status-conn", line.connection);
  setText("status-state", line.progress);
  setText("status-timing", line.timing);
  setText("status-error", line.error);
  $("label-select").value = String(state.current.label ?? "");
  $("mode-select").value = state.mode;
  setText("mode-detail", modeDetail(offeredModes, state.mode));
  const outline = $("outline-only");
  if (outline) outline.checked = Boolean(state.outlineOnly);
  $("threshold").value = String(state.threshold);
  setText("threshold-out", state.threshold.toFixed(2));
  $("opacity").value = String(state.opacity);
  setText("opacity-out", state.opacity.toFixed(2));
  $("brush-size").value = String(state.brushRadius);
  setText("brush-size-out", String(state.brushRadius));
  for (const b of document.querySelectorAll("[data-tool]")) b.classList.toggle("active", b.dataset.tool === state.tool);
  $("undo").disabled = !state.past.length;
  $("redo").disabled = !state.future.length;
  $("help").hidden = !state.helpOpen;
  $("canvas").style.cursor = state.tool === "click" ? "crosshair" : "none";
}

let offeredModes = [];

/**
 * The modes this page offers: the config's (people's names, tooltips, papers' names) that this client
 * knows, or the bare mode names when the config has none.
 * @param {{modes?: Array<{name: string, title: string, summary: string, technical: string}>}} cfg
 */
export function modesOf(cfg) {
  const given = Array.isArray(cfg.modes) && cfg.modes.length ? cfg.modes
    : MODES.map((m) => ({ name: m, title: m, summary: "", technical: m }));
  return given.filter((m) => MODES.includes(m.name));
}

/**
 * Show sentences about the page's settings (e.g. a replaced mode) in #engine-notice; hidden when none.
 * @param {string[]} notices
 */
export function showNotices(notices) {
  const el = $("engine-notice");
  if (!el) return;
  el.textContent = notices.join(" ");
  el.hidden = !notices.length;
}

/**
 * Fill the label and mode pickers and the shortcut help table; disable editing controls when read-only.
 * @param {{labels: Array<{id: number, name: string}>, can_edit: boolean, modes?: Array<object>}} cfg
 */
export function fillStaticControls(cfg) {
  const labelSel = $("label-select");
  for (const l of cfg.labels) labelSel.append(new Option(l.name, String(l.id)));
  const modeSel = $("mode-select");
  offeredModes = modesOf(cfg);
  for (const m of modeOptions(offeredModes)) {
    const option = new Option(m.text, m.value);
    option.title = m.tooltip;
    modeSel.append(option);
  }
  const tbody = $("help-keys").querySelector("tbody");
  for (const [combos, , description] of SHORTCUTS) {
    const tr = document.createElement("tr");
    const keys = document.createElement("td");
    keys.textContent = combos.join(" / ").replaceAll("mod", "Ctrl");
    const what = document.createElement("td");
    what.textContent = description;
    tr.append(keys, what);
    tbody.append(tr);
  }
  if (!cfg.can_edit) {
    for (const id of ["undo", "redo", "reset-object", "finish", "submit", "tool-brush", "tool-erase"]) $(id).disabled = true;
  }
}

// The mode picker: people's names ("Precise") with a one-line tooltip and the papers' name (f-BRS-B).
// Pure; the page gets the list from its config (`cfg.modes`, see labeling/selectors/engine.py).

/**
 * The <option>s of the mode picker.
 * @param {Array<{name: string, title: string, summary: string, technical: string}>} modes
 * @returns {Array<{value: string, text: string, tooltip: string}>}
 */
export function modeOptions(modes) {
  return modes.map((m) => ({ value: m.name, text: m.title, tooltip: `${m.summary} (${m.technical}, “${m.name}”)` }));
}

/**
 * The details line under the picker: "f-BRS-B · f-brs-b — <summary>"; "" for an unknown mode.
 * @param {Array<{name: string, summary: string, technical: string}>} modes
 * @param {string} name
 */
export function modeDetail(modes, name) {
  const m = modes.find((x) => x.name === name);
  return m ? `${m.technical} · ${m.name} — ${m.summary}` : "";
}

/**
 * The mode to run: `wanted` when it is offered, else the first offered one, with a sentence saying so.
 * @param {Array<{name: string, title: string, technical: string}>} modes offered modes (not empty)
 * @param {string} wanted
 * @returns {{mode: string, notice: string|null}}
 */
export function pickMode(modes, wanted) {
  if (modes.some((m) => m.name === wanted)) return { mode: wanted, notice: null };
  const first = modes[0];
  return { mode: first.name, notice: `The mode “${wanted}” is not available; using ${first.title} (${first.technical}) instead.` };
}

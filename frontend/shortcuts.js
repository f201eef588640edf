// Keyboard shortcuts: one registry of {combo -> command}, with the descriptions the help overlay shows.
// Pure: `comboOf` turns a KeyboardEvent-like object into a combo string, `commandFor` looks it up.

/** [combos, command, description] rows, in the order the help overlay lists them. */
export const SHORTCUTS = Object.freeze([
  [["?"], "help", "Show or hide this help"],
  [["mod+z", "z"], "undo", "Undo the last click or stroke"],
  [["mod+shift+z", "mod+y", "shift+z"], "redo", "Redo the last undone step"],
  [["enter", "space"], "finish", "Finish the object (save it with the chosen label)"],
  [["escape"], "discard", "Discard the object in progress / close this help"],
  [["c"], "tool-click", "Click tool (left = positive, right or Shift/Alt + left = negative)"],
  [["b"], "tool-brush", "Brush: paint the mask"],
  [["e"], "tool-erase", "Eraser: erase from the mask"],
  [["["], "brush-smaller", "Smaller brush"],
  [["]"], "brush-larger", "Larger brush"],
  [["t"], "threshold-up", "Raise the threshold (smaller mask)"],
  [["shift+t"], "threshold-down", "Lower the threshold (larger mask)"],
  [["o"], "opacity-toggle", "Toggle overlay opacity (hidden / visible)"],
  [["."], "opacity-up", "More opaque masks"],
  [[","], "opacity-down", "More transparent masks"],
  [["l"], "outline-toggle", "Outline only: show objects as outlines, without fills (toggle)"],
  [["+", "="], "zoom-in", "Zoom in"],
  [["-"], "zoom-out", "Zoom out"],
  [["0"], "fit", "Fit the image to the window"],
  [["arrowleft"], "pan-left", "Pan left"],
  [["arrowright"], "pan-right", "Pan right"],
  [["arrowup"], "pan-up", "Pan up"],
  [["arrowdown"], "pan-down", "Pan down"],
  [["pageup"], "prev-image", "Previous image"],
  [["pagedown"], "next-image", "Next image"],
]);

const TABLE = new Map(SHORTCUTS.flatMap(([combos, command]) => combos.map((c) => [c, command])));

/**
 * The combo string of a key event: modifiers ("mod" = Ctrl or Cmd, "alt", "shift") + the key, lowercased.
 * Shift is dropped for single printable non-letter keys, whose character already says it ("?", "+").
 * @param {{key: string, ctrlKey?: boolean, metaKey?: boolean, altKey?: boolean, shiftKey?: boolean}} ev
 * @returns {string}
 */
export function comboOf(ev) {
  let key = ev.key === " " ? "space" : String(ev.key || "").toLowerCase();
  const printableSymbol = key.length === 1 && !/[a-z]/.test(key);
  const parts = [];
  if (ev.ctrlKey || ev.metaKey) parts.push("mod");
  if (ev.altKey) parts.push("alt");
  if (ev.shiftKey && !printableSymbol) parts.push("shift");
  parts.push(key);
  return parts.join("+");
}

/**
 * The command bound to a key event, or null.
 * @param {object} ev KeyboardEvent-like
 * @returns {string|null}
 */
export function commandFor(ev) {
  return TABLE.get(comboOf(ev)) || null;
}

/** Whether key events from this element belong to it (text fields), not to the shortcuts. */
export function isTypingTarget(el) {
  if (!el || !el.tagName) return false;
  const tag = el.tagName.toLowerCase();
  return tag === "textarea" || (tag === "input" && !["range", "checkbox", "button"].includes(el.type)) || Boolean(el.isContentEditable);
}

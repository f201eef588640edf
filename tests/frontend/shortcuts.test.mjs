// Keyboard shortcuts: combos, lookup and the help table.
import { test } from "node:test";
import assert from "node:assert/strict";
import { SHORTCUTS, comboOf, commandFor, isTypingTarget } from "../../frontend/shortcuts.js";

test("combos name modifiers; shifted symbols are named by their character", () => {
  assert.equal(comboOf({ key: "Z", ctrlKey: true, shiftKey: true }), "mod+shift+z");
  assert.equal(comboOf({ key: "z", metaKey: true }), "mod+z");
  assert.equal(comboOf({ key: "?", shiftKey: true }), "?");
  assert.equal(comboOf({ key: " " }), "space");
  assert.equal(comboOf({ key: "ArrowLeft" }), "arrowleft");
});

test("commands for the documented keys", () => {
  assert.equal(commandFor({ key: "z", ctrlKey: true }), "undo");
  assert.equal(commandFor({ key: "Z", ctrlKey: true, shiftKey: true }), "redo");
  assert.equal(commandFor({ key: "y", ctrlKey: true }), "redo");
  assert.equal(commandFor({ key: "Enter" }), "finish");
  assert.equal(commandFor({ key: "?", shiftKey: true }), "help");
  assert.equal(commandFor({ key: "b" }), "tool-brush");
  assert.equal(commandFor({ key: "q" }), null);
});

test("no combo is bound twice and every row has a description", () => {
  const combos = SHORTCUTS.flatMap(([c]) => c);
  assert.equal(new Set(combos).size, combos.length);
  for (const [, command, description] of SHORTCUTS) assert.ok(command && description.length > 5);
});

test("typing in text fields is not a shortcut", () => {
  assert.equal(isTypingTarget({ tagName: "TEXTAREA" }), true);
  assert.equal(isTypingTarget({ tagName: "INPUT", type: "text" }), true);
  assert.equal(isTypingTarget({ tagName: "INPUT", type: "range" }), false);
  assert.equal(isTypingTarget({ tagName: "CANVAS" }), false);
});

test("display shortcuts: outline only and mask opacity", () => {
  assert.equal(commandFor({ key: "l" }), "outline-toggle");
  assert.equal(commandFor({ key: "." }), "opacity-up");
  assert.equal(commandFor({ key: "," }), "opacity-down");
  assert.equal(commandFor({ key: "o" }), "opacity-toggle");
});

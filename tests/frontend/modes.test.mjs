// The mode picker: people's names, a one-line tooltip with the papers' name, and a fallback for unknown modes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { modeDetail, modeOptions, pickMode } from "../../frontend/modes.js";
import { modesOf } from "../../frontend/panel.js";

const modes = [
  { name: "f-brs-b", title: "Precise", summary: "Corrects the network after every click.", technical: "f-BRS-B" },
  { name: "nobrs", title: "Fast", summary: "The network alone.", technical: "NoBRS" },
];

test("options show people's names; the tooltip and the details line carry the papers' names", () => {
  const opts = modeOptions(modes);
  assert.deepEqual(opts.map((o) => [o.value, o.text]), [["f-brs-b", "Precise"], ["nobrs", "Fast"]]);
  assert.match(opts[0].tooltip, /f-BRS-B/);
  assert.ok(!opts[0].tooltip.includes("\n"));
  assert.equal(modeDetail(modes, "nobrs"), "NoBRS · nobrs — The network alone.");
  assert.equal(modeDetail(modes, "bogus"), "");
});

test("an unknown configured mode falls back to an offered one, with a sentence", () => {
  assert.deepEqual(pickMode(modes, "nobrs"), { mode: "nobrs", notice: null });
  const picked = pickMode(modes, "f-brs-x");
  assert.equal(picked.mode, "f-brs-b");
  assert.match(picked.notice, /f-brs-x.*not available.*Precise/);
});

test("the page offers the config's modes this client knows, else the bare names", () => {
  assert.deepEqual(modesOf({ modes: [...modes, { name: "future-mode", title: "New", summary: "", technical: "X" }] }).map((m) => m.name),
    ["f-brs-b", "nobrs"]);
  const bare = modesOf({});
  assert.ok(bare.length >= 7 && bare.some((m) => m.name === "grabcut"));
});

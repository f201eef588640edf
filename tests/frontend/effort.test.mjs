// Active editing seconds per object: gaps between input events count up to the idle limit.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createEffortTimer, effortText } from "../../frontend/effort.js";

test("time between events counts, a long pause counts as the idle limit", () => {
  const t = createEffortTimer({ idleMs: 10_000 });
  t.reset(0, 0);
  t.touch(2_000);
  t.touch(5_000);
  assert.equal(t.seconds(), 5);
  t.touch(65_000); // a minute away from the desk
  assert.equal(t.seconds(), 15);
  assert.equal(t.seconds(66_500), 16.5, "the running gap since the last event counts too");
  assert.equal(t.seconds(200_000), 25, "…up to the idle limit");
});

test("re-editing an object continues from its stored seconds; a new object starts from zero", () => {
  const t = createEffortTimer();
  t.reset(42, 1_000);
  t.touch(4_000);
  assert.equal(t.seconds(), 45);
  t.reset(0, 10_000);
  assert.equal(t.seconds(), 0);
  const fresh = createEffortTimer();
  fresh.touch(100);
  assert.equal(fresh.seconds(), 0, "the first event only starts the clock");
});

test("the readout of effort figures", () => {
  assert.equal(effortText({ objects: 12, clicks_per_object: 4.25, seconds_per_object: 17.6 }), "4.3 clicks · 18 s per object (12 objects)");
  assert.equal(effortText({ objects: 1, clicks_per_object: 3, seconds_per_object: null }), "3.0 clicks · ? s per object (1 object)");
  assert.equal(effortText({ objects: 0 }), "no objects yet");
  assert.equal(effortText(undefined), "no objects yet");
});

// Active editing time of the object in progress: time between the annotator's input events, each gap
// counted up to `idleMs` (a pause longer than that counts as `idleMs`: the annotator looked away).
// Pure apart from the clock it is given; the annotator page feeds it pointer and key events.

export const IDLE_MS = 10_000;

/**
 * A timer of active seconds.
 * @param {{idleMs?: number, startSeconds?: number}} [opts] `startSeconds`: time already spent (re-editing)
 * @returns {{touch: (nowMs: number) => void, seconds: (nowMs?: number) => number,
 *   reset: (startSeconds?: number, nowMs?: number) => void}}
 */
export function createEffortTimer({ idleMs = IDLE_MS, startSeconds = 0 } = {}) {
  let base = Number(startSeconds) || 0;
  let activeMs = 0;
  let last = null;
  return {
    /** An input event at `nowMs` (performance.now()). */
    touch(nowMs) {
      if (last !== null && nowMs > last) activeMs += Math.min(nowMs - last, idleMs);
      last = nowMs;
    },
    /** Seconds spent so far (including the gap since the last event, up to `idleMs`, when `nowMs` is given). */
    seconds(nowMs) {
      const open = nowMs !== undefined && last !== null && nowMs > last ? Math.min(nowMs - last, idleMs) : 0;
      return Math.round((base + (activeMs + open) / 1000) * 10) / 10;
    },
    /** Start a new object (or re-edit one that already took `startSeconds`); `nowMs` starts its clock. */
    reset(startSeconds = 0, nowMs = null) {
      base = Number(startSeconds) || 0;
      activeMs = 0;
      last = nowMs;
    },
  };
}

/**
 * "4.2 clicks · 18 s per object (12 objects)" from effort figures; "no objects yet" without any.
 * @param {{objects: number, clicks_per_object: number|null, seconds_per_object: number|null}} e
 */
export function effortText(e) {
  if (!e || !e.objects) return "no objects yet";
  const clicks = e.clicks_per_object === null || e.clicks_per_object === undefined ? "?" : e.clicks_per_object.toFixed(1);
  const secs = e.seconds_per_object === null || e.seconds_per_object === undefined ? "?" : Math.round(e.seconds_per_object);
  return `${clicks} clicks · ${secs} s per object (${e.objects} object${e.objects === 1 ? "" : "s"})`;
}

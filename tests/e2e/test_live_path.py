"""The live click path in headless Chromium on the default network (mode f-brs-b, the project's default):
the first click never waits behind warm-up or prefetch, the mask after a reload, a reconnect or an undo after a
reload is the one the annotator saw (pixel for pixel) and the next click continues from it, brush corrections of
a finished object survive editing it, and a double-click is one click."""
from __future__ import annotations

import json
import time

import pytest

from .test_annotator import click_image, data, drag_on_image, login, wait_data, wait_mask, wait_ready

pytestmark = pytest.mark.e2e

STATE_JS = "/static/frontend/state.js"
RLE_JS = "/static/frontend/rle.js"


def mask_digest(page) -> dict:
    """{"area", "hash"} of the in-progress object's binary mask exactly as the page shows it."""
    return page.evaluate("""async (url) => {
        const m = await import(url);
        const mask = m.currentMask(window.clicklabel.store.getState());
        if (!mask) return {area: 0, hash: 0};
        let h = 2166136261, area = 0;
        for (let i = 0; i < mask.length; i++) { h = Math.imul(h ^ (mask[i] ? 1 : 0), 16777619) >>> 0; area += mask[i] ? 1 : 0; }
        return {area, hash: h};
    }""", STATE_JS)


def mask_at(page, x: int, y: int) -> int:
    """The in-progress mask's value at image pixel (x, y) (0 or 1)."""
    return page.evaluate("""async ([url, x, y]) => {
        const m = await import(url);
        const s = window.clicklabel.store.getState();
        const mask = m.currentMask(s);
        return mask ? (mask[y * s.image.width + x] ? 1 : 0) : 0;
    }""", [STATE_JS, x, y])


def wait_saved(page) -> None:
    """Until the autosaved draft is the current state."""
    page.wait_for_function("() => { const d = document.getElementById('annotator').dataset;"
                           " return d.savedRevision === d.revision; }", timeout=15_000)


def new_page(browser):
    context = browser.new_context(viewport={"width": 1100, "height": 700})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return context, page, errors


def test_first_click_goes_before_the_prefetch_and_the_status_says_preparing(live_stack, browser):
    """Open a large image whose next image gets prefetched and click at once: the click is answered before
    the prefetch of the next image finishes, and "preparing image…" shows while the open image warms up."""
    stack = live_stack
    first, following = stack.seed["big_image_ids"]
    scale = stack.seed["big_size"][0] / stack.seed["width"]
    cx, cy = (round(v * scale) for v in stack.seed["centre"])
    context, page, errors = new_page(browser)
    received: list[tuple[float, dict]] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda payload: received.append(
        (time.monotonic(), json.loads(payload)))))
    page.add_init_script("""window.__statusTexts = [];
        new MutationObserver(() => { const el = document.getElementById('status-state');
            if (el) window.__statusTexts.push(el.textContent); })
          .observe(document, {subtree: true, childList: true, characterData: true});""")
    login(page, stack, "annotator", f"/annotate/{first}/")
    wait_ready(page)
    click_image(page, cx, cy)
    wait_mask(page, 1)
    # the prefetch of the next image may complete later, never before the first click's mask
    page.wait_for_timeout(200)
    kinds = [(m["type"], m.get("image_id"), m.get("seq")) for _, m in received]
    mask_at_ = next(i for i, k in enumerate(kinds) if k[0] == "mask" and k[2] == 1)
    prefetched = [i for i, k in enumerate(kinds) if k[0] == "warm" and k[1] == following]
    assert not prefetched or prefetched[0] > mask_at_, f"the prefetch finished before the click: {kinds}"
    texts = page.evaluate("() => window.__statusTexts")
    assert any("preparing image" in t for t in texts), f"no 'preparing image…' status: {sorted(set(texts))}"
    assert errors == []
    context.close()


def test_reload_reconnect_and_undo_after_reload_show_the_same_mask(live_stack, browser):
    """Three quick clicks (the live path coalesces them), a fourth; reload: the same mask, pixel for pixel; undo
    after the reload gives the three-click mask seen before; the fourth click again gives the same mask; a dropped
    connection changes nothing either."""
    stack = live_stack
    image_id = stack.seed["net_image_ids"][0]
    cx, cy = stack.seed["centre"]
    context, page, errors = new_page(browser)
    login(page, stack, "annotator", f"/annotate/{image_id}/")
    wait_ready(page)
    click_image(page, cx, cy)
    click_image(page, cx + 25, cy - 8)
    click_image(page, 200, 140, button="right")
    wait_mask(page, 3)
    three = mask_digest(page)
    click_image(page, cx + 40, cy, button="right")
    wait_mask(page, 4)
    four = mask_digest(page)
    assert four["area"] > 0 and three != four
    wait_saved(page)

    page.reload()
    wait_ready(page)
    wait_mask(page, 4)
    assert mask_digest(page) == four, "the mask after a reload is the one shown before it"

    page.locator("#canvas").focus()
    page.keyboard.press("Control+z")
    wait_mask(page, 3)
    assert mask_digest(page) == three, "undo after a reload gives the mask shown before the fourth click"

    click_image(page, cx + 40, cy, button="right")
    wait_mask(page, 4)
    assert mask_digest(page) == four, "the next click continues from the mask shown"

    page.evaluate("() => window.clicklabel.socket.drop()")
    page.wait_for_function("() => document.getElementById('annotator').dataset.connection !== 'ready'",
                           timeout=5_000)
    wait_ready(page)
    wait_data(page, "pending", "0")
    assert mask_digest(page) == four, "a reconnect keeps the mask"
    assert errors == []
    context.close()


def test_brush_corrections_of_a_finished_object_survive_editing_it(live_stack, browser):
    """Click, brush a stripe away from the object, finish; edit the object and click again: the stripe is still
    in the mask shown and in the annotation saved."""
    stack = live_stack
    image_id = stack.seed["net_image_ids"][1]
    cx, cy = stack.seed["centre"]
    context, page, errors = new_page(browser)
    login(page, stack, "annotator", f"/annotate/{image_id}/")
    wait_ready(page)
    click_image(page, cx, cy)
    wait_mask(page, 1)
    assert mask_at(page, 40, 145) == 0
    page.locator("#canvas").focus()
    page.keyboard.press("b")
    drag_on_image(page, (20, 145), (60, 145))
    assert mask_at(page, 40, 145) == 1
    page.keyboard.press("c")
    page.locator("#canvas").focus()
    page.keyboard.press("Enter")
    wait_data(page, "objects", "1", 15_000)
    saved = page.evaluate("() => window.clicklabel.store.getState().objects[0]")

    page.click(f"#object-list li[data-object-id='{saved['id']}'] button:text('Edit')")
    wait_data(page, "clicks", "1", 5_000)
    assert mask_at(page, 40, 145) == 1
    click_image(page, 225, 20, button="right")
    wait_mask(page, 2)
    assert mask_at(page, 40, 145) == 1, "the brush stripe survives the next click"
    assert mask_at(page, cx, cy) == 1
    page.locator("#canvas").focus()
    page.keyboard.press("Enter")
    page.wait_for_function("() => window.clicklabel.store.getState().objects[0].version === 2", timeout=15_000)
    stripe = page.evaluate("""async ([url, x, y]) => {
        const m = await import(url);
        const o = window.clicklabel.store.getState().objects[0];
        const {mask, width} = m.decodeRle(o.rle);
        return mask[y * width + x]; }""", [RLE_JS, 40, 145])
    assert stripe == 1, "the saved annotation keeps the brush stripe"
    assert errors == []
    context.close()


def test_a_double_click_is_one_click(live_stack, browser):
    stack = live_stack
    image_id = stack.seed["net_image_ids"][2]
    cx, cy = stack.seed["centre"]
    context, page, errors = new_page(browser)
    login(page, stack, "annotator", f"/annotate/{image_id}/")
    wait_ready(page)
    pos = page.evaluate("""([x, y]) => { const v = window.clicklabel.store.getState().view;
        return {x: (x + 0.5) * v.scale + v.tx, y: (y + 0.5) * v.scale + v.ty}; }""", [cx, cy])
    page.locator("#canvas").dblclick(position=pos)
    page.wait_for_timeout(300)
    wait_data(page, "pending", "0")
    assert data(page, "clicks") == "1"
    assert int(data(page, "mask-area")) > 0
    page.locator("#canvas").focus()
    page.keyboard.press("Control+z")
    wait_data(page, "clicks", "0", 5_000)
    assert errors == []
    context.close()

"""End to end in headless Chromium against the live stack (daphne + Celery click worker + Redis),
mode GrabCut so no weights are needed: log in, click, see the mask, undo, redo, threshold, finish with
a label, reload (nothing lost), find the object in the COCO export; reconnect; submit and review."""
from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.e2e

MASK_TIMEOUT_MS = 90_000


def login(page, stack, who: str, next_url: str) -> None:
    user, password = stack.seed[who]
    page.goto(f"{stack.base_url}{next_url}")
    assert "/accounts/login/" in page.url, "anonymous users are sent to the login page"
    page.fill("#id_username", user)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"**{next_url}")


def data(page, name: str) -> str:
    return page.get_attribute("#annotator", f"data-{name}")


def wait_data(page, name: str, value: str, timeout: int = MASK_TIMEOUT_MS) -> None:
    page.wait_for_function(
        "([n, v]) => document.getElementById('annotator').dataset[n] === v", arg=[name, value], timeout=timeout)


def wait_ready(page) -> None:
    wait_data(page, "ready", "1", 30_000)
    wait_data(page, "connection", "ready", 30_000)


def click_image(page, x: int, y: int, button: str = "left") -> None:
    """Click the canvas on image pixel (x, y), converting through the page's current view."""
    pos = page.evaluate("""([x, y]) => { const v = window.clicklabel.store.getState().view;
        return {x: (x + 0.5) * v.scale + v.tx, y: (y + 0.5) * v.scale + v.ty}; }""", [x, y])
    page.locator("#canvas").click(position=pos, button=button)


def drag_on_image(page, start: tuple[int, int], end: tuple[int, int]) -> None:
    """Press, move and release the left button from image pixel `start` to `end`."""
    points = page.evaluate("""([a, b]) => { const v = window.clicklabel.store.getState().view;
        const r = document.getElementById('canvas').getBoundingClientRect();
        const f = ([x, y]) => ({x: r.left + (x + 0.5) * v.scale + v.tx, y: r.top + (y + 0.5) * v.scale + v.ty});
        return [f(a), f(b)]; }""", [list(start), list(end)])
    page.mouse.move(points[0]["x"], points[0]["y"])
    page.mouse.down()
    page.mouse.move(points[1]["x"], points[1]["y"], steps=8)
    page.mouse.up()


def wait_mask(page, clicks: int) -> int:
    """Wait until the mask for `clicks` clicks has arrived; return its area."""
    wait_data(page, "clicks", str(clicks))
    wait_data(page, "pending", "0")
    return int(data(page, "mask-area"))


def timing(page) -> tuple[float, float]:
    """(worker model_ms, browser click-to-mask round trip ms) of the last mask shown."""
    st = page.evaluate("() => window.clicklabel.store.getState().status")
    return st["ms"], st["rtt"]


def api_get(page, stack, path: str):
    response = page.request.get(f"{stack.base_url}{path}")
    assert response.ok, f"GET {path}: {response.status} {response.text()[:300]}"
    return response.json()


def test_click_undo_redo_finish_reload_export(live_stack, browser, screenshot_dir):
    stack = live_stack
    image_id = stack.seed["image_ids"][0]
    cx, cy = stack.seed["centre"]
    context = browser.new_context(viewport={"width": 1100, "height": 700})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    login(page, stack, "annotator", f"/annotate/{image_id}/")
    wait_ready(page)

    # a positive click on the blob gives a mask, with timing and device in the status line
    click_image(page, cx, cy)
    area1 = wait_mask(page, 1)
    assert 0 < area1 < stack.seed["width"] * stack.seed["height"] / 2
    assert "ms/click" in page.inner_text("#status-timing")
    first_ms, first_rtt = timing(page)
    assert first_rtt >= first_ms > 0

    # a negative click (right button) on the background refines it
    click_image(page, 10, 150, button="right")
    area2 = wait_mask(page, 2)
    assert area2 > 0
    second_ms, second_rtt = timing(page)
    print(f"\n[e2e latency, grabcut 240x160] click 1: model {first_ms:.0f} ms, round trip {first_rtt:.0f} ms;"
          f" click 2: model {second_ms:.0f} ms, round trip {second_rtt:.0f} ms")

    # undo brings back the one-click mask at once; redo the two-click one
    page.locator("#canvas").focus()
    page.keyboard.press("Control+z")
    wait_data(page, "clicks", "1", 5_000)
    assert int(data(page, "mask-area")) == area1
    page.click("#redo")
    wait_data(page, "clicks", "2", 5_000)
    assert int(data(page, "mask-area")) == area2

    # the threshold is applied in the page: the mask changes, no new request is sent
    seq = data(page, "seq")
    page.evaluate("""() => { const t = document.getElementById('threshold');
        t.value = '0.95'; t.dispatchEvent(new Event('input')); }""")
    assert int(data(page, "mask-area")) <= area2
    assert data(page, "seq") == seq
    page.evaluate("""() => { const t = document.getElementById('threshold');
        t.value = '0.49'; t.dispatchEvent(new Event('input')); }""")
    assert int(data(page, "mask-area")) == area2

    # finish with a label: saved through REST, listed, and the next object starts empty
    page.select_option("#label-select", label=stack.seed["label_name"])
    page.locator("#canvas").focus()
    page.keyboard.press("Enter")
    wait_data(page, "objects", "1", 15_000)
    assert data(page, "clicks") == "0"
    saved = api_get(page, stack, f"/api/annotations/?image={image_id}")
    saved = saved.get("results", saved)
    assert len(saved) == 1
    assert saved[0]["area"] == area2
    assert saved[0]["label"] == stack.seed["label_id"]
    assert saved[0]["mode"] == "grabcut"
    assert len(saved[0]["clicks"]) == 2

    # an unfinished second object is autosaved ...
    click_image(page, 187, 52)
    area3 = wait_mask(page, 1)
    page.wait_for_function("() => { const d = document.getElementById('annotator').dataset;"
                           " return d.savedRevision === d.revision; }", timeout=15_000)
    page.screenshot(path=str(screenshot_dir / "annotator.png"))

    # ... so a reload loses nothing: the finished object and the in-progress clicks come back
    page.reload()
    wait_ready(page)
    wait_data(page, "objects", "1", 15_000)
    assert wait_mask(page, 1) == area3
    assert page.evaluate("() => window.clicklabel.store.getState().current.clicks") == [
        {"x": 187, "y": 52, "positive": True}]

    assert errors == []
    context.close()

    # the finished object is in the COCO RLE export (exports are a manager's right)
    context = browser.new_context()
    page = context.new_page()
    login(page, stack, "manager", f"/projects/{stack.seed['project_id']}/")
    export = api_get(page, stack, f"/api/projects/{stack.seed['project_id']}/export/?format=coco-rle")
    mine = [a for a in export["annotations"] if a["image_id"] == image_id]
    assert len(mine) == 1
    assert mine[0]["area"] == area2
    category = {c["id"]: c["name"] for c in export["categories"]}[mine[0]["category_id"]]
    assert category == stack.seed["label_name"]
    assert mine[0]["segmentation"]["size"] == [stack.seed["height"], stack.seed["width"]]
    context.close()


def test_reconnect_then_submit_and_review(live_stack, browser, screenshot_dir):
    stack = live_stack
    image_id = stack.seed["image_ids"][1]
    cx, cy = stack.seed["centre"]
    annotator = browser.new_context(viewport={"width": 1100, "height": 700})
    page = annotator.new_page()
    login(page, stack, "annotator", f"/annotate/{image_id}/")
    wait_ready(page)
    click_image(page, cx, cy)
    wait_mask(page, 1)

    # drop the websocket: the page reconnects by itself and the next click carries the full list
    page.evaluate("() => window.clicklabel.socket.drop()")
    page.wait_for_function("() => document.getElementById('annotator').dataset.connection !== 'ready'", timeout=5_000)
    wait_data(page, "connection", "ready", 30_000)
    click_image(page, cx + 30, cy)
    area = wait_mask(page, 2)
    assert area > 0

    # brush touch-up adds pixels, the eraser removes them, undo takes the erasing back
    page.locator("#canvas").focus()
    page.keyboard.press("b")
    drag_on_image(page, (20, 140), (60, 140))
    brushed = int(data(page, "mask-area"))
    assert brushed > area
    page.keyboard.press("e")
    drag_on_image(page, (20, 140), (60, 140))
    assert int(data(page, "mask-area")) == area
    page.keyboard.press("Control+z")
    assert int(data(page, "mask-area")) == brushed
    page.keyboard.press("c")
    page.locator("#canvas").focus()
    page.keyboard.press("Enter")
    wait_data(page, "objects", "1", 15_000)
    page.click("#submit")
    page.wait_for_function(
        "(id) => !location.pathname.endsWith(`/annotate/${id}/`) ||"
        " document.getElementById('status-error').textContent.includes('Submitted')", arg=image_id, timeout=15_000)
    assert api_get(page, stack, f"/api/images/{image_id}/")["status"] == "in_review"
    annotator.close()

    reviewer = browser.new_context(viewport={"width": 1100, "height": 700})
    page = reviewer.new_page()
    login(page, stack, "reviewer", f"/review/{image_id}/")
    page.wait_for_selector('#reviewer[data-ready="1"]')
    assert page.locator("#object-list li[data-object-id]").count() == 1
    page.click("#reject")
    assert "what should be fixed" in page.inner_text("#review-result")
    page.fill("#review-comment", "The right edge is missing.")
    page.click("#reject")
    page.wait_for_selector('#reviewer[data-decision="reject"]')
    page.screenshot(path=str(screenshot_dir / "review.png"))
    assert api_get(page, stack, f"/api/images/{image_id}/")["status"] == "rejected"
    reviewer.close()


def test_reedit_finished_object_with_clicks(live_stack, browser):
    """Edit on a finished object: its clicks come back, new clicks carry prev_mask, finishing PATCHes it."""
    stack = live_stack
    image_id = stack.seed["image_ids"][2]
    cx, cy = stack.seed["centre"]
    context = browser.new_context(viewport={"width": 1100, "height": 700})
    page = context.new_page()
    sent: list[dict] = []
    page.on("websocket", lambda ws: ws.on("framesent", lambda payload: sent.append(json.loads(payload))))
    login(page, stack, "annotator", f"/annotate/{image_id}/")
    wait_ready(page)

    # view controls: keys and wheel zoom, arrows pan, 0 fits again; ? opens the shortcut help
    view = "() => window.clicklabel.store.getState().view"
    fitted = page.evaluate(view)
    page.locator("#canvas").focus()
    page.keyboard.press("+")
    assert page.evaluate(view)["scale"] > fitted["scale"]
    page.keyboard.press("ArrowLeft")
    assert page.evaluate(view)["tx"] != fitted["tx"]
    page.keyboard.press("0")
    assert page.evaluate(view) == fitted
    page.locator("#canvas").hover()
    page.mouse.wheel(0, -300)
    page.wait_for_function(f"() => ({view})().scale > {fitted['scale']}", timeout=5_000)
    page.keyboard.press("0")
    page.keyboard.press("?")
    assert page.is_visible("#help") and "Undo" in page.inner_text("#help")
    page.keyboard.press("Escape")
    assert not page.is_visible("#help")

    page.select_option("#label-select", label="box")
    click_image(page, cx, cy)
    wait_mask(page, 1)
    page.locator("#canvas").focus()
    page.keyboard.press("Enter")
    wait_data(page, "objects", "1", 15_000)
    first = api_get(page, stack, f"/api/annotations/?image={image_id}")
    first = first.get("results", first)[0]

    page.click(f"#object-list li[data-object-id='{first['id']}'] button:text('Edit')")
    wait_data(page, "clicks", "1", 5_000)
    assert int(data(page, "mask-area")) == first["area"], "the saved mask shows while editing"
    click_image(page, cx + 45, cy, button="right")
    wait_mask(page, 2)
    clicks = [m for m in sent if m.get("type") == "click"]
    assert clicks[-1]["prev_mask"] == {"annotation_id": first["id"]}
    assert len(clicks[-1]["clicks"]) == 2
    page.locator("#canvas").focus()
    page.keyboard.press("Enter")
    page.wait_for_function("() => window.clicklabel.store.getState().objects[0].version === 2", timeout=15_000)
    after = api_get(page, stack, f"/api/annotations/?image={image_id}")
    after = after.get("results", after)
    assert len(after) == 1 and after[0]["id"] == first["id"]
    assert after[0]["version"] == 2
    assert len(after[0]["clicks"]) == 2

    # the label picker remembers the last label (localStorage) for the next page
    page.reload()
    wait_ready(page)
    assert page.eval_on_selector("#label-select", "s => s.selectedOptions[0].text") == "box"
    context.close()

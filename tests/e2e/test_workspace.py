"""End to end in headless Chromium against the live stack: a project whose configured mode and model have
disappeared still annotates (a working mode, a visible notice), and the canvas shows every object in its own
colour outlined in its label's colour, the edited object distinct, outlines only on demand."""
from __future__ import annotations

import json
import sys

import pytest

from tests.e2e.test_annotator import click_image, data, login, wait_data, wait_mask, wait_ready

pytestmark = pytest.mark.e2e

BROKEN_PROJECT = """
import hashlib, json, os, sys
sys.path.insert(0, os.getcwd())
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings.base")
import django
django.setup()
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from labeling.models import Image, Label, Membership, Project, Role
source = Image.objects.order_by("id").first()
data = source.file.read()
project = Project.objects.create(name="Settings gone", default_mode="f-brs-x", default_model="gone-model")
Membership.objects.create(project=project, user=get_user_model().objects.get(username="alice"), role=Role.ANNOTATOR)
Label.objects.create(project=project, name="thing", color="#ff3b30")
image = Image(project=project, original_name="copy.png", checksum=hashlib.sha256(data).hexdigest())
image.file.save("copy.png", ContentFile(data), save=False)
image.width, image.height = source.width, source.height
image.save()
print(json.dumps({"image_id": image.pk}))
"""


def test_a_project_with_a_vanished_mode_and_model_annotates_with_a_notice(live_stack, browser):
    stack = live_stack
    image_id = json.loads(stack.run([sys.executable, "-c", BROKEN_PROJECT]).strip().splitlines()[-1])["image_id"]
    cx, cy = stack.seed["centre"]
    context = browser.new_context(viewport={"width": 1100, "height": 700})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    login(page, stack, "annotator", f"/annotate/{image_id}/")
    wait_ready(page)

    # the first click gives a mask instead of "queued…" forever
    click_image(page, cx, cy)
    wait_data(page, "clicks", "1", 5_000)
    wait_data(page, "pending", "0", 45_000)
    assert int(data(page, "mask-area")) > 0
    assert page.evaluate("() => window.clicklabel.store.getState().status.error") in (None, "")

    # in a mode the picker shows, with a sentence saying why it is not the project's
    assert page.eval_on_selector("#mode-select", "s => s.value") == "f-brs-b"
    assert page.eval_on_selector("#mode-select", "s => s.selectedOptions[0].textContent") == "Precise"
    assert "f-BRS-B" in page.inner_text("#mode-detail")
    notice = page.locator("#engine-notice")
    assert notice.is_visible() and "not available" in notice.inner_text()
    assert errors == []
    context.close()


PIXEL = """async ([x, y]) => {
    await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    const v = window.clicklabel.store.getState().view;
    const canvas = document.getElementById('canvas');
    const dpr = window.devicePixelRatio || 1;
    const sx = Math.floor(((x + 0.5) * v.scale + v.tx) * dpr), sy = Math.floor(((y + 0.5) * v.scale + v.ty) * dpr);
    return Array.from(canvas.getContext('2d').getImageData(sx, sy, 1, 1).data.slice(0, 3));
}"""


LEFTMOST = """async ([id, y]) => {
    const { decodeRle } = await import('/static/frontend/rle.js');
    const obj = window.clicklabel.store.getState().objects.find((o) => o.id === id);
    const { mask, width } = decodeRle(obj.rle);
    for (let x = 0; x < width; x++) if (mask[y * width + x]) return x;
    return -1;
}"""


def pixel(page, x: int, y: int) -> list[int]:
    """The canvas colour (r, g, b) at the centre of image pixel (x, y)."""
    return page.evaluate(PIXEL, [x, y])


def rgb(hex_color: str) -> list[int]:
    return [int(hex_color[i:i + 2], 16) for i in (1, 3, 5)]


def close(a: list[int], b: list[int], tol: int = 3) -> bool:
    return all(abs(p - q) <= tol for p, q in zip(a, b))


def test_objects_have_their_own_colours_label_outlines_and_an_outline_only_view(live_stack, browser):
    stack = live_stack
    image_id = stack.seed["image_ids"][0]
    cx, cy = stack.seed["centre"]
    context = browser.new_context(viewport={"width": 1100, "height": 700})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    login(page, stack, "annotator", f"/annotate/{image_id}/")
    wait_ready(page)
    assert page.is_hidden("#engine-notice")

    # two objects of the same label: the ellipse and the rectangle
    page.select_option("#label-select", label=stack.seed["label_name"])
    before = int(data(page, "objects"))
    for x, y in ((cx, cy), (187, 52)):
        click_image(page, x, y)
        wait_mask(page, 1)
        page.locator("#canvas").focus()
        page.keyboard.press("Enter")
        before += 1
        wait_data(page, "objects", str(before), 15_000)
    objects = page.evaluate("() => window.clicklabel.store.getState().objects")
    ellipse, rectangle = objects[-2], objects[-1]
    # each object carries the annotator's active seconds; the panel shows their averages
    assert all(o["edit_seconds"] and 0 < o["edit_seconds"] < 120 for o in (ellipse, rectangle))
    page.wait_for_function("() => document.getElementById('effort-user').textContent.includes('per object')",
                           timeout=10_000)
    colors = page.evaluate("""async (ids) => { const m = await import('/static/frontend/overlay.js');
        return ids.map((id) => m.objectColor(id)); }""", [ellipse["id"], rectangle["id"]])
    assert colors[0] != colors[1]
    label = rgb("#ff3b30")

    # fills at full opacity: each object its own colour; the outline (left edge of the ellipse) the label's
    page.evaluate("() => { const o = document.getElementById('opacity'); o.value = '1'; o.dispatchEvent(new Event('input')); }")
    assert close(pixel(page, cx, cy), rgb(colors[0]))
    assert close(pixel(page, 187, 52), rgb(colors[1]))
    edge_x = page.evaluate(LEFTMOST, [ellipse["id"], cy])  # the object's leftmost pixel on its centre row
    assert 0 < edge_x < cx and close(pixel(page, edge_x, cy), label), pixel(page, edge_x, cy)
    swatch = page.eval_on_selector(f'#object-list li[data-object-id="{ellipse["id"]}"] .swatch',
                                   "s => [getComputedStyle(s).backgroundColor, getComputedStyle(s).borderTopColor]")
    assert swatch == [f"rgb({', '.join(map(str, rgb(colors[0])))})", f"rgb({', '.join(map(str, label))})"]

    # the object being edited: filled in its label's colour and outlined in white
    page.click(f'#object-list li[data-object-id="{ellipse["id"]}"] button:has-text("Edit")')
    page.wait_for_function(f"() => window.clicklabel.store.getState().current.annotationId === {ellipse['id']}")
    assert close(pixel(page, edge_x, cy), [255, 255, 255])
    assert close(pixel(page, cx + 20, cy), label), "inside, away from the click markers"
    assert close(pixel(page, 187, 52), rgb(colors[1])), "the other object keeps its colour"
    page.once("dialog", lambda dialog: dialog.accept())  # "Discard the object in progress?"
    page.locator("#canvas").focus()
    page.keyboard.press("Escape")
    page.wait_for_function("() => window.clicklabel.store.getState().current.annotationId === null")

    # outline only (L): no fills, the picture shows through; outlines stay
    page.locator("#canvas").focus()
    page.keyboard.press("l")
    assert data(page, "outline") == "1" and page.is_checked("#outline-only")
    assert close(pixel(page, cx, cy), [235, 140, 40], tol=6), "the ellipse's own pixels"
    assert close(pixel(page, edge_x, cy), label)
    page.keyboard.press("l")
    assert close(pixel(page, cx, cy), rgb(colors[0]))

    # the opacity shortcuts
    page.keyboard.press(",")
    assert page.evaluate("() => window.clicklabel.store.getState().opacity") == pytest.approx(0.9)
    page.keyboard.press(".")
    assert page.evaluate("() => window.clicklabel.store.getState().opacity") == pytest.approx(1.0)
    page.keyboard.press("?")
    help_text = page.inner_text("#help")
    assert "Outline only" in help_text and "More transparent masks" in help_text
    assert errors == []

    # the project page: thumbnails load, and the image shows its number of objects
    page.goto(f"{stack.base_url}/projects/{stack.seed['project_id']}/")
    row = page.locator(f'#image-list tr[data-image-id="{image_id}"]')
    page.wait_for_function("(id) => { const img = document.querySelector(`#image-list tr[data-image-id='${id}'] img`);"
                           " return img && img.complete && img.naturalWidth > 0; }", arg=image_id, timeout=15_000)
    assert int(row.locator("td.objects").inner_text()) == before
    context.close()

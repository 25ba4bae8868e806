"""Issue 10 field fixes on a phone: date fields as tall as the others (12), an answer that says
it is saving, saved or not saved (13), corrections with the run's buttons (15) and a signature
canvas drawn at the screen's own resolution (23)."""

from __future__ import annotations

import re

import pytest
from PIL import Image
from playwright.sync_api import expect
from sqlalchemy import select

from app.extensions import db
from app.inspections.models import Amendment, Inspection
from app.photos.services import photo_file
from app.sites.models import Site
from tests.e2e.conftest import SCREENSHOTS, field_phone, shot
from tests.e2e.test_inspections import answer, field_page, pressed, sign, start_from_the_scan  # noqa: F401
from tests.e2e.test_shell import sign_in

#: These tests pick version 1's items (version 2 has test_inspections_v2).
pytestmark = pytest.mark.usefixtures("checklist_v1")

ANSWER_POST = "**/inspections/*/items/*"
#: How a field is framed: border, corners, text size.
FRAME = (
    "e => { const s = getComputedStyle(e); return [s.borderTopWidth, s.borderRadius, s.fontSize] }"
)
#: The n-th signature canvas is shown and its bitmap is its box × the device pixel ratio (2).
SIZED = (
    "n => { const c = document.querySelectorAll('[data-signature-pad]')[n];"
    " return c.clientWidth > 0 && c.width === c.clientWidth * 2"
    " && c.height === c.clientHeight * 2 }"
)


# ---------------------------------------------------------------- 12. date fields


@pytest.mark.parametrize(
    ("path", "selector"),
    [("/inspections", "input[type=date]"), ("/incidents/new", "input[type=datetime-local]")],
)
def test_date_and_time_fields_are_as_tall_and_framed_as_the_other_fields(page, path, selector):
    page.goto(page.base_url + path)
    sign_in(page, "supervisor")
    page.goto(page.base_url + path)
    field = page.locator(selector).first
    expect(field).to_be_visible()
    box = field.bounding_box()
    assert box["height"] >= 44, f"{selector} on {path} is {box['height']} px tall"
    other = page.locator("select, input[type=text], input[type=search]").first
    assert field.evaluate(FRAME) == other.evaluate(FRAME)
    # ... and as wide as their column, not wider: a date field in a two-column row once
    # pushed the page sideways
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]
    field.scroll_into_view_if_needed()
    shot(page, "zh-date-fields" + path.replace("/", "-"))


# ---------------------------------------------------------------- 13. saving is visible


def status_of(page, item_id):
    return page.locator(f"#{item_id} [data-save-status]")


@pytest.fixture
def page_without_worker(browser, live_server):
    """The phone before its service worker runs (a first visit, or a browser without one):
    the page itself says what happened to an answer. (With the worker, an answer that cannot
    be sent is kept in the outbox instead: tests/e2e/test_outbox.py.) The requests of this
    context are routed by the test, which only a page without a worker allows."""
    site = db.session.scalar(select(Site).where(Site.code == "TPE-0001"))
    tab = field_phone(browser, live_server, site, service_workers="block")
    yield tab
    tab.context.close()


def test_a_slow_answer_says_saving_at_once_then_saved(page_without_worker):
    page = page_without_worker
    start_from_the_scan(page)
    first = page.locator("article.item").first.get_attribute("id")
    held = []
    page.route(ANSWER_POST, lambda route: held.append(route))
    # (no_wait_after: the answer is held on purpose; the click itself is done)
    page.locator(f"#{first} button[value=pass]").click(no_wait_after=True)
    expect(status_of(page, first)).to_have_text("Saving…")
    expect(page.locator(f"#{first}")).to_have_attribute("aria-busy", "true")
    expect(status_of(page, first)).to_have_attribute("role", "status")
    assert len(held) == 1  # the answer is still on its way
    shot(page, "en-inspection-saving")
    held[0].continue_()
    expect(status_of(page, first)).to_have_text("Saved")
    pressed(page, first, "pass")
    expect(page.locator(f"#{first}")).to_have_attribute("aria-busy", "false")


def test_a_failed_save_is_shown_on_the_item_with_a_retry(page_without_worker):
    page = page_without_worker
    start_from_the_scan(page)
    first, second = page.locator("article.item").evaluate_all(
        "els => els.slice(0, 2).map(e => e.id)"
    )

    page.route(ANSWER_POST, lambda route: route.abort("internetdisconnected"))
    page.locator(f"#{first} button[value=fail]").click()
    expect(status_of(page, first)).to_contain_text("Not saved: no network connection.")
    expect(page.locator(f"#{first}")).to_have_class(re.compile("item-unsaved"))
    expect(page.locator("#toast")).to_be_hidden()  # said on the item, not in a passing toast
    shot(page, "en-inspection-not-saved")
    page.unroute(ANSWER_POST)
    status_of(page, first).get_by_role("button", name="Try again").click()
    expect(status_of(page, first)).to_have_text("Saved")
    pressed(page, first, "fail")  # the retry sent the same answer

    page.route(ANSWER_POST, lambda route: route.fulfill(status=500, body="boom"))
    page.locator(f"#{second} button[value=pass]").click()
    expect(status_of(page, second)).to_contain_text("Not saved (error 500).")
    page.unroute(ANSWER_POST)
    status_of(page, second).get_by_role("button", name="Try again").click()
    expect(status_of(page, second)).to_have_text("Saved")
    pressed(page, second, "pass")


def test_a_refused_reading_shows_its_reason_on_the_item(field_page):  # noqa: F811
    page = field_page
    start_from_the_scan(page)
    battery = page.locator("article.item").nth(5).get_attribute("id")
    page.locator(f"#{battery} input[name=value]").fill("-99999")
    page.locator(f"#{battery}").get_by_role("button", name="Save").click()
    expect(page.locator(f"#{battery} .error")).to_have_text("Enter a number between 0 V and 30 V.")
    expect(status_of(page, battery)).to_have_text("Not saved.")


# ---------------------------------------------------------------- 23. signature canvas


def test_the_signature_canvas_matches_its_box_at_the_screens_resolution_and_is_saved(field_page):  # noqa: F811
    page = field_page
    start_from_the_scan(page)
    pad = page.locator("[data-signature-pad]").first
    pad.scroll_into_view_if_needed()
    page.wait_for_function("() => window.SignaturePad !== undefined")
    size = pad.evaluate(
        "c => [c.width, c.height, c.clientWidth, c.clientHeight, window.devicePixelRatio]"
    )
    width, height, client_width, client_height, ratio = size
    assert ratio == 2
    assert (width, height) == (client_width * ratio, client_height * ratio), size

    sign(page)
    SCREENSHOTS.mkdir(exist_ok=True)
    pad.screenshot(path=str(SCREENSHOTS / "en-signature-pad.png"))  # for a person to look at
    # a resize (the phone turned) keeps the strokes, at the new size
    page.set_viewport_size({"width": 600, "height": 844})
    page.wait_for_function(SIZED, arg=0)
    kept = pad.evaluate(
        "c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
        " let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) n++; return n }"
    )
    assert kept > 200
    page.set_viewport_size({"width": 390, "height": 844})

    # the contact's pad, in a closed <details>, is sized once opened
    page.locator(".contact-sign summary").click()
    contact = page.locator("[data-signature-pad]").nth(1)
    expect(contact).to_be_visible()
    page.wait_for_function(SIZED, arg=1)

    items = page.locator("article.item").evaluate_all("els => els.map(e => e.id)")
    for item_id in items:
        if item_id == items[5]:
            page.locator(f"#{item_id} input[name=value]").fill("12.6")
            page.locator(f"#{item_id}").get_by_role("button", name="Save").click()
            expect(status_of(page, item_id)).to_have_text("Saved")
        else:
            answer(page, item_id, "pass")
    page.get_by_role("button", name="Submit inspection").click()
    expect(page.get_by_role("heading", name="Inspection report")).to_be_visible()
    inspection = db.session.scalar(select(Inspection))
    db.session.refresh(inspection)
    assert inspection.status == "submitted" and inspection.signature is not None
    image = Image.open(photo_file(inspection.signature))
    assert image.width == client_width * ratio  # the canvas as drawn, at the screen's resolution
    inked = sum(image.convert("L").histogram()[:128])  # dark pixels
    assert inked > 200  # the stroke is in the saved picture


# ---------------------------------------------------------------- 15. corrections


def test_a_correction_is_chosen_with_the_pass_fail_buttons(field_page):  # noqa: F811
    page = field_page
    start_from_the_scan(page)
    items = page.locator("article.item").evaluate_all("els => els.map(e => e.id)")
    for item_id in items:
        if item_id == items[5]:
            page.locator(f"#{item_id} input[name=value]").fill("12.6")
            page.locator(f"#{item_id}").get_by_role("button", name="Save").click()
            expect(status_of(page, item_id)).to_have_text("Saved")
        else:
            answer(page, item_id, "pass")
    sign(page)
    page.get_by_role("button", name="Submit inspection").click()
    expect(page.get_by_role("heading", name="Inspection report")).to_be_visible()

    first = page.locator(".report-item").first
    first.get_by_text("Correct this answer").click()
    form = first.locator(".correction-form")
    expect(form.get_by_role("radio", name="Pass")).to_be_checked()
    form.get_by_text("Fail", exact=True).click()
    expect(form.get_by_role("radio", name="Fail")).to_be_checked()
    form.get_by_label("Note").fill("遲到 5 分鐘")
    form.get_by_label("Reason for the correction").fill("誤按合格")
    shot(page, "en-inspection-correction")
    form.get_by_role("button", name="Record the correction").click()
    expect(page.locator("#amendments")).to_contain_text("Pass → Fail")
    amendment = db.session.scalar(select(Amendment))
    assert (amendment.old_value, amendment.new_value, amendment.reason) == (
        "pass",
        "fail",
        "誤按合格",
    )
    expect(page.locator("#failed")).to_contain_text("1 item failed")

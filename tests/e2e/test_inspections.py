"""A supervisor's whole visit on a phone: scan, check in, inspect, photograph a fault, sign,
submit, read the report; and an inspection closed mid-way that reopens with its answers."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image
from playwright.sync_api import expect
from sqlalchemy import select

from app.extensions import db
from app.inspections.models import Inspection
from app.sites.models import Site
from tests import factories
from tests.e2e.conftest import field_phone, shot
from tests.e2e.test_shell import sign_in


@pytest.fixture
def field_page(browser, live_server):
    """A phone that allows location, as a supervisor's would after the first scan. Version 1
    of the checklist (these tests count and pick its items); version 2: test_inspections_v2."""
    factories.use_checklist_version(1)
    site = db.session.scalar(select(Site).where(Site.code == "TPE-0001"))
    page = field_phone(browser, live_server, site)
    yield page
    page.context.close()


def start_from_the_scan(page):
    page.goto(page.base_url + f"/s/{page.site.qr_token}")
    sign_in(page, "supervisor", "en")
    expect(page.locator(".check-in-result")).to_contain_text("On site")
    page.get_by_role("button", name="Start an inspection").click()
    expect(page.get_by_text("0 / 23 answered")).to_be_visible()
    page.wait_for_function("() => window.htmx !== undefined")


def pressed(page, item_id: str, value: str):
    button = page.locator(f"#{item_id} button[value={value}]")
    return expect(button).to_have_attribute("aria-pressed", "true")


def answer(page, item_id: str, value: str) -> None:
    page.locator(f"#{item_id} button[value={value}]").click()
    pressed(page, item_id, value)


def camera_photo(tmp_path) -> str:
    path = tmp_path / "fault.jpg"
    image = Image.new("RGB", (3000, 2000), (180, 40, 40))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG")
    path.write_bytes(buffer.getvalue())
    return str(path)


def sign(page) -> None:
    pad = page.locator("[data-signature-pad]").first
    pad.scroll_into_view_if_needed()
    box = pad.bounding_box()
    page.mouse.move(box["x"] + 20, box["y"] + 60)
    page.mouse.down()
    for step in range(1, 12):
        page.mouse.move(box["x"] + 20 + step * 25, box["y"] + 60 + (step % 3) * 20)
    page.mouse.up()


def test_whole_inspection_from_the_scan_with_a_failed_item_photo_note_and_signature(
    field_page, tmp_path
):
    page = field_page
    start_from_the_scan(page)
    items = page.locator("article.item").evaluate_all("els => els.map(e => e.id)")
    assert len(items) == 23
    panel, battery = items[4], items[5]

    # Item 5 fails: note, photo.
    answer(page, panel, "fail")
    page.locator(f"#{panel} textarea[name=note]").fill(
        "主機顯示斷線訊號 / line-cut signal on the panel"
    )
    page.locator(f"#{panel}").get_by_role("button", name="Save note").click()
    expect(page.locator(f"#{panel} .saved")).to_be_visible()
    page.locator(f"#{panel} [data-photo-input]").set_input_files(camera_photo(tmp_path))
    expect(page.locator(f"#{panel} img.thumb")).to_have_count(1)

    # The battery reads in bounds.
    page.locator(f"#{battery} input[name=value]").fill("12.6")
    page.locator(f"#{battery}").get_by_role("button", name="Save").click()
    expect(page.locator(f"#{battery}")).to_have_class(re.compile("item-pass"))

    for item_id in items:
        if item_id in (panel, battery):
            continue
        answer(page, item_id, "pass")
    expect(page.get_by_text("23 / 23 answered")).to_be_visible()
    page.locator(f"#{panel}").scroll_into_view_if_needed()
    shot(page, "en-inspection-run")

    sign(page)
    page.get_by_role("button", name="Submit inspection").click()
    expect(page.get_by_role("heading", name="Inspection report")).to_be_visible()
    expect(page.get_by_role("status").first).to_contain_text("Inspection submitted")
    expect(page.get_by_role("img", name=re.compile("Photo 1 of item 5"))).to_be_visible()
    expect(page.get_by_role("img", name=re.compile("Signature of"))).to_be_visible()
    shot(page, "en-inspection-report")

    inspection = db.session.scalar(select(Inspection))
    assert inspection.status == "submitted" and inspection.failed_count == 1
    assert inspection.score == pytest.approx(round(100 * 22 / 23, 1))

    page.get_by_role("link", name="中文", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("巡檢報告")
    shot(page, "zh-inspection-report")


def test_closing_the_page_mid_way_loses_no_answer(field_page):
    page = field_page
    start_from_the_scan(page)
    items = page.locator("article.item").evaluate_all("els => els.map(e => e.id)")
    for item_id in items[:3]:
        answer(page, item_id, "pass")
    answer(page, items[3], "fail")
    url = page.url
    context = page.context
    page.close()

    again = context.new_page()
    again.goto(field_page.base_url + f"/sites/{field_page.site.id}")
    again.get_by_role("link", name="Continue the inspection").click()
    expect(again).to_have_url(url)
    expect(again.get_by_text("4 / 23 answered")).to_be_visible()
    for item_id in items[:3]:
        pressed(again, item_id, "pass")
    pressed(again, items[3], "fail")
    again.get_by_role("link", name="中文", exact=True).click()
    expect(again.locator(".progress-text")).to_have_text("已作答 4 / 23")
    shot(again, "zh-inspection-run-reopened")

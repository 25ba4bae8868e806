"""Issue 5 journeys on a phone: an incident with a photo, a repair ticket from a failed item
to verification, and an alarm response from dispatch to the guard's QR arrival."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from PIL import Image
from playwright.sync_api import expect
from sqlalchemy import select

from app.auth.models import User
from app.db import new_uuid, utcnow
from app.extensions import db
from app.incidents import services as incidents
from app.incidents.models import AlarmResponse, Incident
from app.maintenance.models import RepairTicket
from app.sites.models import Site
from tests.e2e.conftest import field_phone, shot
from tests.e2e.test_shell import sign_in


def demo_site() -> Site:
    return db.session.scalar(select(Site).where(Site.code == "TPE-0001"))


@pytest.fixture
def phone(browser, live_server):
    """Phones that allow location at TPE-0001; phone("en") opens one in English."""
    contexts = []

    def open_phone(locale="en-US"):
        page = field_phone(browser, live_server, demo_site(), locale=locale)
        contexts.append(page.context)
        return page

    yield open_phone
    for context in contexts:
        context.close()


def photo_file(tmp_path) -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (2400, 1600), (90, 90, 160)).save(buffer, format="JPEG")
    path = tmp_path / "scene.jpg"
    path.write_bytes(buffer.getvalue())
    return str(path)


def test_guard_reports_an_incident_with_a_photo(phone, tmp_path):
    page = phone("zh-TW")
    page.goto(page.base_url + "/login")
    sign_in(page, "guard")
    page.get_by_role("link", name="通報異常事件").first.click()
    page.get_by_label("案場").select_option(label="TPE-0001 信義商辦大樓 A 棟")
    page.get_by_label("異常事件類型").select_option("suspicious_person")
    page.get_by_label("嚴重程度").select_option("high")
    page.get_by_label("事發經過").fill("大廳有可疑人士徘徊，已請其離開。")
    shot(page, "zh-guard-incident-form")
    page.get_by_role("button", name="送出通報").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("可疑人士")
    page.locator("[data-photo-input]").set_input_files(photo_file(tmp_path))
    expect(page.locator("#photos img.thumb")).to_have_count(1)
    shot(page, "zh-guard-incident")
    page.get_by_role("link", name="EN", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Suspicious person")
    shot(page, "en-guard-incident")
    incident = db.session.scalar(select(Incident))
    assert incident.severity == "high" and len(incident.photos) == 1


def test_supervisor_fails_an_item_opens_a_repair_ticket_and_verifies_it(phone):
    page = phone()
    site = demo_site()
    page.goto(page.base_url + f"/sites/{site.id}")
    sign_in(page, "supervisor", "en")
    page.get_by_role("button", name="Start an inspection").click()
    page.wait_for_function("() => window.htmx !== undefined")
    panel = page.locator("article.item").nth(4)
    panel.locator("button[value=fail]").click()
    expect(panel.locator("button[value=fail]")).to_have_attribute("aria-pressed", "true")
    panel = page.locator("article.item").nth(4)
    panel.locator("textarea[name=note]").fill("Panel shows a line-cut signal")
    panel.get_by_role("button", name="Save note").click()
    expect(page.locator("article.item").nth(4).locator(".saved")).to_be_visible()
    page.locator("article.item").nth(4).get_by_role("button", name="Open a repair ticket").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("Repair ticket")
    expect(page.get_by_text("Panel shows a line-cut signal")).to_be_visible()
    page.get_by_role("button", name="Repairer sent").click()
    page.get_by_role("button", name="Mark fixed").click()
    page.get_by_role("button", name="Verify the repair").click()
    expect(page.locator("header .badge").first).to_have_text("Verified")
    shot(page, "en-supervisor-repair-verified")
    page.get_by_role("link", name="中文", exact=True).click()
    expect(page.locator("header .badge").first).to_have_text("已驗收")
    shot(page, "zh-supervisor-repair-verified")
    ticket = db.session.scalar(select(RepairTicket))
    assert ticket.status == "verified" and ticket.source == "inspection"


def test_alarm_response_from_dispatch_to_the_guards_qr_arrival(phone):
    site = demo_site()
    boss = phone()
    boss.goto(boss.base_url + "/login")
    sign_in(boss, "supervisor", "en")
    boss.goto(boss.base_url + f"/alarms/new?site={site.id}")
    boss.get_by_label("Signal").select_option("intrusion")
    boss.get_by_label("Send guard").select_option(label="陳志明")
    boss.get_by_role("button", name="Record the alarm").click()
    expect(boss.locator("li.step", has_text="Guard dispatched")).to_contain_text("陳志明")
    alarm_url = boss.url

    guard = phone("zh-TW")
    guard.goto(guard.base_url + "/login")
    sign_in(guard, "guard")
    expect(guard.get_by_text("您已受派前往案場")).to_be_visible()
    shot(guard, "zh-guard-dispatched")
    guard.goto(guard.base_url + f"/s/{site.qr_token}")  # what the phone camera opens
    expect(guard.locator(".check-in-result")).to_be_visible()
    expect(guard.get_by_role("status").first).to_contain_text("警報")

    boss.goto(alarm_url)
    expect(boss.locator("li.step", has_text="Arrived on site")).to_contain_text("by QR scan")
    expect(boss.get_by_text(re.compile("Time to arrive: \\d+ minutes"))).to_be_visible()
    boss.get_by_label("Re-armed by").fill("陳志明")
    boss.get_by_role("button", name="Confirm the re-arming").click()
    boss.get_by_label("Cause").select_option("environment")
    boss.get_by_role("button", name="Handled: close the alarm").click()
    expect(boss.locator("header .badge-ok")).to_have_text("Closed")
    shot(boss, "en-supervisor-alarm-cleared")
    boss.get_by_role("link", name="中文", exact=True).click()
    shot(boss, "zh-supervisor-alarm-cleared")
    alarm = db.session.scalar(select(AlarmResponse))
    assert alarm.arrival_check_in_id is not None and alarm.cause == "environment"


def test_guard_attaches_a_photo_on_the_first_form_and_keeps_it_through_a_refusal(phone, tmp_path):
    page = phone()
    page.goto(page.base_url + "/login")
    sign_in(page, "guard", "en")
    page.goto(page.base_url + "/incidents/new")
    page.get_by_label("Site").select_option(label="TPE-0001 信義商辦大樓 A 棟")
    page.get_by_label("What kind of incident").select_option("intrusion")
    page.get_by_label("Add photos").set_input_files(photo_file(tmp_path))
    expect(page.get_by_text("1 photo will be sent with the report.")).to_be_visible()
    expect(page.locator("[data-photo-previews] img.thumb")).to_have_count(1)
    # Downscaled on the phone before it is sent (2400 px wide → 1600).
    size = page.evaluate(
        """() => new Promise(done => {
            const img = new Image();
            img.onload = () => done(img.naturalWidth);
            img.src = URL.createObjectURL(document.querySelector('[data-photo-attach]').files[0]);
        })"""
    )
    assert size == 1600
    page.get_by_role("button", name="Send the report").click()  # nothing written yet
    expect(page.get_by_text("Describe what happened.")).to_be_visible()
    expect(page.get_by_text("1 photo will be sent with the report.")).to_be_visible()
    assert page.evaluate("document.querySelector('[data-photo-attach]').files.length") == 1
    shot(page, "en-guard-incident-form-refused-with-photo")
    page.get_by_label("What happened").fill("Back door forced open; nobody inside.")
    page.get_by_role("button", name="Send the report").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Intrusion")
    expect(page.locator("#photos img.thumb")).to_have_count(1)
    shot(page, "en-guard-incident-with-first-form-photo")
    incident = db.session.scalar(select(Incident))
    assert len(incident.photos) == 1 and incident.photos[0].photo.width == 1600


def test_supervisor_records_the_police_notification_of_a_theft_and_its_case_number_later(phone):
    """保全業法 §4-1 on the incident page: the receiving unit is required, the case number may
    come later; both are shown on the page (issue 13 item 3, for incidents)."""
    guard = db.session.scalar(select(User).where(User.username == "guard"))
    theft = incidents.report_incident(
        demo_site(),
        user=guard,
        uuid=new_uuid(),
        category="theft",
        severity="high",
        occurred_at=utcnow() - timedelta(minutes=30),
        narrative="倉庫後門遭撬開，少了兩箱貨。",
    )
    db.session.commit()
    page = phone("zh-TW")
    page.goto(page.base_url + "/login")
    sign_in(page, "supervisor")
    page.goto(page.base_url + f"/incidents/{theft.id}")
    expect(page.get_by_role("alert").first).to_contain_text("受理單位及案號")
    page.get_by_role("button", name="記錄警察機關通報").click()
    expect(page.get_by_role("alert").first).to_contain_text("請填寫受理單位。")
    page.get_by_label("受理單位").fill("信義分局 三張犁派出所")
    page.get_by_role("button", name="記錄警察機關通報").click()
    expect(page.locator("dl.facts").first).to_contain_text("信義分局 三張犁派出所")
    expect(page.locator("dl.facts").first).to_contain_text("尚未記錄案號")
    shot(page, "zh-incident-police-no-case-number")
    page.get_by_label("案號").fill("1151126-0042")
    page.get_by_role("button", name="記錄案號").click()
    expect(page.locator("dl.facts").first).to_contain_text("案號 1151126-0042")
    expect(page.locator("#timeline")).to_contain_text("已記錄案號")
    shot(page, "zh-incident-police-recorded")
    page.get_by_role("link", name="EN", exact=True).click()
    expect(page.locator("dl.facts").first).to_contain_text("case no. 1151126-0042")
    shot(page, "en-incident-police-recorded")
    db.session.refresh(theft)
    assert (theft.police_unit, theft.police_case_number) == (
        "信義分局 三張犁派出所",
        "1151126-0042",
    )


def test_a_fire_incident_shows_the_police_form_and_the_119_call_in_english(phone):
    guard = db.session.scalar(select(User).where(User.username == "guard"))
    fire = incidents.report_incident(
        demo_site(),
        user=guard,
        uuid=new_uuid(),
        category="fire",
        severity="critical",
        occurred_at=utcnow() - timedelta(minutes=10),
        narrative="Smoke from the B1 electrical room.",
    )
    db.session.commit()
    page = phone("en-US")
    page.goto(page.base_url + "/login")
    sign_in(page, "supervisor", "en")
    page.goto(page.base_url + f"/incidents/{fire.id}")
    expect(page.get_by_label("Receiving unit")).to_be_visible()
    shot(page, "en-incident-fire-police-form")
    page.get_by_label("119 called").fill("")  # no time given: now
    page.get_by_role("button", name="Record the 119 call").click()
    expect(page.locator("#at-fire")).to_have_count(0)
    page.get_by_role("link", name="中文", exact=True).click()
    expect(page.locator("dl.facts").first).to_contain_text("已通報 119")
    shot(page, "zh-incident-fire-119-recorded")
    db.session.refresh(fire)
    assert fire.fire_notified_at is not None

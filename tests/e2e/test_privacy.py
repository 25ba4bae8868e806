"""Personal data at 390×844: a new guard is shown the collection notice at his first sign-in
and reaches home after acknowledging it; a manager marks a site's access list reviewed, records
a personal-data incident step by step, and downloads the evidence pack (opened and checked)."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

from playwright.sync_api import expect
from sqlalchemy import select

from app.demo import DEMO_PASSWORD
from app.extensions import db
from app.privacy.evidence import FILES
from app.privacy.models import NoticeAcknowledgement, PrivacyIncident
from app.sites.models import Site
from tests import factories
from tests.e2e.conftest import PHONE
from tests.e2e.test_shell import sign_in

SHOTS = Path("/tmp/pdp-shots")  # noqa: S108 (screenshots for a person to look at)


def snap(page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def phone(browser, base_url: str, locale: str):
    context = browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale=locale
    )
    context.route("https://cdn.jsdelivr.net/**", lambda route: route.abort())
    page = context.new_page()
    page.base_url = base_url
    return page


def test_a_new_guard_sees_the_notice_at_first_sign_in(browser, live_server):
    newcomer = factories.gen_user(
        "guard", username="newguard", display_name="張新人", password=DEMO_PASSWORD,
        notice_acknowledged=False,
    )  # fmt: skip
    db.session.commit()
    page = phone(browser, live_server, "zh-TW")
    page.goto(live_server + "/login")
    sign_in(page, "newguard")
    expect(page).to_have_url(re.compile(r"/privacy/notice$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("個人資料蒐集告知事項")
    snap(page, "zh-notice-first-sign-in")
    page.get_by_role("link", name="EN", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Personal data collection notice")
    snap(page, "en-notice-first-sign-in")
    # Other pages wait until it is acknowledged.
    page.goto(live_server + "/briefings")
    expect(page).to_have_url(re.compile(r"/privacy/notice\?next=/briefings$"))
    page.get_by_role("button", name="I have read this notice").click()
    expect(page).to_have_url(live_server + "/briefings")
    page.goto(live_server + "/")
    expect(page).to_have_url(live_server + "/")
    page.goto(live_server + "/account")
    link = page.get_by_role("link", name=re.compile("Personal data notice"))
    expect(link).to_contain_text("acknowledged")
    snap(page, "en-account-notice-link")
    link.click()
    expect(page.get_by_role("status").first).to_contain_text("You acknowledged this notice on")
    snap(page, "en-notice-acknowledged")
    ack = db.session.scalar(
        select(NoticeAcknowledgement).where(NoticeAcknowledgement.user_id == newcomer.id)
    )
    assert ack is not None and ack.ip == "127.0.0.1"
    page.context.close()


def test_a_manager_reviews_records_an_incident_and_downloads_the_evidence(browser, live_server):
    site = db.session.scalar(select(Site).where(Site.code == "TPE-0001"))
    page = phone(browser, live_server, "en-US")
    page.goto(live_server + "/login?lang=en")
    sign_in(page, "manager", "en")
    expect(page).to_have_url(live_server + "/")

    # The permission review
    page.goto(live_server + "/privacy")
    expect(page.get_by_role("heading", level=1)).to_have_text("Personal data")
    snap(page, "en-privacy-overview")
    page.get_by_role("link", name=re.compile(site.name)).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Who may access this site's confidential information"
    )
    expect(page.get_by_text("陳志明")).to_be_visible()  # the assigned guard
    expect(page.get_by_text("Operational only")).to_be_visible()
    page.get_by_label("Note (optional)").fill("名單正確")
    page.get_by_role("button", name="Reviewed: the list is correct").click()
    expect(page.get_by_role("status").first).to_have_text("Marked as reviewed.")
    expect(page.locator(".facts")).to_contain_text("王建國")
    snap(page, "en-site-access-reviewed")

    # The incident register, step by step
    page.goto(live_server + "/privacy/incidents")
    page.get_by_role("link", name="Record an incident").click()
    page.get_by_label("What happened").fill("A printed key-holder list was left in a taxi.")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Personal-data incident")
    expect(page.locator(".step")).to_have_count(6)
    expect(page.locator(".step.done")).to_have_count(0)
    snap(page, "en-incident-new")

    def step(name: str, fields: dict[str, str]) -> None:
        section = page.locator(f"#step-{name}")
        for label, value in fields.items():
            section.get_by_label(label).fill(value)
        section.get_by_role("button", name="Save this step").click()
        expect(page.get_by_role("status").first).to_have_text("Step recorded.")

    step(
        "scope",
        {"Kinds of personal data concerned": "姓名、手機", "Number of people concerned": "4"},
    )
    step("containment", {"What was done to contain it": "Taxi company called; list recovered."})
    step("cause", {"Cause": "Printed copy taken out of the office."})
    page.locator("#step-subjects_notified").get_by_label("People concerned notified at").fill(
        _taipei_now()
    )
    step("subjects_notified", {"How they were told, and what": "Phoned each key holder."})
    authority = page.locator("#step-authority_notified")
    authority.get_by_label("This step does not apply").check()
    authority.get_by_label("Why it does not apply").fill("Recovered within the hour; no leak.")
    authority.get_by_role("button", name="Save this step").click()
    expect(page.get_by_role("status").first).to_have_text("Step recorded.")
    step("improvements", {"Improvements": "No printed lists leave the office."})
    expect(page.locator(".step.done")).to_have_count(6)
    page.get_by_role("button", name="Close the incident").click()
    expect(page.get_by_role("status").first).to_have_text("The incident is closed.")
    snap(page, "en-incident-closed")

    # The evidence pack
    page.goto(live_server + "/privacy/evidence")
    snap(page, "en-evidence")
    with page.expect_download() as info:
        page.get_by_role("button", name="Download the evidence pack").click()
    download = info.value
    assert download.suggested_filename.startswith("guardpost-evidence-")
    pack = zipfile.ZipFile(io.BytesIO(Path(download.path()).read_bytes()))
    assert sorted(pack.namelist()) == sorted(FILES)
    readme = pack.read("README.txt").decode("utf-8-sig")
    assert "使用紀錄、軌跡資料及證據保存" in readme and "Keeping usage records" in readme
    assert "taxi" in pack.read("privacy_incidents.csv").decode("utf-8-sig")
    assert "名單正確" in pack.read("permission_reviews.csv").decode("utf-8-sig")

    incident = db.session.scalar(select(PrivacyIncident))
    assert incident.is_closed and incident.authority_notified_na_reason

    # The same pages in Chinese
    page.goto(live_server + "/privacy?lang=zh-TW")
    expect(page.get_by_role("heading", level=1)).to_have_text("個資保護")
    snap(page, "zh-privacy-overview")
    page.goto(live_server + f"/privacy/sites/{site.id}")
    snap(page, "zh-site-access-reviewed")
    page.goto(live_server + f"/privacy/incidents/{incident.id}")
    snap(page, "zh-incident-closed")
    page.goto(live_server + "/privacy/evidence")
    snap(page, "zh-evidence")
    page.context.close()


def _taipei_now() -> str:
    from app.i18n import taipei_now_input

    return taipei_now_input().strftime("%Y-%m-%dT%H:%M")

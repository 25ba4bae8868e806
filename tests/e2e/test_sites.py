"""Sites on a phone: the label sheet, the scanner with a real (fake) camera, the site card."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from app.auth.models import User
from app.db import new_uuid, utcnow
from app.extensions import db
from app.incidents.models import AlarmResponse
from app.sites.models import CheckIn, Site
from tests.e2e.conftest import CHROMIUM_ARGS, PHONE, chromium_path, field_phone, shot
from tests.e2e.fake_camera import picture_to_y4m
from tests.e2e.test_shell import sign_in


def demo_site(code: str) -> Site:
    return db.session.scalar(select(Site).where(Site.code == code))


@pytest.fixture
def printed_label(page, tmp_path):
    """Sign in as the admin, open the label sheet of TPE-0001 and 'print' one label."""
    site = demo_site("TPE-0001")
    page.goto(page.base_url + "/login")
    sign_in(page, "admin")
    page.goto(page.base_url + f"/sites/labels?site={site.id}&site={demo_site('NTP-0001').id}")
    expect(page.locator(".label")).to_have_count(2)
    page.wait_for_function("() => [...document.images].every(i => i.complete && i.naturalWidth)")
    shot(page, "zh-labels")
    label = tmp_path / "label.png"
    page.locator(".label", has_text="TPE-0001").screenshot(path=str(label))
    page.goto(page.base_url + f"/sites/labels?site={site.id}&lang=en")
    shot(page, "en-labels")
    return label


def test_supervisor_scans_a_printed_label_with_the_camera_and_lands_on_the_site_card(
    playwright, live_server, printed_label, tmp_path
):
    video = picture_to_y4m(printed_label, tmp_path / "camera.y4m")
    browser = playwright.chromium.launch(
        executable_path=chromium_path(),
        args=[
            *CHROMIUM_ARGS,
            "--use-fake-device-for-media-stream",
            "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-video-capture={video}",
        ],
    )
    site = demo_site("TPE-0001")
    context = browser.new_context(
        viewport=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="zh-TW",
        permissions=["camera", "geolocation"],
        geolocation={
            "latitude": site.latitude + 0.0002,
            "longitude": site.longitude,
            "accuracy": 15,
        },
    )
    context.route("https://cdn.jsdelivr.net/**", lambda route: route.abort())
    page = context.new_page()
    page.goto(live_server + "/login")
    sign_in(page, "supervisor")
    page.locator('.tabbar a[href="/scan"]').click()

    expect(page).to_have_url(re.compile(rf"/sites/{site.id}\?check_in="), timeout=20_000)
    banner = page.locator(".check-in-result")
    expect(banner).to_contain_text("在案場內")
    shot(page, "zh-supervisor-site-card")
    record = db.session.scalar(select(CheckIn).where(CheckIn.site_id == site.id))
    assert record.verdict == "on_site" and record.method == "qr" and record.distance_m < 50

    page.get_by_role("link", name="EN", exact=True).click()
    expect(page.locator(".check-in-result")).to_contain_text("On site")
    shot(page, "en-supervisor-site-card")
    for width in (390, 320):  # the card never scrolls sideways, long badges included
        page.set_viewport_size({"width": width, "height": 844})
        assert page.evaluate("document.documentElement.scrollWidth") <= width
    context.close()
    browser.close()


def test_scanner_without_a_camera_offers_a_photo_and_the_typed_code(page):
    page.goto(page.base_url + "/login")
    sign_in(page, "guard")
    page.goto(page.base_url + "/scan")
    expect(page.get_by_role("status").first).to_contain_text("無法使用相機", timeout=10_000)
    expect(page.get_by_label("拍下代碼照片")).to_be_attached()
    shot(page, "zh-guard-scanner")

    page.goto(page.base_url + "/scan?lang=en")
    page.get_by_label("Site code").fill("tpe-0003")
    page.get_by_role("button", name="Check in").click()
    expect(page.get_by_text("None of your sites has this code.")).to_be_visible()
    shot(page, "en-guard-scanner-wrong-code")

    page.get_by_label("Site code").fill("tpe-0001")
    page.get_by_role("button", name="Check in").click()
    expect(page.locator(".check-in-result")).to_contain_text("No location")
    shot(page, "en-guard-site-card-no-location")


def test_admin_site_page_shows_equipment_people_and_the_qr_code(page):
    site = demo_site("TPE-0001")
    page.goto(page.base_url + "/login?lang=en")
    sign_in(page, "admin", "en")
    page.goto(page.base_url + f"/sites/{site.id}")
    expect(page.get_by_role("heading", name="Equipment")).to_be_visible()
    expect(page.get_by_role("img", name=re.compile("QR code of TPE-0001"))).to_be_visible()
    shot(page, "en-admin-site")
    page.goto(page.base_url + "/sites?lang=zh-TW")
    shot(page, "zh-admin-sites")
    page.goto(page.base_url + "/sites/new")
    page.locator("form.form button[type=submit]").click()
    expect(page.get_by_role("alert").first).to_be_visible()
    shot(page, "zh-admin-site-new-errors")


def test_label_ticks_survive_searching_and_all_ticked_sites_are_printed(page):
    """Tick a site, filter the list (htmx replaces it), tick more: every tick is printed."""
    page.goto(page.base_url + "/login?lang=en")
    sign_in(page, "admin", "en")
    page.goto(page.base_url + "/sites")
    page.get_by_label("Print a label for TPE-0001").check()
    search = page.get_by_label("Search code, name or address")
    search.fill("NTP")
    expect(page.get_by_label("Print a label for TPE-0001")).to_have_count(0)
    page.get_by_label("Print a label for NTP-0001").check()
    page.get_by_label("Print a label for NTP-0002").check()
    search.fill("TPE-000")
    expect(page.get_by_label("Print a label for NTP-0001")).to_have_count(0)
    expect(page.get_by_label("Print a label for TPE-0001")).to_be_checked()
    expect(page.get_by_label("Print a label for TPE-0002")).not_to_be_checked()
    expect(page.locator("[data-label-count]")).to_have_text("(3)")
    shot(page, "en-admin-sites-ticked")
    page.get_by_role("button", name=re.compile("Print QR labels for the ticked sites")).click()
    expect(page).to_have_url(re.compile(r"/sites/labels\?"))
    expect(page.locator(".label")).to_have_count(3)
    for code in ("TPE-0001", "NTP-0001", "NTP-0002"):
        expect(page.locator(".label", has_text=code)).to_have_count(1)


def test_check_in_with_location_denied_explains_how_to_allow_it_and_tries_again(page):
    """Location permission refused: the check-in is recorded without location, the card says
    how to allow it in Chrome and Safari, and 'Try again' adds it once allowed."""
    site = demo_site("TPE-0001")
    page.context.clear_permissions()  # nothing granted: the browser refuses the position
    page.goto(page.base_url + "/login?lang=en")
    sign_in(page, "guard", "en")
    page.goto(page.base_url + "/scan?lang=en")
    page.get_by_label("Site code").fill("TPE-0001")
    page.get_by_role("button", name="Check in").click()
    result = page.locator(".check-in-result")
    expect(result).to_contain_text("No location", timeout=20_000)
    expect(result).to_contain_text("Chrome on Android:")
    expect(result).to_contain_text("Safari on iPhone:")
    record = db.session.scalar(select(CheckIn).order_by(CheckIn.id.desc()))
    assert record.site_id == site.id and record.verdict == "no_fix" and record.method == "code"
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    shot(page, "en-guard-check-in-location-denied")

    retry = page.get_by_role("button", name="Try again")
    retry.click()
    expect(result.get_by_role("status")).to_contain_text("Still no location")

    page.context.grant_permissions(["geolocation"], origin=page.base_url)
    page.context.set_geolocation(
        {"latitude": site.latitude, "longitude": site.longitude, "accuracy": 15}
    )
    retry.click()
    expect(result).to_contain_text("On site", timeout=20_000)
    expect(page.get_by_role("button", name="Try again")).to_have_count(0)
    db.session.expire_all()
    record = db.session.get(CheckIn, record.id)
    assert record.verdict == "on_site" and record.latitude is not None
    assert db.session.scalar(select(func.count(CheckIn.id))) == 1


def test_site_card_gives_the_taiwan_address_and_police_and_fire_numbers_to_tap(page, browser):
    """Issue 13, item 6: postal code, city, district, street; the local police and fire
    stations' numbers as tel: links a thumb can hit (44 px), in both languages; the same
    numbers on the alarm page; the site form explains a number it cannot read."""
    site = demo_site("TPE-0001")
    admin = db.session.scalar(select(User).where(User.username == "admin"))
    alarm = AlarmResponse(
        uuid=new_uuid(), site_id=site.id, received_at=utcnow(), created_by_id=admin.id
    )
    db.session.add(alarm)
    db.session.commit()
    page.goto(page.base_url + "/login")
    sign_in(page, "admin")
    page.goto(page.base_url + f"/sites/{site.id}?lang=zh-TW")
    expect(page.get_by_text("110 臺北市信義區松仁路100號")).to_be_visible()
    police = page.locator('a.tel-link[href="tel:0227295757"]')
    expect(police).to_have_text("(02) 2729-5757")
    expect(page.locator('a.tel-link[href="tel:0227234119"]')).to_be_visible()
    for link in page.locator("a.tel-link").all():
        assert link.bounding_box()["height"] >= 44
    police.scroll_into_view_if_needed()
    shot(page, "zh-site-card-phones", full_page=False)
    page.goto(page.base_url + f"/sites/{site.id}?lang=en")
    expect(page.get_by_text("Police station", exact=True)).to_be_visible()
    page.locator("a.tel-link").first.scroll_into_view_if_needed()
    shot(page, "en-site-card-phones", full_page=False)

    supervisor = field_phone(browser, page.base_url, site, locale="zh-TW")
    supervisor.goto(page.base_url + "/login")
    sign_in(supervisor, "supervisor")
    supervisor.goto(page.base_url + f"/alarms/{alarm.id}?lang=zh-TW")
    expect(supervisor.locator('a.tel-link[href="tel:0227295757"]')).to_be_visible()
    shot(supervisor, "zh-alarm-phones")
    supervisor.goto(page.base_url + f"/alarms/{alarm.id}?lang=en")
    shot(supervisor, "en-alarm-phones")
    supervisor.context.close()

    page.goto(page.base_url + f"/sites/{site.id}/edit?lang=zh-TW")
    expect(page.locator("#police_phone")).to_have_value("(02) 2729-5757")
    page.locator("#fire_phone").fill("2723-4119")
    page.locator("form.form button[type=submit]").click()
    expect(page.locator("#fire_phone-error")).to_contain_text("請加上區碼")
    page.locator("#postal_code").scroll_into_view_if_needed()
    shot(page, "zh-site-form-address")
    page.goto(page.base_url + f"/sites/{site.id}/edit?lang=en")
    page.locator("#postal_code").scroll_into_view_if_needed()
    shot(page, "en-site-form-address", full_page=False)

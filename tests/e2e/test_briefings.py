"""A supervisor publishes a pre-duty briefing to a site; the guard sees the badge, reads and
acknowledges it on his phone; the supervisor sees 1 / 1."""

from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import select

from app.extensions import db
from app.sites.models import Site
from tests.e2e.conftest import PHONE, shot
from tests.e2e.test_shell import sign_in


def new_phone(browser, live_server, locale):
    context = browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale=locale
    )
    context.route("https://cdn.jsdelivr.net/**", lambda route: route.abort())
    page = context.new_page()
    page.base_url = live_server
    return context, page


def test_pre_duty_briefing_from_supervisor_to_guard_and_back(browser, live_server):
    site = db.session.scalar(select(Site).where(Site.code == "TPE-0001"))
    boss_context, boss = new_phone(browser, live_server, "en-US")
    boss.goto(live_server + "/login")
    sign_in(boss, "supervisor", "en")
    boss.goto(live_server + f"/briefings/new?site={site.id}")
    boss.get_by_label("Kind").select_option("pre_duty")
    boss.get_by_label("Title").fill("今晚勤前教育：後門門禁")
    boss.get_by_label("Text").fill(
        "後門磁簧今日更換，巡邏時請逐一測試。\n詳見 https://example.com/sop"
    )
    boss.get_by_label("Who must read it").select_option("sites")
    boss.get_by_role("button", name="Save and publish").click()
    expect(boss.locator(".stat-value")).to_have_text("0 / 1")
    shot(boss, "en-supervisor-briefing-progress-0")

    guard_context, guard = new_phone(browser, live_server, "zh-TW")
    guard.goto(live_server + "/login")
    sign_in(guard, "guard")
    badge = guard.locator(".tabbar .tab-badge")
    expect(badge).to_have_text("1")
    guard.locator('.tabbar a[href="/briefings"]').click()
    shot(guard, "zh-guard-briefing-inbox")
    guard.get_by_role("link", name="今晚勤前教育：後門門禁").click()
    expect(guard.locator(".briefing-body a")).to_have_attribute("href", "https://example.com/sop")
    shot(guard, "zh-guard-briefing")
    guard.get_by_role("button", name="我已閱讀並了解").click()
    expect(guard.get_by_role("status").first).to_be_visible()
    expect(guard.locator(".tabbar .tab-badge")).to_have_count(0)
    shot(guard, "zh-guard-briefing-acknowledged")
    guard.get_by_role("link", name="EN", exact=True).click()
    shot(guard, "en-guard-briefing-acknowledged")
    guard.goto(live_server + "/briefings")
    shot(guard, "en-guard-briefing-inbox")

    boss.reload()
    expect(boss.locator(".stat-value")).to_have_text("1 / 1")
    shot(boss, "en-supervisor-briefing-progress")
    boss.get_by_role("link", name="中文", exact=True).click()
    shot(boss, "zh-supervisor-briefing-progress")
    guard_context.close()
    boss_context.close()

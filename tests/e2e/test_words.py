"""Issue 13 item 7 on a phone: the words a Taiwanese supervisor reads (TERMS.md) on the main
screens, and the printed report's dates in the ROC calendar (民國) once the admin chooses it."""

from __future__ import annotations

import re
from datetime import timedelta

from playwright.sync_api import expect
from sqlalchemy import select

from app.auth.models import User
from app.db import utcnow
from app.demo import load_demo_vault
from app.extensions import db
from app.inspections.models import Answer
from app.inspections.services import applicable_items
from app.sites.models import Site
from tests import factories
from tests.e2e.conftest import field_phone, shot
from tests.e2e.test_shell import sign_in


def _site() -> Site:
    return db.session.scalar(select(Site).where(Site.code == "TPE-0001"))


def _user(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


def _submitted_inspection(site: Site, supervisor: User) -> str:
    """A submitted inspection with every item passed but one (a fault with its note)."""
    inspection = factories.gen_inspection(
        site, supervisor, status="submitted", started_at=utcnow() - timedelta(minutes=40)
    )
    for n, item in enumerate(applicable_items(inspection)):
        failed = n == 4 and item.kind == "pass_fail"
        value = "fail" if failed else ("pass" if item.kind.startswith("pass") else "13.6")
        db.session.add(
            Answer(
                inspection_id=inspection.id,
                item_id=item.id,
                value=value,
                is_pass=not failed,
                note="主機面板顯示斷線，已報修" if failed else "",
            )
        )
    db.session.commit()
    return inspection.uuid


def test_admin_chooses_roc_dates_and_the_printed_report_shows_them(page):
    page.goto(page.base_url + "/login")
    sign_in(page, "admin")
    page.goto(page.base_url + "/account")
    page.get_by_role("link", name="公司設定").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("公司設定")
    page.get_by_label("公司名稱").fill("台北系統保全股份有限公司")
    page.get_by_label("民國紀年：民國 115 年 11 月 25 日").check()
    page.get_by_role("button", name="儲存變更").click()
    expect(page.get_by_role("status").first).to_contain_text("變更已儲存")
    expect(
        page.get_by_text(re.compile(r"列印報告上顯示為：民國 \d+ 年 \d+ 月 \d+ 日"))
    ).to_be_visible()
    shot(page, "zh-admin-company-settings")
    page.get_by_role("link", name="EN", exact=True).click()
    expect(
        page.get_by_text(re.compile(r"Today on a printed report: \d{4}-\d\d-\d\d"))
    ).to_be_visible()
    shot(page, "en-admin-company-settings")
    page.context.clear_cookies()

    uuid = _submitted_inspection(_site(), _user("supervisor"))
    page.goto(page.base_url + "/login")
    sign_in(page, "supervisor")
    page.goto(page.base_url + f"/inspections/{uuid}?lang=zh-TW")
    expect(page.get_by_role("heading", level=1)).to_have_text("巡檢報告")
    expect(page.locator(".report-company")).to_have_text("台北系統保全股份有限公司")
    facts = page.locator(".report-head .facts")
    expect(facts).to_contain_text(re.compile(r"開始時間\s*民國 \d+ 年 \d+ 月 \d+ 日 \d\d:\d\d"))
    expect(facts).to_contain_text("巡檢人員")
    shot(page, "zh-printed-report-roc-dates")
    page.emulate_media(media="print")
    shot(page, "zh-printed-report-roc-dates-print")
    page.emulate_media(media="screen")
    page.goto(page.base_url + f"/inspections/{uuid}?lang=en")
    expect(page.locator(".report-head .facts")).to_contain_text(
        re.compile(r"Started\s*\d{4}-\d\d-\d\d \d\d:\d\d")
    )
    shot(page, "en-printed-report-gregorian-dates")


def test_the_supervisors_screens_speak_the_trade(browser, live_server):
    site = _site()
    boss = field_phone(browser, live_server, site, locale="zh-TW")
    boss.goto(boss.base_url + "/login")
    sign_in(boss, "supervisor")
    tabs = boss.get_by_role("navigation", name="主選單").last
    expect(tabs.get_by_role("link", name="公告交辦")).to_be_visible()
    expect(tabs).not_to_contain_text("勤前教育")
    shot(boss, "zh-words-home")

    boss.goto(boss.base_url + f"/sites/{site.id}")
    expect(boss.get_by_role("button", name="開始巡檢")).to_be_visible()
    expect(boss.locator("main")).not_to_contain_text("巡查")
    shot(boss, "zh-words-site-card")
    boss.get_by_role("button", name="開始巡檢").click()
    expect(boss.get_by_role("heading", level=1)).to_contain_text("查核表")
    expect(boss.locator("main")).not_to_contain_text("巡查")
    shot(boss, "zh-words-inspection-run")

    tabs.get_by_role("link", name="公告交辦").click()
    expect(boss.get_by_role("heading", level=1)).to_have_text("公告交辦")
    shot(boss, "zh-words-briefings-tab")

    boss.goto(boss.base_url + f"/alarms/new?site={site.id}")
    boss.get_by_label("訊號").select_option("intrusion")
    boss.get_by_label("指派保全人員").select_option(label="陳志明")
    boss.get_by_role("button", name="記錄警報").click()
    expect(boss.locator("li.step", has_text="已派員")).to_contain_text("陳志明")
    expect(boss.get_by_text(re.compile(r"到場時限：\d+ 分鐘"))).to_be_visible()
    expect(boss.locator("main")).not_to_contain_text("解除")
    shot(boss, "zh-words-alarm")
    boss.get_by_role("link", name="EN", exact=True).click()
    expect(boss.locator("li.step", has_text="Guard dispatched")).to_contain_text("陳志明")
    expect(boss.get_by_text(re.compile(r"Arrival time limit: \d+ minutes"))).to_be_visible()
    shot(boss, "en-words-alarm")
    boss.context.close()


def test_the_pledge_is_acknowledged_in_its_own_words(page):
    load_demo_vault()  # the demo's confidentiality pledge
    db.session.commit()
    page.goto(page.base_url + "/login")
    sign_in(page, "guard")
    page.get_by_role("navigation", name="主選單").last.get_by_role("link", name="公告交辦").click()
    page.get_by_role("link", name=re.compile("保密切結書")).first.click()
    pledge = page.get_by_role("button", name="本人已詳閱並同意遵守")
    expect(pledge).to_be_visible()
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    shot(page, "zh-words-pledge", full_page=False)
    pledge.click()
    expect(page.get_by_role("status").first).to_be_visible()
    shot(page, "zh-words-pledge-acknowledged")

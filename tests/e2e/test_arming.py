"""Arm/disarm records on a phone (390×844), in both languages: the site card's 30 days with the
demo's unarmed evening and night disarm, a record entered by hand, a CSV import refused row by
row and then imported, the opening hours, and a manager's integration whose token shows once.
Screenshots go to tests/e2e/screenshots (arm-*)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from app.arming.models import ArmEvent
from app.db import utcnow
from app.extensions import db
from app.i18n import TAIPEI
from app.sites.models import Site
from tests.e2e.conftest import field_phone, shot
from tests.e2e.test_shell import sign_in

WORDS = {
    "en": {
        "section": "Arm / disarm",
        "last30": "Last 30 days",
        "not_armed": "Not armed",
        "all": "All arm/disarm records",
        "by_hand": "Enter by hand",
        "armed": "Armed",
        "when": "When (Taiwan time)",
        "save": "Save",
        "recorded": "Event recorded.",
    },
    "zh": {
        "section": "設定／解除",
        "last30": "近 30 日",
        "not_armed": "未設定",
        "all": "全部設定／解除紀錄",
        "by_hand": "人工輸入",
        "armed": "設定",
        "when": "時間（臺灣時間）",
        "save": "儲存",
        "recorded": "紀錄已儲存。",
    },
}


def _csv(tmp_path, name: str, rows: list[str]):
    path = tmp_path / name
    path.write_text("案場代碼,設定/解除,時間,使用者編號\r\n" + "\r\n".join(rows) + "\r\n")
    return path


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_supervisor_reads_the_30_days_enters_one_and_imports_a_file(
    browser, live_server, tmp_path, lang
):
    words = WORDS[lang]
    site = db.session.scalar(select(Site).where(Site.code == "TPE-0001"))
    page = field_phone(browser, live_server, site, locale="zh-TW" if lang == "zh" else "en-US")
    try:
        page.goto(page.base_url + f"/login?lang={'zh-TW' if lang == 'zh' else 'en'}")
        sign_in(page, "supervisor", lang=lang)
        page.goto(page.base_url + f"/sites/{site.id}")
        section = page.locator("#arming")
        expect(section.get_by_role("heading", level=2)).to_have_text(words["section"])
        section.get_by_text(words["last30"]).click()
        expect(section.locator("tr.arm-flagged").first).to_contain_text(words["not_armed"])
        section.scroll_into_view_if_needed()
        shot(page, f"arm-{lang}-site-card")

        section.get_by_role("link", name=words["all"]).click()
        page.get_by_role("link", name=words["by_hand"]).click()
        page.get_by_label(words["armed"], exact=True).check()
        when = (utcnow() - timedelta(minutes=40)).astimezone(TAIPEI)
        page.get_by_label(words["when"]).fill(when.strftime("%Y-%m-%dT%H:%M"))
        shot(page, f"arm-{lang}-enter")
        page.get_by_role("button", name=words["save"]).click()
        expect(page.get_by_text(words["recorded"])).to_be_visible()
        expect(page.locator("#arm-events li").first).to_contain_text(when.strftime("%H:%M"))
        shot(page, f"arm-{lang}-events")

        # A file with errors: each is named by row and column; nothing can be confirmed.
        page.goto(page.base_url + "/arming/import")
        stamp = (utcnow() - timedelta(days=2)).astimezone(TAIPEI).strftime("%Y-%m-%d")
        bad = _csv(
            tmp_path,
            "bad.csv",
            [f"TPE-0001,解除,{stamp} 08:20,01", f"TPE-0001,開門,{stamp} 18:10,01"],
        )
        page.locator("input[type=file]").set_input_files(bad)
        page.locator("form[enctype] button[type=submit]").click()
        expect(page.get_by_role("alert")).to_contain_text("3")
        expect(page.get_by_role("button", name=re.compile("Import these|匯入這些"))).to_have_count(
            0
        )
        shot(page, f"arm-{lang}-import-errors")

        before = db.session.scalar(select(func.count(ArmEvent.id)))
        good = _csv(
            tmp_path,
            "good.csv",
            [f"TPE-0002,解除,{stamp} 23:40,02", f"TPE-0002,設定,{stamp} 23:55,02"],
        )
        page.locator("input[type=file]").set_input_files(good)
        page.locator("form[enctype] button[type=submit]").click()
        confirm = page.get_by_role("button", name=re.compile("Import these|匯入這些"))
        expect(confirm).to_be_visible()
        shot(page, f"arm-{lang}-import-preview")
        confirm.click()
        expect(page.get_by_text(re.compile("2 events imported|已匯入 2 筆"))).to_be_visible()
        assert db.session.scalar(select(func.count(ArmEvent.id))) == before + 2
    finally:
        page.context.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_manager_creates_an_integration_and_admin_sees_the_hours(page, lang):
    site = db.session.scalar(select(Site).where(Site.code == "TPE-0001"))
    query = "?lang=en" if lang == "en" else "?lang=zh-TW"
    page.goto(page.base_url + "/login" + query)
    sign_in(page, "manager", lang=lang)
    page.goto(page.base_url + "/arming/integrations/new")
    page.locator("#name").fill("監控中心 B")
    page.get_by_label(re.compile("TPE-0001")).check()
    page.locator("form button[type=submit]").click()
    token = page.locator("#token")
    expect(token).to_contain_text("gpa_")
    shot(page, f"arm-{lang}-token")
    page.goto(page.base_url + "/arming/integrations")
    expect(page.locator("#integrations")).to_contain_text("監控中心 B")
    shot(page, f"arm-{lang}-integrations")
    page.goto(page.base_url + "/account")
    page.locator("form[action$='/logout'] button").first.click()

    page.goto(page.base_url + "/login" + query)
    sign_in(page, "admin", lang=lang)
    page.goto(page.base_url + f"/sites/{site.id}/hours")
    expect(page.locator("#d0_opens")).to_have_value("08:30")
    shot(page, f"arm-{lang}-hours")

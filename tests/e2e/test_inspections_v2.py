"""Checklist version 2 on a phone (issue 13): an item for a system the site lacks is shown as
not applicable and not asked; the CCTV retention days are a number; in English and Chinese."""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.extensions import db
from app.sites.models import Site
from tests.e2e.conftest import field_phone, shot
from tests.e2e.test_shell import sign_in

OUT = Path(tempfile.gettempdir()) / "ck-shots"


@pytest.fixture
def field_page(browser, live_server):
    site = db.session.scalar(select(Site).where(Site.code == "TPE-0001"))  # no panic buttons
    page = field_phone(browser, live_server, site)
    yield page
    page.context.close()


def keep(page, name: str, *, full_page: bool = False) -> None:
    OUT.mkdir(exist_ok=True)
    shutil.copy(shot(page, name, full_page=full_page), OUT / f"{name}.png")


def test_version_2_run_page_in_english_and_chinese(field_page):
    page = field_page
    page.goto(page.base_url + f"/s/{page.site.qr_token}")
    sign_in(page, "supervisor", "en")
    page.get_by_role("button", name="Start an inspection").click()
    expect(page.get_by_text("0 / 41 answered")).to_be_visible()
    panic = page.locator("article.item-na")
    expect(panic).to_have_count(1)
    expect(panic).to_contain_text("Not applicable")
    expect(panic).to_contain_text("This site has no Panic buttons")
    expect(panic.locator("button")).to_have_count(0)
    panic.scroll_into_view_if_needed()
    keep(page, "en-v2-not-applicable")
    retention = page.locator("article.item", has_text="CCTV retention (days)")
    expect(retention).to_contain_text("Passes from 30")
    retention.locator("input[name=value]").fill("45")
    retention.get_by_role("button", name="Save").click()
    expect(retention).to_have_class(re.compile("item-pass"))
    retention.scroll_into_view_if_needed()
    keep(page, "en-v2-retention")
    page.goto(page.url.split("?")[0] + "?lang=zh-TW")
    expect(page.get_by_text("已作答 1 / 41")).to_be_visible()
    page.locator("article.item-na").scroll_into_view_if_needed()
    expect(page.locator("article.item-na")).to_contain_text("不適用")
    keep(page, "zh-v2-not-applicable")
    zh_retention = page.locator("article.item", has_text="錄影保存天數")
    expect(zh_retention).to_contain_text("合格範圍：30 以上")
    zh_retention.scroll_into_view_if_needed()
    keep(page, "zh-v2-retention")
    keep(page, "zh-v2-run-full", full_page=True)

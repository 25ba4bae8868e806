"""A supervisor records an hour of on-the-job training on his phone and reads the month's
list (per guard, per site) in both languages: below 4 hours is said in words."""

from __future__ import annotations

import shutil
from pathlib import Path

from playwright.sync_api import expect

from app.i18n import taipei_today
from tests.e2e.conftest import shot
from tests.e2e.test_briefings import new_phone
from tests.e2e.test_shell import sign_in

OUT = Path("/tmp/tr-shots")  # noqa: S108 (where the review of this change looks)


def _keep(page, name):
    OUT.mkdir(exist_ok=True)
    shutil.copy(shot(page, name), OUT / f"{name}.png")


def test_record_on_the_job_training_and_read_the_month(browser, live_server):
    context, boss = new_phone(browser, live_server, "en-US")
    boss.goto(live_server + "/login")
    sign_in(boss, "supervisor", "en")
    boss.goto(live_server + "/training/new")
    boss.get_by_label("Kind of training").select_option("on_the_job")
    boss.get_by_label("Topic").select_option("anti_robbery")
    boss.get_by_label("Date").fill(taipei_today().isoformat())
    boss.get_by_label("Hours").fill("1.5")
    boss.locator('input[name="user_id"]').first.check()
    _keep(boss, "en-training-form")
    boss.get_by_role("button", name="Save").click()
    expect(boss.get_by_role("status").first).to_be_visible()
    boss.get_by_role("link", name="Hours by month").click()
    expect(boss.locator(".training-month")).to_contain_text("below 4 h")
    _keep(boss, "en-training-month")
    boss.get_by_role("link", name="中文", exact=True).click()
    expect(boss.locator(".training-month")).to_contain_text("未達 4 小時")
    _keep(boss, "zh-training-month")
    boss.goto(live_server + "/training/new")
    _keep(boss, "zh-training-form")
    context.close()

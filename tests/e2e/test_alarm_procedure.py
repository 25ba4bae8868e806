"""Issue 13 item 3 on a phone (390x844): an alarm from receipt through the call-back (the
call-back password revealed with its purpose, after a step-up), dispatch (the push it queued
for the guard's phone sent by the jobs runner to a local push service, decrypted there and
shown by the phone's real service worker), the guard's QR
arrival, the police case number, findings, re-arming and closing (處理完畢); then the
false-alarm figures and the alarms they count. Every changed screen in Chinese and English."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.auth.models import User
from app.briefings import services as briefings
from app.db import new_uuid, utcnow
from app.demo import DEMO_PASSWORD, load_demo_vault
from app.extensions import db
from app.incidents import services as alarms
from app.incidents.models import AlarmResponse
from app.jobs import tasks
from app.sites.models import Site
from app.vault.models import VaultAccess
from tests.e2e.conftest import (
    WorkerPush,
    field_phone,
    push_service_stub,
    shot,
    wait_for_worker,
)
from tests.e2e.test_shell import sign_in


def step(page, name: str):
    """One step of the alarm page's procedure list, found by its name."""
    return page.locator("ol.steps li.step", has_text=name)


@pytest.fixture
def demo(live_server):
    """The demo's vault (TPE-0001's call-back password 「玉山日出」), the supervisor's pledge,
    and yesterday's false alarm at TPE-0001 (user error) for the figures."""
    load_demo_vault()
    boss = db.session.scalar(select(User).where(User.username == "supervisor"))
    briefings.acknowledge(briefings.current_pledge(), user=boss)
    site = db.session.scalar(select(Site).where(Site.code == "TPE-0001"))
    yesterday = alarms.open_alarm(
        site,
        user=boss,
        uuid=new_uuid(),
        received_at=utcnow() - timedelta(days=1),
        signal_type="intrusion",
        zone="01 大門磁簧",
    )
    alarms.record_callback(
        yesterday,
        user=boss,
        at=utcnow() - timedelta(days=1),
        answered_by="林經理",
        result="matched",
    )
    alarms.confirm_rearm(
        yesterday, user=boss, at=utcnow() - timedelta(hours=23), rearmed_by="業主 林經理"
    )
    alarms.close(yesterday, user=boss, at=utcnow() - timedelta(hours=23), cause="user_error")
    db.session.commit()
    return {"site": site, "boss": boss}


@pytest.fixture
def phones(browser, live_server):
    contexts = []

    def open_phone(site, locale="zh-TW", notifications=False, push_device=None):
        page = field_phone(browser, live_server, site, locale=locale, notifications=notifications)
        contexts.append(page.context)
        if push_device is not None:
            push_service_stub(page.context, push_device)
        return page

    yield open_phone
    for context in contexts:
        context.close()


def test_an_alarm_from_receipt_to_closed_and_the_false_alarm_figures(demo, phones, receiver):
    site = demo["site"]
    boss = phones(site)
    boss.goto(boss.base_url + "/login")
    sign_in(boss, "supervisor")

    # Receipt: signal and zone.
    boss.goto(boss.base_url + f"/alarms/new?site={site.id}")
    boss.get_by_label("訊號").select_option("intrusion")
    boss.get_by_label("防區").fill("03 後門磁簧")
    shot(boss, "zh-alarm-new")
    boss.get_by_role("button", name="記錄警報").click()
    expect(boss.get_by_text("防區入侵").first).to_be_visible()
    alarm_url = boss.url.split("#")[0]
    shot(boss, "zh-alarm-received")

    # The call-back: the password revealed from the vault, after confirming it is him.
    boss.get_by_role("button", name="顯示 通話密語").click()
    expect(boss.get_by_role("heading", name="確認是您本人")).to_be_visible()
    boss.locator("input[name=password]").fill(DEMO_PASSWORD)
    boss.get_by_role("button", name="確認", exact=True).click()
    expect(boss).to_have_url(alarm_url)
    boss.get_by_role("button", name="顯示 通話密語").click()
    expect(boss.get_by_text("玉山日出")).to_be_visible()
    boss.locator("#callback-password").scroll_into_view_if_needed()
    shot(boss, "zh-alarm-callback-password", full_page=False)
    boss.get_by_label("接聽者").fill("林經理（店長）")
    boss.locator("label.choice", has_text="密語不符").click()
    boss.get_by_role("button", name="記錄回電結果").click()
    expect(step(boss, "回電業主")).to_contain_text("密語不符 · 林經理（店長）")

    # The guard has push turned on on his phone (its push service is the local receiver).
    device = receiver.device("guard-phone")
    guard = phones(site, notifications=True, push_device=device)
    guard.goto(guard.base_url + "/login")
    sign_in(guard, "guard")
    guard.goto(guard.base_url + "/account/push")
    wait_for_worker(guard)
    guard.get_by_role("button", name="在這支手機開啟推播").click()
    expect(guard.locator("[data-push-this]")).to_be_visible()  # listed by the server
    expect(guard.locator("[data-push-state]")).to_have_text("開啟：這支手機會收到您的推播通知。")
    expect(guard.locator("[data-push-enable]")).to_be_hidden()  # on already: no "turn on"
    expect(guard.get_by_label("我被派往處理警報")).to_be_checked()

    # Dispatch: the push the dispatch queued for the guard's phone is sent by the jobs runner,
    # decrypted by the push service's stand-in and shown by the phone's service worker.
    boss.get_by_label("指派保全人員").select_option(label="陳志明")
    boss.get_by_role("button", name="立即派員").click()
    expect(step(boss, "已派員")).to_contain_text("陳志明")
    assert receiver.received == []  # the request queued it; the jobs runner sends it
    assert tasks.push_outbox(utcnow()) == 1
    db.session.commit()
    [sent] = receiver.for_device(device)
    assert sent["headers"]["urgency"] == "high"
    worker = WorkerPush(guard)
    worker.deliver(device.decrypt(sent["body"]))
    [shown] = worker.shown()
    assert (shown["title"], shown["body"]) == ("Guardpost", f"您已被派往 {site.name} 處理警報")
    assert shown["url"] == alarm_url.replace(boss.base_url, guard.base_url)
    shot(guard, "zh-alarm-guard-push-on")

    # The guard taps it and goes; his QR scan is the arrival.
    guard.goto(shown["url"])
    expect(guard.get_by_text("防區入侵").first).to_be_visible()
    shot(guard, "zh-alarm-guard-from-push")
    guard.goto(guard.base_url + f"/s/{site.qr_token}")
    expect(guard.locator(".check-in-result")).to_be_visible()
    boss.goto(alarm_url)
    expect(step(boss, "已到場")).to_contain_text("掃描 QR Code")

    # Closing an intrusion before the police notification is refused, and says why.
    boss.get_by_label("原因").select_option("intrusion")
    boss.get_by_role("button", name="處理完畢，結案").click()
    expect(boss.get_by_role("alert").first).to_contain_text("受理單位及案號")
    shot(boss, "zh-alarm-close-refused", full_page=False)

    # The police (保全業法 §4-1) with the receiving unit and the case number; the station is a tap.
    expect(boss.locator("a.tel-link").first).to_have_attribute("href", re.compile("^tel:"))
    boss.get_by_label("受理單位").fill("信義分局 三張犁派出所")
    boss.get_by_label("案號").fill("1151126-0042")
    boss.get_by_role("button", name="記錄警察機關通報").click()
    expect(step(boss, "已通報警方")).to_contain_text("信義分局 三張犁派出所 · 案號 1151126-0042")
    boss.get_by_role("textbox", name="現場狀況").fill(
        "後門門鎖遭破壞，倉庫紙箱散落，未見可疑人士。"
    )
    boss.get_by_role("button", name="記錄現場狀況").click()
    expect(boss.get_by_text("後門門鎖遭破壞", exact=False).first).to_be_visible()
    shot(boss, "zh-alarm-running")
    boss.get_by_label("設定人員").fill("機動保全人員 陳志明")
    boss.get_by_role("button", name="確認已重新設定").click()
    expect(step(boss, "已重新設定")).to_contain_text("機動保全人員 陳志明")
    boss.get_by_label("原因").select_option("intrusion")
    boss.get_by_role("button", name="處理完畢，結案").click()
    expect(boss.locator("header .badge-ok")).to_have_text("已結案")
    expect(step(boss, "處理完畢")).to_contain_text("入侵（竊盜、強盜）")
    assert "解除" not in boss.locator("main").inner_text()
    shot(boss, "zh-alarm-closed")
    boss.get_by_role("link", name="EN", exact=True).click()
    expect(step(boss, "Handled, closed")).to_contain_text("Intrusion (theft, robbery)")
    expect(boss.get_by_text("case no. 1151126-0042")).to_be_visible()
    shot(boss, "en-alarm-closed")

    alarm = db.session.scalar(select(AlarmResponse).where(AlarmResponse.zone == "03 後門磁簧"))
    db.session.refresh(alarm)
    assert alarm.callback_result == "not_matched" and alarm.arrival_check_in_id is not None
    assert (alarm.police_unit, alarm.police_case_number) == (
        "信義分局 三張犁派出所",
        "1151126-0042",
    )
    assert alarm.rearmed_at is not None and alarm.cause == "intrusion"
    reveal = db.session.scalars(
        select(VaultAccess).where(VaultAccess.action == "reveal").order_by(VaultAccess.id)
    ).all()
    assert [(r.outcome, r.purpose) for r in reveal][-1] == ("success", "alarm_response")

    # The figures: TPE-0001 had two alarms, one false (yesterday's user error): 50 %.
    boss.goto(boss.base_url + "/alarms/figures")
    row = boss.locator(".figures-row", has_text="TPE-0001")
    expect(row).to_contain_text("50%")
    shot(boss, "en-alarm-figures")
    row.get_by_role("link", name=re.compile("false alarms")).click()
    expect(boss.locator("li.list-item")).to_have_count(1)
    expect(boss.locator("li.list-item")).to_contain_text("User error")
    shot(boss, "en-alarms-false-only")
    boss.get_by_role("link", name="中文", exact=True).click()
    shot(boss, "zh-alarms-false-only")
    boss.goto(boss.base_url + "/alarms/figures")
    expect(boss.locator(".figures-row", has_text="TPE-0001")).to_contain_text("50%")
    shot(boss, "zh-alarm-figures")


def test_the_running_alarm_and_the_new_alarm_form_in_english(demo, phones):
    site = demo["site"]
    running = alarms.open_alarm(
        site,
        user=demo["boss"],
        uuid=new_uuid(),
        received_at=utcnow() - timedelta(minutes=3),
        signal_type="panic",
        zone="櫃台緊急按鈕",
    )
    db.session.commit()
    boss = phones(site, locale="en-US")
    boss.goto(boss.base_url + "/login")
    sign_in(boss, "supervisor", "en")
    boss.goto(boss.base_url + "/alarms/new")
    expect(boss.get_by_label("Signal")).to_be_visible()
    shot(boss, "en-alarm-new")
    boss.goto(boss.base_url + f"/alarms/{running.id}")
    expect(boss.get_by_role("button", name="Reveal Call-back password")).to_be_visible()
    expect(boss.get_by_text("Panic / duress button")).to_be_visible()
    shot(boss, "en-alarm-running")
    boss.goto(boss.base_url + "/alarms")
    shot(boss, "en-alarms")
    boss.get_by_role("link", name="中文", exact=True).click()
    shot(boss, "zh-alarms")

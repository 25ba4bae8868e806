"""A month's control-record sheet from preparation to the client's signature: the supervisor
prepares it on his phone, the manager approves and releases it, the client signs in on a
phone, reads it, downloads the PDF and acknowledges receipt (簽收). Both languages."""

from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import select

from app.extensions import db
from app.i18n import taipei_today
from app.records.models import ControlRecordSheet
from app.sites.models import Site
from tests.e2e.conftest import shot
from tests.e2e.test_briefings import new_phone
from tests.e2e.test_shell import sign_in


def _last_month() -> str:
    first = taipei_today().replace(day=1)
    year, month = (first.year - 1, 12) if first.month == 1 else (first.year, first.month - 1)
    return f"{year}-{month:02d}"


def test_sheet_prepared_approved_released_and_signed_for(browser, live_server):
    site = db.session.scalar(select(Site).where(Site.code == "TPE-0002"))

    context, boss = new_phone(browser, live_server, "zh-TW")
    boss.goto(live_server + "/login")
    sign_in(boss, "supervisor", "zh")
    boss.goto(live_server + "/records")
    boss.get_by_role("link", name="製作本月紀錄表").click()
    boss.get_by_label("案場").select_option(str(site.id))
    boss.get_by_label("月份").fill(_last_month())
    boss.get_by_label("督導意見").fill("本月巡檢正常，後門感知器誤報一次，已請廠商調整。")
    shot(boss, "zh-records-prepare")
    boss.get_by_role("button", name="製作並送核").click()
    expect(boss.locator(".sheet-actions .badge")).to_have_text("待核准")
    expect(boss.locator(".sheet-title")).to_have_text("管控紀錄表")
    shot(boss, "zh-records-sheet-supervisor")
    context.close()

    context, manager = new_phone(browser, live_server, "en-US")
    manager.goto(live_server + "/login?lang=en")
    sign_in(manager, "manager", "en")
    manager.goto(live_server + "/records?lang=en")
    shot(manager, "en-records-list-manager")
    manager.locator(".list-link").first.click()
    manager.get_by_role("button", name="Approve").click()
    expect(manager.locator(".sheet-actions .badge")).to_have_text("Approved")
    manager.get_by_role("button", name="Release to the client").click()
    expect(manager.locator(".sheet-actions .badge")).to_have_text("Released to the client")
    shot(manager, "en-records-sheet-manager")
    context.close()

    sheet = db.session.scalar(select(ControlRecordSheet))
    db.session.refresh(sheet)
    assert sheet.status == "released" and sheet.snapshot

    context, reader = new_phone(browser, live_server, "zh-TW")
    reader.goto(live_server + "/login")
    sign_in(reader, "client", "zh")
    reader.goto(live_server + "/records")
    reader.locator(".list-link").first.click()
    expect(reader.locator(".sheet-title")).to_have_text("管控紀錄表")
    expect(reader.locator(".sheet-remarks")).to_contain_text("後門感知器誤報一次")
    with reader.expect_download() as download:
        reader.get_by_role("link", name="下載 PDF").click()
    pdf = download.value.path().read_bytes()
    assert pdf.startswith(b"%PDF")
    shot(reader, "zh-records-sheet-client")
    reader.get_by_role("button", name="簽收").click()
    expect(reader.locator(".sheet-actions .badge")).to_have_text("業主已簽收")
    expect(reader.locator(".sheet-signatures")).to_contain_text("黃淑芬")
    shot(reader, "zh-records-sheet-acknowledged")
    reader.get_by_role("link", name="EN", exact=True).click()
    expect(reader.locator(".sheet-actions .badge")).to_have_text("Signed for by the client")
    shot(reader, "en-records-sheet-client")
    context.close()

    db.session.refresh(sheet)
    assert sheet.status == "acknowledged"

"""The client's portal on phones (issue 14 item 4): a manager shares an incident with a summary
for the client; the client signs in on his phone, taps his site, reads the summary and the open
repair — and never the narrative."""

from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import expect
from sqlalchemy import select

from app.auth.models import User
from app.db import new_uuid, utcnow
from app.extensions import db
from app.maintenance.models import RepairTicket
from app.sites.models import Site
from tests.e2e.conftest import PHONE, shot
from tests.e2e.test_shell import sign_in
from tests.factories import gen_incident

NARRATIVE = "大廳紅外線觸發；管理員張先生（0933-222-111）表示忘記解除。"
SUMMARY = "晚間大廳警報響起，保全人員 10 分鐘內到場，確認為誤觸，無異常。"
PROBLEM = "大廳紅外線感知器靈敏度過高，待調整"


def _incident_and_repair() -> tuple[int, Site]:
    site = db.session.scalars(select(Site).where(Site.code == "TPE-0001")).one()
    supervisor = db.session.scalars(select(User).where(User.username == "supervisor")).one()
    incident = gen_incident(
        site,
        supervisor,
        category="false_alarm",
        severity="low",
        narrative=NARRATIVE,
        occurred_at=utcnow() - timedelta(hours=20),
    )
    db.session.add(
        RepairTicket(
            uuid=new_uuid(),
            site_id=site.id,
            problem=PROBLEM,
            vendor="內部：示範廠商",
            due_on=(utcnow() + timedelta(days=6)).date(),
            reported_by_id=supervisor.id,
        )
    )
    db.session.commit()
    return incident.id, site


def test_manager_shares_an_incident_and_the_client_reads_it_on_his_phone(page, browser):
    incident_id, site = _incident_and_repair()

    # The manager writes the summary the client will read, and shares it.
    page.goto(page.base_url + "/login")
    sign_in(page, "manager")
    page.goto(f"{page.base_url}/incidents/{incident_id}")
    expect(page.get_by_text("未分享：業主看不到這件異常事件。")).to_be_visible()
    page.get_by_label("給業主的摘要").fill(SUMMARY)
    page.get_by_role("button", name="分享給業主").click()
    expect(page.get_by_text("已與業主分享。")).to_be_visible()
    expect(page.get_by_role("button", name="停止分享")).to_be_visible()
    shot(page, "zh-portal-manager-shared")

    # The client, on his own phone.
    context = browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale="zh-TW"
    )
    context.route("https://cdn.jsdelivr.net/**", lambda route: route.abort())
    phone = context.new_page()
    try:
        phone.goto(page.base_url + "/login")
        sign_in(phone, "client")
        row = phone.get_by_role("link", name=site.name)
        expect(row).to_contain_text("1 件異常事件")
        expect(row).to_contain_text("1 件報修未完成")
        shot(phone, "zh-portal-client-home")
        row.tap()
        expect(phone.get_by_role("heading", level=1)).to_have_text(site.name)
        expect(phone.get_by_text(SUMMARY)).to_be_visible()
        expect(phone.get_by_text(PROBLEM)).to_be_visible()
        expect(phone.get_by_text("保全公司將管控紀錄表提供給您後，會顯示在這裡。")).to_be_visible()
        body = phone.locator("main").inner_text()
        assert "張先生" not in body and "0933-222-111" not in body and "示範廠商" not in body
        shot(phone, "zh-portal-client-site")

        phone.get_by_role("link", name="EN", exact=True).click()
        expect(phone.get_by_role("heading", name="Open repairs")).to_be_visible()
        expect(phone.get_by_text("False alarm")).to_be_visible()
        expect(phone.get_by_text(SUMMARY)).to_be_visible()
        shot(phone, "en-portal-client-site")
        phone.get_by_role("link", name="Your sites").click()
        expect(phone.get_by_role("link", name=site.name)).to_contain_text("1 incident")
        shot(phone, "en-portal-client-home")
    finally:
        context.close()

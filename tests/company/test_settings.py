"""The company setting: the administrator's page, its audit row, and the printed report's dates."""

from __future__ import annotations

from datetime import UTC, datetime

from flask_migrate import downgrade, upgrade
from sqlalchemy import select, text

from app.audit.models import AuditEvent
from app.company import services as svc
from app.company.models import CompanySetting
from app.extensions import db
from tests import factories
from tests.conftest import make_app


def test_before_anyone_chooses_printed_dates_are_gregorian(app):
    with app.test_request_context():
        assert svc.date_calendar() == "gregorian" and svc.company_name() == ""


def test_the_admin_chooses_the_roc_calendar_and_the_change_is_audited(client, make_user, login):
    admin = make_user("admin")
    login(admin)
    page = client.get("/admin/company").text
    assert "公司設定" in page and "民國紀年" in page and "今天的日期在列印報告上顯示為" in page
    response = client.post(
        "/admin/company", data={"company_name": " 台北保全股份有限公司 ", "date_calendar": "roc"}
    )
    assert response.status_code == 303
    setting = db.session.get(CompanySetting, 1)
    assert (setting.company_name, setting.date_calendar) == ("台北保全股份有限公司", "roc")
    assert setting.updated_by_id == admin.id
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "company.updated")
    ).one()
    assert event.actor_id == admin.id and "roc" in event.detail
    assert "民國 " in client.get("/admin/company").text


def test_saving_the_same_values_again_writes_no_audit_row(client, make_user, login):
    login(make_user("admin"))
    data = {"company_name": "", "date_calendar": "roc"}
    client.post("/admin/company", data=data)
    client.post("/admin/company", data=data)
    count = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "company.updated")
    ).all()
    assert len(count) == 1


def test_a_calendar_not_offered_is_refused_on_the_form(client, make_user, login):
    login(make_user("admin"))
    response = client.post("/admin/company?lang=en", data={"date_calendar": "julian"})
    assert response.status_code == 200 and "Not a valid choice" in response.text
    assert db.session.get(CompanySetting, 1) is None or (
        db.session.get(CompanySetting, 1).date_calendar == "gregorian"
    )


def _report(client, make_user, login, *, calendar: str, lang: str) -> str:
    admin = make_user("admin")
    svc.save_setting(actor=admin, company_name="台北保全股份有限公司", date_calendar=calendar)
    site = factories.gen_site()
    supervisor = make_user("supervisor")
    inspection = factories.gen_inspection(
        site,
        supervisor,
        status="submitted",
        started_at=datetime(2026, 11, 25, 2, 0, tzinfo=UTC),
        submitted_at=datetime(2026, 11, 25, 2, 40, tzinfo=UTC),
    )
    db.session.commit()
    login(make_user("manager"))
    return client.get(f"/inspections/{inspection.uuid}?lang={lang}").text


def test_the_printed_report_shows_roc_dates_in_chinese(client, make_user, login):
    page = _report(client, make_user, login, calendar="roc", lang="zh-TW")
    assert "民國 115 年 11 月 25 日 10:00" in page and "民國 115 年 11 月 25 日 10:40" in page
    assert "台北保全股份有限公司" in page


def test_the_printed_report_in_english_keeps_gregorian_dates(client, make_user, login):
    page = _report(client, make_user, login, calendar="roc", lang="en")
    assert "2026-11-25 10:00" in page and "民國" not in page


def test_the_printed_report_with_gregorian_dates(client, make_user, login):
    page = _report(client, make_user, login, calendar="gregorian", lang="zh-TW")
    assert "2026-11-25 10:00" in page and "民國 115" not in page


def test_the_migration_writes_the_one_row_with_gregorian_dates(tmp_path):
    app = make_app(tmp_path, f"sqlite:///{tmp_path / 'm.db'}")
    with app.app_context():
        upgrade(revision="e5b8d21f0a7c")
        row = db.session.execute(
            text("SELECT id, company_name, date_calendar FROM company_setting")
        ).all()
        assert [tuple(r) for r in row] == [(1, "", "gregorian")]
        db.session.rollback()
        downgrade(revision="c4a9e2f7b1d3")
        db.session.remove()
        db.engine.dispose()

"""Retention (issue 12 item 8): the daily job deletes records past their day, audited, never
the value; a changed contract end moves the days that were its default."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app import audit
from app.audit.models import AuditEvent
from app.extensions import db
from app.jobs import runner
from app.jobs.tasks import JOBS, vault_retention
from app.sites import services as sites_services
from app.vault import retention, services
from app.vault.models import ConfidentialRecord, VaultAccess
from tests.factories import gen_client, gen_site, gen_user

SECRET = "ALARM-9911-RETAIN"
#: 2027-03-01 16:30 UTC is 2027-03-02 00:30 in Taipei: the job's day is Taipei's.
NOW = datetime(2027, 3, 1, 16, 30, tzinfo=UTC)
TAIPEI_TODAY = date(2027, 3, 2)


def _record(site, user, retain_until, *, label="主機", value=SECRET, category="alarm_code"):
    return services.create_record(
        user=user,
        site=site,
        category=category,
        label=label,
        value=value,
        retain_until=retain_until,
    )


def _set_day(record, day):
    """create_record takes None as "the default": put a None (or any day) on afterwards."""
    record.retain_until = day
    db.session.flush()


@pytest.fixture
def world(app):
    user, site = gen_user("manager"), gen_site()
    past = _record(site, user, TAIPEI_TODAY - timedelta(days=1), label="過期一")
    today = _record(site, user, TAIPEI_TODAY, label="今天到期")
    future = _record(site, user, TAIPEI_TODAY + timedelta(days=30), label="未到期")
    undated = _record(site, user, None, label="無期限")
    _set_day(undated, None)
    db.session.commit()
    return {"user": user, "site": site, "past": past, "today": today, "future": future}


def _labels() -> set[str]:
    return set(db.session.scalars(select(ConfidentialRecord.label)))


def test_the_job_purges_only_records_whose_day_has_passed_in_taipei(world):
    assert vault_retention(NOW) == 1
    db.session.expire_all()
    # The last day to keep is kept whole; no day means never by the job.
    assert _labels() == {"今天到期", "未到期", "無期限"}


def test_each_purge_leaves_an_access_row_and_an_audit_event_without_the_value(world):
    past = world["past"]
    uuid, site_id = past.uuid, past.site_id
    vault_retention(NOW)
    db.session.expire_all()
    row = db.session.scalars(select(VaultAccess).where(VaultAccess.action == "purge")).one()
    assert row.user_id is None and row.record_uuid == uuid and row.record_label == "過期一"
    assert row.reason == "retention" and row.site_id == site_id and row.record_id is None
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "vault.purged")).one()
    assert event.actor_name == "system" and event.target == f"confidential_record:{uuid}"
    assert '"category": "alarm_code"' in event.detail and "過期一" in event.detail
    assert str(TAIPEI_TODAY - timedelta(days=1)) in event.detail
    assert row.audit_seq is not None
    for table, column in ((AuditEvent, AuditEvent.detail), (VaultAccess, VaultAccess.record_label)):
        hits = db.session.scalar(
            select(func.count()).select_from(table).where(column.contains("9911"))
        )
        assert hits == 0
    assert audit.verify_chain().is_intact


def test_the_job_is_idempotent_and_runs_in_batches(app, world):
    user, site = world["user"], world["site"]
    for n in range(5):
        _record(site, user, date(2026, 1, 1), label=f"舊{n}")
    db.session.commit()
    assert retention.purge_expired_in_batches(TAIPEI_TODAY, batch=2, max_batches=2) == 4
    assert retention.count_expired(TAIPEI_TODAY) == 2  # the rest waits for the next run
    assert retention.purge_expired_in_batches(TAIPEI_TODAY, batch=2) == 2
    assert retention.purge_expired_in_batches(TAIPEI_TODAY, batch=2) == 0
    assert vault_retention(NOW) == 0
    purges = db.session.scalar(
        select(func.count()).select_from(VaultAccess).where(VaultAccess.action == "purge")
    )
    assert purges == 6


def test_the_runner_has_the_job_daily_and_logs_its_count(world):
    job = next(j for j in JOBS if j.name == "vault_retention")
    assert job.every == timedelta(days=1)
    outcome = runner.run_job(job, NOW)
    assert outcome.ok and outcome.result == 1


def test_flask_vault_purge_expired(app, runner_cli, world, monkeypatch):
    monkeypatch.setattr("app.vault.cli.taipei_today", lambda: TAIPEI_TODAY)
    dry = runner_cli.invoke(args=["vault", "purge-expired", "--dry-run"])
    assert dry.exit_code == 0 and "1 records" in dry.output
    assert len(_labels()) == 4
    result = runner_cli.invoke(args=["vault", "purge-expired"])
    assert result.exit_code == 0 and "purged 1" in result.output, result.output


@pytest.fixture
def runner_cli(app):
    return app.test_cli_runner()


# ---------------------------------------------------------------- the contract end moves


def test_days_that_were_the_default_follow_a_changed_contract_end(app):
    app.config["VAULT_RETAIN_MONTHS"] = 6
    manager, admin = gen_user("manager"), gen_user("admin")
    client = gen_client(contract_end_on=date(2027, 1, 31))
    site = gen_site(client)
    own = services.create_record(
        user=manager, client=client, category="other", label="總機", value="x"
    )
    at_site = _record(site, manager, None, label="預設")
    chosen = _record(site, manager, date(2030, 5, 5), label="自訂")
    other_client = _record(gen_site(), manager, date(2027, 7, 31), label="別家")
    assert own.retain_until == at_site.retain_until == date(2027, 7, 31)
    db.session.commit()

    values = {"name": client.name, "contract_end_on": date(2027, 12, 31)}
    sites_services.save_client(client, actor=admin, **values)
    db.session.commit()
    db.session.expire_all()
    assert own.retain_until == at_site.retain_until == date(2028, 6, 30)
    assert chosen.retain_until == date(2030, 5, 5)
    assert other_client.retain_until == date(2027, 7, 31)
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "vault.retention_followed")
    ).one()
    assert '"count": 2' in event.detail and event.actor_id == admin.id

    # No end any more: the default is "kept until someone decides".
    sites_services.save_client(client, actor=admin, name=client.name, contract_end_on=None)
    db.session.commit()
    db.session.expire_all()
    assert own.retain_until is None and at_site.retain_until is None
    assert chosen.retain_until == date(2030, 5, 5)


def test_a_record_without_a_day_does_not_take_one_when_the_contract_end_is_first_set(app):
    manager, admin = gen_user("manager"), gen_user("admin")
    client = gen_client(contract_end_on=None)
    record = _record(gen_site(client), manager, None)
    assert record.retain_until is None
    db.session.commit()
    sites_services.save_client(
        client, actor=admin, name=client.name, contract_end_on=date(2027, 1, 1)
    )
    db.session.commit()
    db.session.expire_all()
    assert record.retain_until is None


def test_the_deletion_notice_names_the_day(app):
    assert "2027-03-02" in retention.deletion_notice(date(2027, 3, 2))
    assert "never" in retention.deletion_notice(None)

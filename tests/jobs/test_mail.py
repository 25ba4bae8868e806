"""The e-mail outbox: claimed before sending, sent once, retried with backoff, then given up."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from app.db import utcnow
from app.extensions import db
from app.jobs import tasks
from app.notifications import services as notifications
from app.notifications.models import Notification
from tests.conftest import is_postgres
from tests.jobs.conftest import REFUSED, free_port


def notify(users, key="incident:1:critical"):
    created = notifications.notify(
        users, kind="incident_critical", dedupe_key=key, subject="信義商辦大樓", link="/incidents/1"
    )
    db.session.commit()
    return created


def mail_outbox(now) -> int:
    sent = tasks.mail_outbox(now)
    db.session.commit()
    return sent


def row(note) -> Notification:
    db.session.expire_all()
    return db.session.get(Notification, note.id)


def test_without_smtp_nothing_is_claimed(app, world):
    (note,) = notify([world["supervisor"]])
    assert mail_outbox(utcnow()) == 0
    assert row(note).mail_attempts == 0 and row(note).emailed_at is None


def test_each_mail_goes_once_to_users_with_an_address(app, world, smtp):
    app.config["SMTP_URL"] = smtp.url
    notify([world["supervisor"], world["manager"], world["guard"]])  # the guard has no address
    now = utcnow()
    assert mail_outbox(now) == 2
    assert mail_outbox(now + timedelta(minutes=1)) == 0
    assert smtp.recipients() == ["boss@example.com", "lin@example.com"]
    sent = db.session.scalars(select(Notification).where(Notification.emailed_at.is_not(None)))
    assert all(n.mail_claimed_at is None and n.mail_attempts == 1 for n in sent)


def test_a_dead_server_retries_with_backoff_and_a_recovered_one_delivers(app, world, smtp):
    app.config["SMTP_URL"] = f"smtp://127.0.0.1:{free_port()}"
    (note,) = notify([world["supervisor"]])
    now = utcnow()
    assert mail_outbox(now) == 0
    assert row(note).mail_attempts == 1 and row(note).mail_retry_at == now + timedelta(minutes=2)
    assert row(note).mail_claimed_at is None
    app.config["SMTP_URL"] = smtp.url
    assert mail_outbox(now + timedelta(minutes=1)) == 0  # not before its retry time
    assert smtp.messages == [] and row(note).mail_attempts == 1
    assert mail_outbox(now + timedelta(minutes=2)) == 1
    assert smtp.recipients() == ["lin@example.com"] and row(note).mail_attempts == 2


def test_after_the_last_attempt_the_mail_is_given_up(app, world, smtp):
    app.config["SMTP_URL"] = f"smtp://127.0.0.1:{free_port()}"
    (note,) = notify([world["supervisor"]])
    now = utcnow()
    for attempt in range(1, notifications.MAIL_MAX_ATTEMPTS + 1):
        mail_outbox(now)
        assert row(note).mail_attempts == attempt
        now = row(note).mail_retry_at or now
    assert row(note).mail_retry_at is None  # given up
    app.config["SMTP_URL"] = smtp.url
    assert mail_outbox(now + timedelta(hours=6)) == 0
    assert smtp.messages == [] and row(note).emailed_at is None


def test_a_refused_address_fails_only_its_own_mail(app, world, smtp, make_user):
    app.config["SMTP_URL"] = smtp.url
    bouncing = make_user("manager", email=REFUSED)
    notify([bouncing, world["supervisor"], world["manager"]])
    now = utcnow()
    assert mail_outbox(now) == 2
    assert smtp.recipients() == ["boss@example.com", "lin@example.com"]
    refused = db.session.scalar(select(Notification).where(Notification.user_id == bouncing.id))
    assert refused.emailed_at is None and refused.mail_retry_at == now + timedelta(minutes=2)


def test_a_claim_left_by_a_dead_runner_is_retried_only_once_stale(app, world, smtp):
    app.config["SMTP_URL"] = smtp.url
    (note,) = notify([world["supervisor"]])
    now = utcnow()
    assert notifications.claim_mail(now) == [note.id]
    db.session.commit()  # ... and the runner died before sending
    assert mail_outbox(now + timedelta(minutes=5)) == 0
    stale = now + notifications.MAIL_CLAIM_TIMEOUT + timedelta(minutes=1)
    assert mail_outbox(stale) == 1 and row(note).mail_attempts == 2


def test_old_notifications_are_not_mailed(app, world, smtp):
    app.config["SMTP_URL"] = smtp.url
    notify([world["supervisor"]])
    assert mail_outbox(utcnow() + notifications.MAIL_MAX_AGE + timedelta(minutes=1)) == 0
    assert smtp.messages == []


def test_a_big_outbox_goes_out_in_batches_within_one_run(app, world, smtp):
    app.config["SMTP_URL"] = smtp.url
    for n in range(notifications.MAIL_BATCH * 2 + 3):
        notify([world["supervisor"]], key=f"incident:{n}:critical")
    assert mail_outbox(utcnow()) == notifications.MAIL_BATCH * 2 + 3
    assert len(smtp.messages) == notifications.MAIL_BATCH * 2 + 3


# ---------------------------------------------------------------- two runners (PostgreSQL)

pg_only = pytest.mark.skipif(
    not is_postgres(), reason="SQLite has one writer: the documented set-up is one runner"
)


@pytest.fixture
def outbox(world, make_user):
    """30 unsent notifications to 30 people with an address."""
    people = [make_user("manager", email=f"m{n}@example.com") for n in range(30)]
    notify(people)
    return people


@pg_only
def test_a_second_runner_skips_the_rows_the_first_is_claiming(app, outbox):
    now = utcnow()
    first = notifications.claim_mail(now, limit=10)  # runner A: claimed, not yet committed
    second: dict = {}

    def runner_b():
        with app.app_context():
            try:
                # Waiting for A's locks would be the bug: fail fast instead of hanging.
                db.session.execute(text("SET LOCAL lock_timeout = '5s'"))
                second["ids"] = notifications.claim_mail(now, limit=50)
                db.session.commit()
            except Exception as exc:
                second["error"] = exc
            finally:
                db.session.remove()

    thread = threading.Thread(target=runner_b)
    thread.start()
    thread.join(timeout=60)
    db.session.commit()  # runner A's claim
    assert "error" not in second, second.get("error")
    assert len(first) == 10 and len(second["ids"]) == 20
    assert set(first).isdisjoint(second["ids"])
    assert notifications.claim_mail(now) == []  # every row is claimed exactly once
    db.session.rollback()


@pg_only
def test_two_runners_at_once_send_each_mail_exactly_once(app, outbox, smtp):
    app.config["SMTP_URL"] = smtp.url
    now = utcnow()
    start = threading.Barrier(2)
    results: list = []

    def runner():
        with app.app_context():
            try:
                start.wait(timeout=30)
                results.append(tasks.mail_outbox(now))
                db.session.commit()
            except Exception as exc:
                results.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=runner) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert all(isinstance(r, int) for r in results) and sum(results) == 30, results
    assert smtp.recipients() == sorted(p.email for p in outbox)

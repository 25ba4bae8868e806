"""Step-up: the password again within the window marks this login, and only this login."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.audit.models import AuditEvent
from app.auth import stepup
from app.auth.models import UserSession
from app.db import utcnow
from app.extensions import db
from tests.factories import PASSWORD


def _rows(user):
    db.session.expire_all()
    return db.session.scalars(select(UserSession).where(UserSession.user_id == user.id)).all()


def test_password_marks_this_session_and_returns_to_next(client, make_user, login):
    user = make_user("supervisor")
    login(user)
    page = client.get("/account/step-up?next=/sites")
    assert page.status_code == 200
    assert 'autocomplete="current-password"' in page.get_data(as_text=True)
    response = client.post("/account/step-up?next=/sites", data={"password": PASSWORD})
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/sites")
    (row,) = _rows(user)
    assert row.stepped_up_by == "password"
    assert utcnow() - row.stepped_up_at < timedelta(seconds=30)
    event = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.action == "auth.step_up")
        .order_by(AuditEvent.seq.desc())
    ).first()
    assert event.outcome == "success" and event.actor_id == user.id


def test_wrong_password_marks_nothing_and_is_audited(client, make_user, login):
    user = make_user("supervisor")
    login(user)
    response = client.post("/account/step-up", data={"password": "not the password"})
    assert response.status_code == 200
    assert "密碼不正確" in response.get_data(as_text=True)
    (row,) = _rows(user)
    assert row.stepped_up_at is None
    event = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.action == "auth.step_up")
        .order_by(AuditEvent.seq.desc())
    ).first()
    assert event.outcome == "failure"


def test_next_elsewhere_is_refused(client, make_user, login):
    user = make_user("guard")
    login(user)
    response = client.post(
        "/account/step-up?next=https://evil.example/", data={"password": PASSWORD}
    )
    assert response.status_code == 303
    assert "evil" not in response.headers["Location"]


def test_freshness_ends_after_the_window(app, client, make_user, login):
    user = make_user("manager")
    login(user)
    client.post("/account/step-up", data={"password": PASSWORD})
    (row,) = _rows(user)
    with app.test_request_context():
        from flask import g

        g.user_session = row
        assert stepup.is_fresh()
        row.stepped_up_at = utcnow() - stepup.window() - timedelta(seconds=1)
        assert not stepup.is_fresh()
        g.user_session = None
        assert not stepup.is_fresh()
    db.session.rollback()

"""The bell, the list, and e-mail through a real SMTP server started by the test."""

from __future__ import annotations

import socket
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from app.db import new_uuid, utcnow
from app.extensions import db
from app.notifications.models import Notification
from tests import factories


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, envelope.content.decode("utf-8", "replace")))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp():
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    inbox.url = f"smtp://127.0.0.1:{port}"
    yield inbox
    controller.stop()


@pytest.fixture
def app_config(request):
    return getattr(request, "param", {})


def setup_site(make_user, **supervisor_fields):
    site = factories.gen_site(name="信義商辦大樓")
    guard = make_user("guard")
    supervisor = make_user("supervisor", **supervisor_fields)
    factories.assign(guard, site)
    factories.assign(supervisor, site)
    db.session.commit()
    return site, guard, supervisor


def report_critical(client, site):
    return client.post(
        "/incidents/new",
        data={
            "uuid": new_uuid(),
            "site_id": str(site.id),
            "category": "fire",
            "severity": "critical",
            "occurred_at": (utcnow() + timedelta(hours=8) - timedelta(minutes=3)).strftime(
                "%Y-%m-%dT%H:%M"
            ),
            "narrative": "B1 機房冒煙",
        },
    )


def test_bell_counts_unread_and_the_list_marks_them_read(app, client, make_user, login):
    site, guard, supervisor = setup_site(make_user)
    login(guard)
    assert report_critical(client, site).status_code == 303
    phone = app.test_client()
    login(supervisor, test_client=phone)
    home = phone.get("/?lang=en").text
    assert 'class="bell-count"' in home and "1 unread notification" in home
    page = phone.get("/notifications?lang=en").text
    assert "Critical incident at 信義商辦大樓" in page
    phone.post("/notifications/read")
    assert 'class="bell-count"' not in phone.get("/").text


def test_the_unread_page_is_the_count_alone(app, client, make_user, login):
    """/notifications/unread (bench/speed.py's signed-in floor): the count in a tiny page."""
    site, guard, supervisor = setup_site(make_user)
    login(guard)
    report_critical(client, site)
    phone = app.test_client()
    login(supervisor, test_client=phone)
    page = phone.get("/notifications/unread?lang=en")
    assert page.status_code == 200
    assert "1 unread notification" in page.text and len(page.text) < 600
    assert "1 則未讀通知" in phone.get("/notifications/unread?lang=zh-TW").text
    phone.post("/notifications/read")
    assert "0 unread notifications" in phone.get("/notifications/unread?lang=en").text


def test_notifications_are_in_the_readers_language(app, client, make_user, login):
    site, guard, supervisor = setup_site(make_user)
    login(guard)
    report_critical(client, site)
    phone = app.test_client()
    login(supervisor, test_client=phone)
    assert "信義商辦大樓 發生緊急異常事件" in phone.get("/notifications?lang=zh-TW").text
    assert "Critical incident at 信義商辦大樓" in phone.get("/notifications?lang=en").text


def test_notifications_are_emailed_by_the_jobs_runner_when_smtp_is_set(
    app, client, make_user, login, smtp, runner, monkeypatch
):
    # Only the incident's mail: not the training-hours reminder of the month's last days.
    monkeypatch.setattr("app.briefings.compliance.REMIND_IN_LAST_DAYS", 0)
    app.config["SMTP_URL"] = smtp.url
    app.config["BASE_URL"] = "https://guardpost.example"
    site, guard, _supervisor = setup_site(make_user, email="lin@example.com", locale="en")
    make_user("manager", email="boss@example.com")
    login(guard)
    report_critical(client, site)
    assert smtp.messages == []  # the request sends nothing: the runner does, within a minute
    result = runner.invoke(args=["jobs", "run", "--once", "--verbose"])
    assert result.exit_code == 0 and "mail_outbox: 2" in result.output
    recipients = sorted(r for rcpts, _body in smtp.messages for r in rcpts)
    assert recipients == ["boss@example.com", "lin@example.com"]
    english = next(body for rcpts, body in smtp.messages if rcpts == ["lin@example.com"])
    assert "Critical incident at" in english and "https://guardpost.example/incidents/" in english
    assert all(n.emailed_at for n in db.session.scalars(select(Notification)))


def test_a_dead_mail_server_loses_nothing(app, client, make_user, login, runner):
    app.config["SMTP_URL"] = f"smtp://127.0.0.1:{free_port()}"
    site, guard, _supervisor = setup_site(make_user, email="lin@example.com")
    login(guard)
    assert report_critical(client, site).status_code == 303
    assert runner.invoke(args=["jobs", "run", "--once"]).exit_code == 0
    notes = db.session.scalars(select(Notification)).all()
    assert notes and all(n.emailed_at is None for n in notes)
    mailed = [n for n in notes if n.user_id == _supervisor.id]
    assert mailed[0].mail_attempts == 1 and mailed[0].mail_retry_at > utcnow()

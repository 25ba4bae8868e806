"""The collection notice (個資法 §8): shown at first sign-in until acknowledged, recorded and
audited, shown again when its version changes, readable from the account page."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.extensions import db
from app.privacy import notice
from app.privacy.models import NoticeAcknowledgement


@pytest.fixture
def newcomer(make_user):
    return make_user("guard", notice_acknowledged=False)


def _acks(user):
    return db.session.scalars(
        select(NoticeAcknowledgement).where(NoticeAcknowledgement.user_id == user.id)
    ).all()


@pytest.mark.parametrize("role", ["guard", "supervisor", "manager", "admin"])
def test_every_staff_role_is_sent_to_the_notice_until_it_is_acknowledged(
    client, make_user, login, role
):
    user = make_user(role, notice_acknowledged=False)
    login(user)
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/privacy/notice"
    page = client.get("/privacy/notice?lang=en")
    assert page.status_code == 200
    assert "Personal data collection notice" in page.text
    assert "I have read this notice" in page.text
    assert client.post("/privacy/notice").status_code == 303
    assert client.get("/").status_code == 200


def test_the_acknowledgement_names_user_version_time_and_address_and_is_audited(
    client, newcomer, login
):
    login(newcomer)
    client.post("/privacy/notice", environ_base={"REMOTE_ADDR": "203.0.113.9"})
    [ack] = _acks(newcomer)
    assert ack.version == notice.NOTICE_VERSION
    assert ack.ip == "203.0.113.9" and ack.at is not None
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "privacy.notice_acknowledged")
    )
    assert event.actor_id == newcomer.id and f'"version": {notice.NOTICE_VERSION}' in event.detail
    client.post("/privacy/notice")  # twice: still one row
    assert len(_acks(newcomer)) == 1


def test_the_page_asked_for_comes_after_the_notice(client, newcomer, login):
    login(newcomer)
    response = client.get("/incidents?status=open")
    assert response.headers["Location"] == "/privacy/notice?next=/incidents?status%3Dopen"
    done = client.post("/privacy/notice", data={"next": "/incidents?status=open"})
    assert done.headers["Location"] == "/incidents?status=open"
    evil = client.post("/privacy/notice", data={"next": "//evil.example/"})
    assert evil.headers["Location"] == "/"


def test_htmx_requests_get_hx_redirect(client, newcomer, login):
    login(newcomer)
    response = client.get(
        "/incidents",
        headers={"HX-Request": "true", "HX-Current-URL": "http://localhost/incidents"},
    )
    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == "/privacy/notice?next=/incidents"


def test_sign_out_password_change_pwa_and_posts_are_not_blocked(client, newcomer, login):
    login(newcomer)
    for path in ("/account/password", "/outbox", "/offline", "/sw.js", "/outbox/token"):
        assert client.get(path).status_code == 200, path
    # A queued field submission (the outbox) or any POST goes through: nothing is refused.
    assert client.post("/notifications/read").status_code < 400
    assert client.get("/", headers={"Accept": "application/json"}).status_code != 302
    assert client.post("/logout").status_code == 303
    assert not _acks(newcomer)


def test_a_user_who_must_change_his_password_does_that_first(client, make_user, login):
    user = make_user("guard", notice_acknowledged=False, must_change_password=True)
    login(user)
    assert client.get("/").headers["Location"] == "/account/password"


def test_clients_are_not_shown_the_staff_notice(client, make_user, login):
    from tests import factories

    customer = factories.gen_client()
    user = make_user("client", client_id=customer.id, notice_acknowledged=False)
    login(user)
    assert client.get("/").status_code == 200
    assert client.get("/privacy/notice").status_code == 403


def test_a_new_version_is_shown_again(client, make_user, login, monkeypatch):
    user = make_user("supervisor")
    login(user)
    assert client.get("/").status_code == 200
    monkeypatch.setattr(notice, "NOTICE_VERSION", notice.NOTICE_VERSION + 1)
    assert client.get("/").headers["Location"] == "/privacy/notice"
    client.post("/privacy/notice")
    assert {a.version for a in _acks(user)} == {1, 2}
    assert client.get("/").status_code == 200


def test_the_account_page_links_the_notice_with_the_date_acknowledged(client, newcomer, login):
    login(newcomer)
    client.post("/privacy/notice")
    page = client.get("/account?lang=en")
    assert "/privacy/notice" in page.text and "acknowledged" in page.text
    again = client.get("/privacy/notice?lang=en")
    assert "You acknowledged this notice on" in again.text
    assert "I have read this notice" not in again.text


def test_the_notice_cites_the_configured_retention(app, client, make_user, login):
    app.config["VAULT_RETAIN_MONTHS"] = 27
    app.config["CHECK_IN_RETAIN_MONTHS"] = 61
    app.config["PRIVACY_CONTACT"] = "個資窗口 王小姐 (02) 2345-6789"
    login(make_user("guard"))
    page = client.get("/privacy/notice?lang=en").text
    assert "27 months after the client" in page
    assert "Check-ins: 61 months" in page
    assert "個資窗口 王小姐 (02) 2345-6789" in page
    for right in ("read your personal data", "copy", "corrected", "stopped", "deleted"):
        assert right in page

"""Server-side sessions: revoked at logout, password change, deactivation, by an admin; expiry."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.auth.models import UserSession
from app.extensions import db
from tests.factories import PASSWORD


def cookie_value(client) -> str:
    cookie = client.get_cookie("guardpost")
    return cookie.value if cookie else ""


def sessions_of(user):
    return db.session.scalars(select(UserSession).where(UserSession.user_id == user.id)).all()


def test_login_stores_only_a_hash_of_the_token(client, make_user, login):
    user = make_user()
    login(user)
    (row,) = sessions_of(user)
    assert len(row.token_hash) == 64
    with client.session_transaction() as flask_session:
        assert flask_session["sid"] != row.token_hash


def test_login_replaces_whatever_session_the_browser_had(client, make_user, login):
    user = make_user()
    with client.session_transaction() as planted:
        planted["sid"] = "attacker-chosen-id"
        planted["_user_id"] = str(user.id)
    assert client.get("/").status_code == 302  # a planted id opens nothing
    login(user)
    with client.session_transaction() as after:
        first = after["sid"]
    assert first != "attacker-chosen-id"
    client.post("/logout")
    login(user)
    with client.session_transaction() as again:
        assert again["sid"] not in (first, "attacker-chosen-id")
    assert len(sessions_of(user)) == 2


def test_old_cookie_is_dead_after_logout(app, client, make_user, login):
    login(make_user())
    stolen = cookie_value(client)
    client.post("/logout")
    thief = app.test_client()
    thief.set_cookie("guardpost", stolen)
    assert thief.get("/").status_code == 302


def test_password_change_revokes_other_sessions_but_keeps_this_one(app, client, make_user, login):
    user = make_user()
    other = app.test_client()
    login(user)
    login(user, test_client=other)
    response = client.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "new_password": "a-brand-new-secret",
            "confirm_password": "a-brand-new-secret",
        },
    )
    assert response.status_code == 303
    assert client.get("/").status_code == 200
    assert other.get("/").status_code == 302
    reasons = sorted(s.revoked_reason for s in sessions_of(user))
    assert reasons == ["", "password_changed"]


def test_password_change_explains_each_problem(client, make_user, login):
    login(make_user())
    cases = {
        (
            "wrong-current-pass",
            "a-brand-new-secret",
            "a-brand-new-secret",
        ): "current password is not correct",
        (PASSWORD, "short", "short"): "at least 10 characters",
        (PASSWORD, "a-brand-new-secret", "different-secret!"): "are not the same",
        (PASSWORD, "1234567890", "1234567890"): "too easy to guess",
    }
    for (current, new, confirm), message in cases.items():
        response = client.post(
            "/account/password?lang=en",
            data={"current_password": current, "new_password": new, "confirm_password": confirm},
        )
        assert response.status_code == 200
        assert message in response.text


def test_deactivation_ends_every_session_at_once(app, client, make_user, login):
    admin = make_user("admin")
    guard = make_user("guard")
    phone = app.test_client()
    login(guard, test_client=phone)
    assert phone.get("/").status_code == 200
    login(admin)
    client.post(f"/admin/users/{guard.id}/active", data={"active": "0"})
    assert phone.get("/").status_code == 302
    assert login(guard, test_client=app.test_client()).status_code == 200  # refused


def test_admin_revokes_one_session(app, client, make_user, login):
    admin = make_user("admin")
    guard = make_user("guard")
    phone = app.test_client()
    login(guard, test_client=phone)
    login(admin)
    (row,) = sessions_of(guard)
    response = client.post(f"/admin/users/{guard.id}/sessions/{row.id}/revoke")
    assert response.status_code == 303
    assert phone.get("/").status_code == 302


def test_admin_revokes_all_sessions(app, client, make_user, login):
    admin = make_user("admin")
    guard = make_user("guard")
    phones = [app.test_client(), app.test_client()]
    for phone in phones:
        login(guard, test_client=phone)
    login(admin)
    client.post(f"/admin/users/{guard.id}/sessions/revoke-all")
    assert [p.get("/").status_code for p in phones] == [302, 302]


def test_user_signs_out_own_other_device(app, client, make_user, login):
    user = make_user()
    tablet = app.test_client()
    login(user)
    login(user, test_client=tablet)
    tablet_row = max(sessions_of(user), key=lambda s: s.id)
    assert client.post(f"/account/sessions/{tablet_row.id}/revoke").status_code == 303
    assert tablet.get("/").status_code == 302
    assert client.get("/").status_code == 200


def test_user_cannot_revoke_someone_elses_session(app, client, make_user, login):
    victim = make_user()
    login(victim, test_client=app.test_client())
    login(make_user())
    (row,) = sessions_of(victim)
    assert client.post(f"/account/sessions/{row.id}/revoke").status_code == 404


def test_idle_session_expires(client, make_user, login, app):
    user = make_user()
    login(user)
    (row,) = sessions_of(user)
    row.last_seen_at -= timedelta(minutes=app.config["SESSION_IDLE_MINUTES"] + 1)
    db.session.commit()
    assert client.get("/").status_code == 302
    db.session.refresh(row)
    assert row.revoked_reason == "expired"


def test_session_expires_after_its_absolute_lifetime_even_when_busy(client, make_user, login, app):
    user = make_user()
    login(user)
    (row,) = sessions_of(user)
    row.created_at -= timedelta(hours=app.config["SESSION_MAX_HOURS"], minutes=1)
    db.session.commit()
    assert client.get("/").status_code == 302


def test_activity_keeps_the_session_alive(client, make_user, login):
    user = make_user()
    login(user)
    (row,) = sessions_of(user)
    row.last_seen_at -= timedelta(minutes=30)
    db.session.commit()
    before = row.last_seen_at
    assert client.get("/").status_code == 200
    db.session.refresh(row)
    assert row.last_seen_at > before


def test_cookie_survives_closing_the_browser_for_one_shift(client, make_user, login, app):
    response = login(make_user())
    cookie = response.headers["Set-Cookie"]
    assert "Expires=" in cookie


def test_a_response_that_leaves_the_session_alone_does_not_rewrite_its_cookie(
    client, make_user, login
):
    """Else a slow request begun with an older cookie (the service worker's precache right
    after sign-in) overwrites the newer one, and the next form posts without its CSRF token."""
    login(make_user())
    client.get("/")  # the first page with a form puts the CSRF token in the session
    for url in ("/static/css/app.css", "/offline", "/sw.js", "/"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "Set-Cookie" not in response.headers, url

"""Login, logout, safe next, one message for every failure, throttling, rehash."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.auth.models import User
from app.extensions import db

FAILURE = "The username or password is not correct."


def audit_actions():
    return [
        (e.action, e.outcome)
        for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq))
    ]


def test_login_page_is_chinese_by_default(client):
    page = client.get("/login")
    assert page.status_code == 200
    assert 'lang="zh-Hant-TW"' in page.text
    assert "登入" in page.text


def test_login_success_redirects_home_and_audits(client, make_user, login):
    user = make_user("supervisor")
    response = login(user)
    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    assert ("auth.login", "success") in audit_actions()
    assert client.get("/").status_code == 200


def test_login_comes_back_to_the_page_asked_for(client, make_user, login):
    user = make_user("admin")
    first = client.get("/admin/users?role=guard")
    assert first.status_code == 302
    assert "/login?next=/admin/users?role%3Dguard" in first.headers["Location"]
    response = login(user, next="/admin/users?role=guard")
    assert response.headers["Location"] == "/admin/users?role=guard"


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:alert(1)"]
)
def test_login_ignores_an_unsafe_next(make_user, login, target):
    response = login(make_user(), next=target)
    assert response.headers["Location"] == "/"


@pytest.mark.parametrize("case", ["unknown user", "wrong password", "deactivated"])
def test_every_login_failure_gets_the_same_message_and_status(client, make_user, login, case):
    user = make_user("guard", username="known")
    if case == "deactivated":
        user.is_active = False
        db.session.commit()
    username = "nobody" if case == "unknown user" else "known"
    password = "wrong-password-1" if case == "wrong password" else "correct-horse-battery"
    response = client.post("/login?lang=en", data={"username": username, "password": password})
    assert response.status_code == 200
    assert FAILURE in response.text
    assert ("auth.login", "failure") in audit_actions()
    assert client.get("/").status_code == 302


def test_username_is_case_insensitive(make_user, login):
    make_user("guard", username="chen")
    assert login("  CHEN ").status_code == 303


def test_logout_needs_post_and_revokes(client, make_user, login):
    login(make_user())
    assert client.get("/logout").status_code == 405
    response = client.post("/logout")
    assert response.status_code == 303
    assert response.headers["Clear-Site-Data"] == '"cache"'
    assert ("auth.logout", "success") in audit_actions()
    assert client.get("/").status_code == 302


def test_failed_logins_are_throttled_per_account(client, make_user, login):
    make_user("guard", username="target")
    for _ in range(5):
        assert (
            client.post(
                "/login", data={"username": "target", "password": "bad-password-0"}
            ).status_code
            == 200
        )
    # Even the right password waits now: the account is being guessed at.
    blocked = client.post(
        "/login", data={"username": "target", "password": "correct-horse-battery"}
    )
    assert blocked.status_code == 429
    # Another account from the same address is not locked out by it.
    make_user("guard", username="colleague")
    assert login("colleague").status_code == 303


@pytest.fixture
def app_config(request):
    return getattr(request, "param", {})


@pytest.mark.parametrize("app_config", [{"LOGIN_LIMIT_ADDRESS": "8 per 5 minutes"}], indirect=True)
def test_failed_logins_are_throttled_per_address(client, make_user):
    make_user("guard", username="real")
    for n in range(8):
        client.post("/login", data={"username": f"guess{n}", "password": "bad-password-0"})
    response = client.post(
        "/login?lang=en", data={"username": "real", "password": "correct-horse-battery"}
    )
    assert response.status_code == 429
    assert "Too many attempts" in response.text


def test_successful_logins_do_not_count_towards_the_limit(client, make_user, login):
    user = make_user("guard")
    for _ in range(8):
        assert login(user).status_code == 303
        client.post("/logout")


@pytest.mark.parametrize("app_config", [{"ARGON2_TIME_COST": 2}], indirect=True)
def test_password_hash_is_upgraded_at_login_when_parameters_change(app, make_user, login):
    from argon2 import PasswordHasher

    user = make_user("guard")
    user.password_hash = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(
        "correct-horse-battery"
    )
    db.session.commit()
    old = user.password_hash
    assert login(user).status_code == 303
    db.session.expire_all()
    fresh = db.session.get(User, user.id)
    assert fresh.password_hash != old
    assert fresh.password_hash.startswith("$argon2id$") and ",t=2," in fresh.password_hash


def test_signed_in_user_visiting_login_goes_home(client, make_user, login):
    login(make_user())
    assert client.get("/login").headers["Location"] == "/"


def _redis_url() -> str | None:
    import os

    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    try:
        import redis

        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except Exception:
        return None
    return url


@pytest.mark.skipif(_redis_url() is None, reason="no Redis server to test against")
def test_throttling_is_shared_through_redis_by_several_servers(tmp_path, database_url):
    import uuid

    from tests.conftest import make_app

    settings = {
        "RATELIMIT_STORAGE_URI": _redis_url(),
        "RATELIMIT_KEY_PREFIX": f"test-{uuid.uuid4().hex}",
    }
    first = make_app(tmp_path / "one", database_url, **settings)
    second = make_app(tmp_path / "two", database_url, **settings)
    with first.app_context():
        from tests.factories import gen_user

        gen_user("guard", username="shared")
        db.session.commit()
    for n in range(5):
        server = first if n % 2 else second
        server.test_client().post("/login", data={"username": "shared", "password": "bad-pass-00"})
    blocked = first.test_client().post(
        "/login", data={"username": "shared", "password": "correct-horse-battery"}
    )
    assert blocked.status_code == 429
    import redis

    stored = redis.Redis.from_url(_redis_url()).keys(f"*{settings['RATELIMIT_KEY_PREFIX']}*")
    assert stored, "the counters should live in Redis"


def test_throttled_attempts_are_audited(client, make_user):
    make_user("guard", username="pressed")
    for _ in range(6):
        client.post("/login", data={"username": "pressed", "password": "bad-password-0"})
    rows = audit_actions()
    assert ("auth.login", "denied") in rows


def test_a_password_typed_as_username_is_not_kept_in_the_audit_log(client):
    client.post("/login", data={"username": "my-secret-pass-123", "password": "x-x-x-x-x-x"})
    names = [e.actor_name for e in db.session.scalars(select(AuditEvent))]
    assert names and all("my-secret" not in n for n in names)


def test_temporary_password_expires(client, make_user, login, app):
    from datetime import timedelta

    from app.db import utcnow

    user = make_user("guard", must_change_password=True)
    user.password_changed_at = utcnow() - timedelta(hours=app.config["TEMP_PASSWORD_HOURS"] + 1)
    db.session.commit()
    response = login(user, lang="en")
    assert response.status_code == 200


def test_guessing_the_current_password_is_throttled(client, make_user, login):
    login(make_user())
    for _ in range(5):
        client.post(
            "/account/password",
            data={
                "current_password": "wrong-guess-00",
                "new_password": "n" * 12 + "x1",
                "confirm_password": "n" * 12 + "x1",
            },
        )
    blocked = client.post("/account/password", data={"current_password": "x"})
    assert blocked.status_code == 429

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
    assert "Too many failed sign-ins from this network" in response.text


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


# ---------------------------------------------------------------- throttling and device cookies

DEVICE_COOKIE = "guardpost-device"


def attempt(test_client, username, password="bad-password-0", address="127.0.0.1", lang="en"):  # noqa: S107
    return test_client.post(
        f"/login?lang={lang}",
        data={"username": username, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )


def sign_in_and_out(test_client, username, address="198.51.100.7"):
    """The owner signs in on her phone once (it gets its device cookie) and signs out."""
    response = attempt(test_client, username, "correct-horse-battery", address)
    assert response.status_code == 303
    test_client.post("/logout", environ_base={"REMOTE_ADDR": address})
    return response


def test_successful_login_sets_a_long_lived_httponly_device_cookie(client, make_user):
    make_user("guard", username="owner")
    response = sign_in_and_out(client, "owner")
    cookie = next(
        c for c in response.headers.getlist("Set-Cookie") if c.startswith(f"{DEVICE_COOKIE}=")
    )
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    max_age = int(cookie.split("Max-Age=")[1].split(";")[0])
    assert max_age >= 180 * 24 * 3600


@pytest.mark.parametrize(
    "app_config", [{"LOGIN_LIMIT_ACCOUNT": "12 per 15 minutes"}], indirect=True
)
def test_attackers_elsewhere_exhaust_the_account_limit_but_the_owners_phone_signs_in(
    app, client, make_user
):
    make_user("guard", username="owner")
    sign_in_and_out(client, "owner")  # the owner's phone, yesterday
    attacker = app.test_client()
    for n in range(12):  # three addresses, four guesses each: under the per-address limit
        assert attempt(attacker, "owner", address=f"203.0.113.{n % 3}").status_code == 200
    # Now the account is closed to every untrusted device, the owner's new laptop included...
    laptop = app.test_client()
    refused = attempt(laptop, "owner", "correct-horse-battery", address="198.51.100.7")
    assert refused.status_code == 429
    assert "A phone you have signed in with before can still sign in" in refused.text
    # ...but her phone, which signed in before, still does.
    assert attempt(client, "owner", "correct-horse-battery", "198.51.100.7").status_code == 303


def test_failed_attempts_are_throttled_tightly_per_account_and_address(app, client, make_user):
    make_user("guard", username="target")
    make_user("guard", username="colleague")
    for _ in range(5):
        assert attempt(client, "target", address="203.0.113.5").status_code == 200
    blocked = attempt(client, "target", "correct-horse-battery", address="203.0.113.5")
    assert blocked.status_code == 429
    # The same account from another address, and another account from this one, go on.
    other = app.test_client()
    assert attempt(other, "target", "correct-horse-battery", "198.51.100.1").status_code == 303
    assert (
        attempt(app.test_client(), "colleague", "correct-horse-battery", "203.0.113.5").status_code
        == 303
    )


@pytest.mark.parametrize("app_config", [{"LOGIN_LIMIT_ACCOUNT": "6 per 15 minutes"}], indirect=True)
@pytest.mark.parametrize("cookie", ["forged", "another user's", "tampered"])
def test_a_forged_or_borrowed_device_cookie_does_not_help(app, client, make_user, cookie):
    make_user("guard", username="owner")
    make_user("guard", username="mallory")
    sign_in_and_out(client, "mallory")  # a real cookie, but for mallory's account
    real = client.get_cookie(DEVICE_COOKIE).value
    for n in range(6):
        attempt(app.test_client(), "owner", address=f"203.0.113.{n}")
    from itsdangerous import URLSafeTimedSerializer

    values = {
        "forged": URLSafeTimedSerializer("not-the-key", salt="guardpost-device-cookie").dumps(
            ["owner", "abc"]
        ),
        "another user's": real,
        "tampered": _with_username(real, "owner"),
    }
    intruder = app.test_client()
    intruder.set_cookie(DEVICE_COOKIE, values[cookie])
    refused = attempt(intruder, "owner", "correct-horse-battery", address="198.51.100.9")
    assert refused.status_code == 429


def _with_username(token: str, username: str) -> str:
    """The same signature over a payload naming someone else."""
    import base64
    import json

    payload, rest = token.split(".", 1)
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    data[0] = username
    fresh = base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode())
    return fresh.decode().rstrip("=") + "." + rest


def test_a_trusted_device_has_its_own_limit(client, make_user):
    make_user("guard", username="owner")
    sign_in_and_out(client, "owner")
    for _ in range(5):
        assert attempt(client, "owner", address="198.51.100.7").status_code == 200
    refused = attempt(client, "owner", "correct-horse-battery", "198.51.100.7")
    assert refused.status_code == 429
    assert "Too many wrong passwords on this device" in refused.text


def test_a_shared_phone_remembers_each_account_signed_in_on_it(app, client, make_user):
    make_user("guard", username="day")
    make_user("guard", username="night")
    sign_in_and_out(client, "day")
    sign_in_and_out(client, "night")
    for _ in range(5):
        attempt(app.test_client(), "day", address="198.51.100.7")
        attempt(app.test_client(), "night", address="198.51.100.7")
    assert attempt(client, "day", "correct-horse-battery", "198.51.100.7").status_code == 303


def test_throttled_sign_in_is_explained_in_chinese_too(client, make_user):
    make_user("guard", username="target")
    for _ in range(5):
        attempt(client, "target", lang="zh-TW")
    refused = attempt(client, "target", "correct-horse-battery", lang="zh-TW")
    assert refused.status_code == 429
    assert 'lang="zh-Hant-TW"' in refused.text
    assert "嘗試次數過多" in refused.text and "曾經登入過的手機" in refused.text


def test_throttled_attempts_name_the_limit_in_the_audit_log(client, make_user):
    import json

    make_user("guard", username="pressed")
    for _ in range(6):
        attempt(client, "pressed")
    denied = [
        e
        for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq))
        if e.outcome == "denied"
    ]
    assert denied and json.loads(denied[-1].detail) == {
        "why": "throttled",
        "limit": "account_address",
    }
    assert denied[-1].actor_name == "pressed"


def test_a_language_chosen_on_the_sign_in_page_is_kept_after_signing_in(client, make_user, login):
    user = make_user("guard")
    user.locale = "zh_Hant_TW"
    db.session.commit()
    assert 'lang="en"' in client.get("/login?lang=en").text
    login(user)
    assert 'lang="en"' in client.get("/").text  # not the Chinese stored on the account
    db.session.refresh(user)
    assert user.locale == "en"


def test_the_next_person_on_a_shared_phone_gets_their_own_language(client, make_user, login):
    first, second = make_user("guard"), make_user("guard")
    second.locale = "zh_Hant_TW"
    db.session.commit()
    client.get("/login?lang=en")
    login(first)
    client.post("/logout")
    login(second)  # chose nothing on the sign-in page
    assert 'lang="zh-Hant-TW"' in client.get("/").text

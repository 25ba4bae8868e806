"""Second factors: TOTP enrolment and replay, the sign-in's second step, recovery codes,
the enrolment gate for managers and admins, step-up with a code, and key rotation."""

from __future__ import annotations

import json
import re
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.auth import factors, passkeys, recovery, totp
from app.auth.models import RecoveryCode, TotpCredential, User, UserSession
from app.db import utcnow
from app.extensions import db
from app.vault import crypto
from tests.factories import PASSWORD, TOTP_SECRET, gen_passkey, gen_totp


@pytest.fixture
def app_config():
    return {"SECOND_FACTOR_ROLES": ["manager", "admin"]}


def _events(action: str) -> list[AuditEvent]:
    return list(
        db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)
        )
    )


def _code(secret: str = TOTP_SECRET, offset: int = 0) -> str:
    return totp.current_code(secret, at=time.time() + offset)


def _sessions(user: User) -> list[UserSession]:
    db.session.expire_all()
    return list(db.session.scalars(select(UserSession).where(UserSession.user_id == user.id)))


def _enrolled(make_user, role: str = "supervisor") -> User:
    user = make_user(role)
    gen_totp(user)
    db.session.commit()
    return user


# ---------------------------------------------------------------- two-step sign-in


def test_sign_in_with_totp_needs_the_code_and_nothing_is_reachable_in_between(client, make_user):
    user = _enrolled(make_user, "manager")
    response = client.post(
        "/login?next=/sites", data={"username": user.username, "password": PASSWORD}
    )
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/login/second-factor")
    # the password alone signs nobody in
    assert client.get("/").headers["Location"].startswith("/login")
    assert client.get("/account", headers={"HX-Request": "true"}).status_code == 401
    (row,) = _sessions(user)
    assert row.is_pending
    page = client.get("/login/second-factor?next=/sites")
    assert 'autocomplete="one-time-code"' in page.get_data(as_text=True)

    done = client.post("/login/second-factor?next=/sites", data={"code": _code()})

    assert done.status_code == 303 and done.headers["Location"].endswith("/sites")
    assert client.get("/").status_code == 200
    (row,) = _sessions(user)
    assert not row.is_pending and row.second_factor == "totp"
    assert json.loads(_events("auth.login")[-1].detail)["second_factor"] == "totp"


def test_a_new_session_token_after_the_second_step(client, make_user):
    user = _enrolled(make_user)
    client.post("/login", data={"username": user.username, "password": PASSWORD})
    pending_hash = _sessions(user)[0].token_hash
    client.post("/login/second-factor", data={"code": _code()})
    assert _sessions(user)[0].token_hash != pending_hash


def test_wrong_code_is_refused_and_audited(client, make_user):
    user = _enrolled(make_user)
    client.post("/login", data={"username": user.username, "password": PASSWORD})
    wrong = str((int(_code()) + 1) % 1_000_000).zfill(6)
    response = client.post("/login/second-factor", data={"code": wrong})
    assert response.status_code == 200
    assert "驗證碼不正確" in response.get_data(as_text=True)
    assert _sessions(user)[0].is_pending
    assert client.get("/").status_code == 302
    assert _events("auth.login")[-1].outcome == "failure"


def test_a_totp_code_cannot_be_used_twice(app, make_user):
    user = _enrolled(make_user)
    code = _code()
    first, second = app.test_client(), app.test_client()
    for c in (first, second):
        c.post("/login", data={"username": user.username, "password": PASSWORD})

    assert first.post("/login/second-factor", data={"code": code}).status_code == 303
    replay = second.post("/login/second-factor", data={"code": code})

    assert replay.status_code == 200
    assert second.get("/").status_code == 302  # still not signed in
    assert first.get("/").status_code == 200


def test_an_older_code_after_a_newer_one_is_refused_too(app, make_user):
    user = _enrolled(make_user)
    with app.test_request_context():
        assert totp.verify(user, _code(offset=30))  # the next step's code (clock drift)
        assert not totp.verify(user, _code())  # now's: an earlier step
        db.session.rollback()


def test_the_second_step_expires_after_five_minutes(client, make_user):
    user = _enrolled(make_user)
    client.post("/login", data={"username": user.username, "password": PASSWORD})
    (row,) = _sessions(user)
    row.created_at = utcnow() - timedelta(seconds=factors.PENDING_SECONDS + 1)
    db.session.commit()
    response = client.post("/login/second-factor", data={"code": _code()})
    assert "已逾時" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_second_step_is_throttled(client, make_user):
    user = _enrolled(make_user)
    client.post("/login", data={"username": user.username, "password": PASSWORD})
    statuses = [
        client.post("/login/second-factor", data={"code": "000000"}).status_code for _ in range(6)
    ]
    assert statuses[-1] == 429
    assert client.post("/login/second-factor", data={"code": _code()}).status_code == 429


def test_user_without_a_second_factor_signs_in_with_the_password(client, make_user):
    user = make_user("supervisor")
    response = client.post("/login", data={"username": user.username, "password": PASSWORD})
    assert response.status_code == 303 and "second-factor" not in response.headers["Location"]


# ---------------------------------------------------------------- recovery codes


def test_a_recovery_code_signs_in_once(app, make_user):
    user = _enrolled(make_user)
    codes = recovery.regenerate(user)
    db.session.commit()
    assert len(codes) == 10 and len(set(codes)) == 10
    stored = db.session.scalars(select(RecoveryCode.digest)).all()
    assert not any(code.replace("-", "") in digest for code in codes for digest in stored)

    first, second = app.test_client(), app.test_client()
    for c in (first, second):
        c.post("/login", data={"username": user.username, "password": PASSWORD})
    used = first.post("/login/second-factor", data={"recovery_code": codes[0].upper()})
    again = second.post("/login/second-factor", data={"recovery_code": codes[0]})

    assert used.status_code == 303
    assert again.status_code == 200 and second.get("/").status_code == 302
    assert recovery.remaining(user) == 9
    assert _events("auth.recovery_code_used")


# ---------------------------------------------------------------- enrolment


def test_manager_without_a_second_factor_is_sent_to_enrol(client, make_user, login):
    manager = make_user("manager")
    login(manager)
    assert client.get("/").headers["Location"].endswith("/account/security")
    htmx = client.get("/sites", headers={"HX-Request": "true"})
    assert htmx.status_code == 204 and htmx.headers["HX-Redirect"] == "/account/security"
    assert client.get("/account/security").status_code == 200
    assert client.get("/manifest.webmanifest").status_code == 200
    assert client.post("/logout").status_code in (302, 303)


def test_supervisor_without_a_second_factor_is_not_held(client, make_user, login):
    login(make_user("supervisor"))
    assert client.get("/").status_code == 200


def test_totp_enrolment_shows_qr_and_key_and_needs_a_first_valid_code(client, make_user, login):
    manager = make_user("manager")
    login(manager)
    page = client.get("/account/security/totp").get_data(as_text=True)
    assert 'src="data:image/svg+xml;base64,' in page
    credential = db.session.scalar(select(TotpCredential))
    secret = totp.secret_of(credential)
    assert secret not in credential.secret_ciphertext
    assert " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)) in page
    assert client.get("/account/security/totp").get_data(as_text=True).count(secret[:4]) >= 1
    assert totp.secret_of(db.session.scalar(select(TotpCredential))) == secret  # same on reload

    wrong = client.post("/account/security/totp", data={"code": "123456"})
    assert wrong.status_code == 200 and client.get("/").status_code == 302

    done = client.post("/account/security/totp", data={"code": _code(secret)})

    assert done.status_code == 200
    codes = re.findall(r"<code>([a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4})</code>", done.text)
    assert len(codes) == 10
    assert done.headers["Cache-Control"] == "no-store"
    assert client.get("/").status_code == 200  # the gate opens
    assert totp.is_enrolled(manager)
    assert _events("auth.totp_enrol")[-1].outcome == "success"


def test_disable_needs_password_and_code_and_a_manager_keeps_a_factor(client, make_user, login):
    supervisor = make_user("supervisor")
    login(supervisor)
    gen_totp(supervisor)
    db.session.commit()
    client.post("/account/security/totp/disable", data={"password": "wrong", "code": _code()})
    assert totp.is_enrolled(supervisor)
    client.post("/account/security/totp/disable", data={"password": PASSWORD, "code": _code()})
    assert not totp.is_enrolled(supervisor)

    manager = make_user("manager")
    gen_totp(manager)
    db.session.commit()
    other = client.application.test_client()
    other.post("/login", data={"username": manager.username, "password": PASSWORD})
    other.post("/login/second-factor", data={"code": _code(offset=-30)})
    other.post("/account/security/totp/disable", data={"password": PASSWORD, "code": _code()})
    assert totp.is_enrolled(manager)


def test_recovery_codes_regenerate_only_after_a_fresh_step_up(client, make_user, login):
    user = make_user("supervisor")
    login(user)
    old = recovery.regenerate(user)
    db.session.commit()
    response = client.post("/account/security/recovery-codes")
    assert response.status_code == 303 and "/account/step-up" in response.headers["Location"]
    client.post("/account/step-up", data={"password": PASSWORD})
    fresh = client.post("/account/security/recovery-codes")
    assert fresh.status_code == 200
    assert old[0] not in fresh.text
    assert not recovery.use(user, old[0])


# ---------------------------------------------------------------- step-up


def test_step_up_with_totp_needs_the_code(client, make_user, login):
    user = make_user("supervisor")
    login(user)
    gen_totp(user)
    db.session.commit()
    page = client.get("/account/step-up").get_data(as_text=True)
    assert 'autocomplete="one-time-code"' in page

    client.post("/account/step-up", data={"password": PASSWORD})
    assert _sessions(user)[0].stepped_up_at is None
    client.post("/account/step-up", data={"password": PASSWORD, "code": _code()})
    (row,) = _sessions(user)
    assert row.stepped_up_by == "password+totp"


def test_step_up_with_a_recovery_code(client, make_user, login):
    user = make_user("supervisor")
    login(user)
    codes = recovery.regenerate(user)
    db.session.commit()
    response = client.post("/account/step-up?next=/sites", data={"recovery_code": codes[3]})
    assert response.status_code == 303
    assert _sessions(user)[0].stepped_up_by == "recovery_code"
    assert client.post("/account/step-up", data={"recovery_code": codes[3]}).status_code == 200


def test_step_up_page_offers_a_passkey_first_when_there_is_one(app, client, make_user, login):
    app.config["BASE_URL"] = "http://localhost"
    user = make_user("supervisor")
    login(user)
    gen_passkey(user)
    db.session.commit()
    page = client.get("/account/step-up").get_data(as_text=True)
    assert page.index('data-passkey="step-up"') < page.index('name="password"')


# ---------------------------------------------------------------- passkey plumbing


def test_a_passkey_challenge_is_single_use_and_expires(app, make_user):
    user = make_user("supervisor")
    with app.test_request_context(base_url="http://localhost"):
        app.config["BASE_URL"] = "http://localhost"
        rp = passkeys.relying_party()
        assert rp == passkeys.RelyingParty(id="localhost", origin="http://localhost")
        handle, options = passkeys.authentication_options("step_up", rp, user)
        assert options["rpId"] == "localhost" and options["userVerification"] == "required"
        passkeys._take_challenge(handle, "step_up", user)
        with pytest.raises(passkeys.PasskeyError):
            passkeys._take_challenge(handle, "step_up", user)
        handle, _options = passkeys.authentication_options("step_up", rp, user)
        with pytest.raises(passkeys.PasskeyError):
            passkeys._take_challenge(handle, "sign_in", None)  # another purpose
        db.session.rollback()


def test_a_forged_passkey_answer_is_refused_and_audited(app, client, make_user, login):
    app.config["BASE_URL"] = "http://localhost"
    user = make_user("supervisor")
    login(user)
    gen_passkey(user)
    db.session.commit()
    assert client.post("/account/step-up/passkey/options").json["ok"]
    forged = {"credential": {"id": "test-credential-x", "response": {}}}
    answer = client.post("/account/step-up/passkey", json=forged)
    assert answer.json["ok"] is False
    assert _sessions(user)[0].stepped_up_at is None
    assert _events("auth.step_up")[-1].outcome == "failure"


# ---------------------------------------------------------------- at rest


def test_totp_secrets_rotate_with_the_vault_keys(app, runner, make_user):
    user = make_user("supervisor")
    gen_totp(user)
    db.session.commit()
    new = crypto.new_key_entry("k9")
    app.config["DATA_KEYS"] = f"{new},{app.config['DATA_KEYS']}"
    result = runner.invoke(args=["keys", "rotate"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    credential = db.session.scalar(select(TotpCredential))
    assert credential.key_id == "k9"
    assert totp.secret_of(credential) == TOTP_SECRET


def test_a_secret_copied_to_another_user_does_not_decrypt(make_user):
    first, second = make_user("supervisor"), make_user("supervisor")
    gen_totp(first)
    gen_totp(second, secret="KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU")
    db.session.commit()
    a, b = db.session.scalars(select(TotpCredential).order_by(TotpCredential.id)).all()
    b.secret_ciphertext = a.secret_ciphertext
    with pytest.raises(crypto.DecryptionError):
        totp.secret_of(b)

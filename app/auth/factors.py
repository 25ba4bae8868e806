"""Second factors as a whole: who must have one, the sign-in's second step, enrolment and
removal, and the gate that sends a manager or admin without one to set it up.

TOTP (app/auth/totp.py), recovery codes (recovery.py) and passkeys (passkeys.py) each know
their own checks; this module decides what they mean for a login and audits it. Services
flush, never commit.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Response, current_app, g, redirect, request, url_for
from flask_login import current_user

from app import audit
from app.auth import passkeys, passwords, recovery, stepup, totp
from app.auth.models import User, UserSession
from app.auth.services import AuthError, session_for_token
from app.db import utcnow
from app.htmx import is_htmx

#: How long a password-only (pending) login waits for its second factor.
PENDING_SECONDS = 300

#: Endpoints a user who must still enrol a second factor may reach: the enrolment itself,
#: signing out, and the app shell (service worker, manifest, the offline outbox) so that a
#: phone's queued work is never held up by this page.
ENROLMENT_ALLOWED = {
    "static",
    "auth.logout",
    "auth.security",
    "auth.totp_enrol",
    "auth.passkey_register_options",
    "auth.passkey_register",
    "auth.change_password",
}
ENROLMENT_ALLOWED_BLUEPRINTS = {"pwa"}


def required_roles() -> set[str]:
    return set(current_app.config.get("SECOND_FACTOR_ROLES") or ())


def is_required(user: User) -> bool:
    """Must this user have a second factor (managers and admins by default)?"""
    return user.role in required_roles()


def has_second_factor(user: User) -> bool:
    return totp.is_enrolled(user) or passkeys.has_passkey(user)


# ---------------------------------------------------------------- the enrolment gate


def enrolment_gate(endpoint: str) -> Response | None:
    """before_request (after sign-in): a user whose role needs a second factor and who has
    none is sent to set one up; pages redirect, htmx gets HX-Redirect."""
    if endpoint in ENROLMENT_ALLOWED or endpoint.split(".", 1)[0] in ENROLMENT_ALLOWED_BLUEPRINTS:
        return None
    if not is_required(current_user):
        return None
    row = g.get("user_session")
    if row is not None and row.second_factor:
        return None  # this login proved (or set up) one: no query needed
    if has_second_factor(current_user):
        return None
    target = url_for("auth.security")
    if is_htmx():
        response = Response(status=204)
        response.headers["HX-Redirect"] = target
        return response
    if request.method != "GET" and request.accept_mimetypes.best == "application/json":
        return Response('{"error": "second factor required"}', 403, mimetype="application/json")
    return redirect(target)


def mark_enrolled() -> None:
    """The current login has just set up a second factor: the gate lets it pass."""
    row = g.get("user_session")
    if row is not None and not row.second_factor:
        row.second_factor = "enrolled"


# ---------------------------------------------------------------- the sign-in's second step


def pending_login(token: str | None) -> UserSession | None:
    """The password-only login behind the cookie, if it is still waiting (5 minutes)."""
    row = session_for_token(token, pending=True)
    if row is None:
        return None
    if utcnow() - row.created_at > timedelta(seconds=PENDING_SECONDS):
        row.revoked_at = utcnow()
        row.revoked_reason = "expired"
        return None
    return row


def prove_second_factor(user: User, *, code: str = "", recovery_code: str = "") -> str:
    """Check a TOTP code or a recovery code for the sign-in's second step; returns the method.
    A wrong one is audited and refused (the refusal keeps its audit row)."""
    if recovery_code.strip():
        if recovery.use(user, recovery_code):
            audit.record("auth.recovery_code_used", actor=user, target=f"user:{user.id}")
            return "recovery_code"
        audit.record("auth.login", actor=user, outcome="failure", detail={"why": "recovery_code"})
        raise AuthError("wrong_recovery_code", field="recovery_code", keep_record=True)
    if not totp.normalise(code):
        raise AuthError("code_required", field="code")
    if totp.verify(user, code):
        return "totp"
    audit.record("auth.login", actor=user, outcome="failure", detail={"why": "totp"})
    raise AuthError("wrong_code", field="code", keep_record=True)


# ---------------------------------------------------------------- step-up


def step_up_with_recovery_code(user: User, code: str) -> None:
    """Step-up by one recovery code (spent); audited either way."""
    if not recovery.use(user, code):
        audit.record(
            "auth.step_up", actor=user, outcome="failure", detail={"method": "recovery_code"}
        )
        raise AuthError("wrong_recovery_code", field="recovery_code", keep_record=True)
    stepup.record("recovery_code")
    audit.record("auth.recovery_code_used", actor=user, target=f"user:{user.id}")
    audit.record(
        "auth.step_up", actor=user, target=f"user:{user.id}", detail={"method": "recovery_code"}
    )


# ---------------------------------------------------------------- TOTP enrolment and removal


def confirm_totp(user: User, code: str) -> list[str]:
    """The first valid code completes enrolment; returns a fresh set of recovery codes (shown
    once). Audited."""
    if totp.is_enrolled(user):
        raise AuthError("already_enrolled")
    if not totp.confirm_enrolment(user, code):
        raise AuthError("wrong_code", field="code", keep_record=True)
    mark_enrolled()
    codes = recovery.regenerate(user)
    audit.record("auth.recovery_codes_made", actor=user, target=f"user:{user.id}")
    return codes


def disable_totp(user: User, *, password: str, code: str) -> None:
    """Remove the authenticator app: the password and a current code, both. A user whose role
    needs a second factor keeps at least one (a passkey)."""
    if not totp.is_enrolled(user):
        raise AuthError("not_enrolled")
    if not passwords.verify_password(user.password_hash, password):
        audit.record("auth.totp_disable", actor=user, outcome="failure", detail={"why": "password"})
        raise AuthError("wrong_password", field="password", keep_record=True)
    if not totp.verify(user, code):
        audit.record("auth.totp_disable", actor=user, outcome="failure", detail={"why": "code"})
        raise AuthError("wrong_code", field="code", keep_record=True)
    if is_required(user) and not passkeys.has_passkey(user):
        raise AuthError("last_factor")
    totp.remove(user)
    if not passkeys.has_passkey(user):
        recovery.remove(user)  # recovery codes stand in for a factor the user no longer has
    audit.record("auth.totp_disable", actor=user, target=f"user:{user.id}")


def regenerate_recovery_codes(user: User) -> list[str]:
    """A new set (the old stop working); the caller has checked a fresh step-up. Audited."""
    codes = recovery.regenerate(user)
    audit.record("auth.recovery_codes_made", actor=user, target=f"user:{user.id}")
    return codes


# ---------------------------------------------------------------- passkeys


def add_passkey(user: User, rp, *, handle: str | None, credential: dict, name: str):
    """Register a passkey (it counts as a second factor); audited either way."""
    try:
        passkey = passkeys.register(user, rp, handle=handle, credential=credential, name=name)
    except passkeys.PasskeyError as exc:
        audit.record("auth.passkey_added", actor=user, outcome="failure", detail={"why": exc.why})
        key = "passkey_name" if exc.why == "name" else "passkey_failed"
        raise AuthError(key, keep_record=True) from None
    mark_enrolled()
    made = []
    if recovery.remaining(user) == 0:
        made = recovery.regenerate(user)
    audit.record(
        "auth.passkey_added",
        actor=user,
        target=f"user:{user.id}",
        detail={"passkey": passkey.id, "name": passkey.name},
    )
    return passkey, made


def remove_passkey(user: User, passkey) -> None:
    """Remove one of the user's passkeys (a role that needs a second factor keeps one)."""
    others = [p for p in passkeys.passkeys_of(user) if p.id != passkey.id]
    if is_required(user) and not others and not totp.is_enrolled(user):
        raise AuthError("last_factor")
    passkeys.remove(passkey)
    audit.record(
        "auth.passkey_removed", actor=user, target=f"user:{user.id}", detail={"passkey": passkey.id}
    )


def passkey_check(purpose: str, rp, *, handle: str | None, credential: dict, user=None):
    """Verify a passkey assertion; a failure is audited and raised as AuthError."""
    try:
        return passkeys.authenticate(purpose, rp, handle=handle, credential=credential, user=user)
    except passkeys.PasskeyError as exc:
        audit.record(
            "auth.step_up" if purpose == "step_up" else "auth.login",
            actor=user,
            outcome="failure",
            detail={"method": "passkey", "why": exc.why},
        )
        raise AuthError("passkey_failed", keep_record=True) from None


def step_up_with_passkey(user: User, rp, *, handle: str | None, credential: dict) -> None:
    passkey_check("step_up", rp, handle=handle, credential=credential, user=user)
    stepup.record("passkey")
    audit.record("auth.step_up", actor=user, target=f"user:{user.id}", detail={"method": "passkey"})

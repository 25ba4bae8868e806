"""Authentication, server-side sessions and user administration. Services flush, never commit."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from datetime import timedelta
from typing import ClassVar

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select, update

from app import audit
from app.auth import passwords, policy, stepup, totp
from app.auth.models import User, UserSession
from app.auth.roles import Role
from app.db import utcnow
from app.errors import DomainError
from app.extensions import db
from app.pagination import paginate

#: How often a session's last_seen_at is written (not on every request).
TOUCH_EVERY = timedelta(seconds=60)


class AuthError(DomainError):
    """A refused action; also the words for what password_problems() finds."""

    messages: ClassVar = {
        "too_short": _l("Use at least 10 characters."),
        "too_long": _l("Use at most 128 characters."),
        "too_common": _l("This password is too easy to guess. Choose another."),
        "contains_username": _l("The password must not contain the username."),
        "wrong_current": _l("The current password is not correct."),
        "wrong_password": _l("The password is not correct."),
        "same_as_old": _l("Choose a password different from the current one."),
        "username_taken": _l("This username is already in use."),
        "bad_role": _l("Choose a role from the list."),
        "cannot_change_own_role": _l("You cannot change your own role."),
        "cannot_deactivate_self": _l("You cannot deactivate your own account."),
        "client_required": _l("Choose the client this user belongs to."),
        "code_required": _l("Enter the 6-digit code from your authenticator app."),
        "wrong_code": _l("The code is not correct, or it was used already. Wait for the next one."),
        "wrong_recovery_code": _l("This recovery code is not correct, or it was used already."),
        "already_enrolled": _l("An authenticator app is already set up."),
        "not_enrolled": _l("No authenticator app is set up."),
        "passkey_failed": _l("The passkey could not be checked. Try again."),
        "passkey_name": _l("Give the passkey a name."),
        "last_factor": _l(
            "Your role needs a second factor: set up another one before you remove this one."
        ),
    }


#: What other features do when a user's role changes (`sites` ends assignments a new role
#: cannot hold). Each takes the user; features above `auth` register here.
ROLE_CHANGE_FOLLOW_UPS: list[Callable[[User], None]] = []


def normalise_username(username: str) -> str:
    return username.strip().lower()


def find_user(username: str) -> User | None:
    return db.session.scalar(select(User).where(User.username == normalise_username(username)))


# ---------------------------------------------------------------- login and sessions


def authenticate(username: str, password: str) -> User | None:
    """The user whose active account matches; audits failures. Same answer for every failure."""
    user = find_user(username)
    if user is None:
        passwords.burn_time(password)
        audit.record(
            "auth.login",
            actor_name=unknown_name(username),
            outcome="failure",
            detail={"why": "unknown"},
        )
        return None
    if not passwords.verify_password(user.password_hash, password):
        audit.record("auth.login", actor=user, outcome="failure", detail={"why": "password"})
        return None
    if not user.is_active:
        audit.record("auth.login", actor=user, outcome="failure", detail={"why": "inactive"})
        return None
    if user.must_change_password and _temporary_password_expired(user):
        audit.record("auth.login", actor=user, outcome="failure", detail={"why": "temp_expired"})
        return None
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    return user


def may_sign_in(user: User) -> bool:
    """May this user sign in with a passkey now (active, and no expired temporary password)?"""
    if not user.is_active:
        return False
    return not (user.must_change_password and _temporary_password_expired(user))


def unknown_name(username: str) -> str:
    """How an unknown username is kept in the audit log: a keyed digest, never the text.

    People type passwords into the username field; the append-only log must not keep them.
    The digest still shows repeated guesses at the same name.
    """
    digest = hmac.new(
        current_app.config["AUDIT_KEY"].encode(), normalise_username(username).encode(), "sha256"
    ).hexdigest()
    return f"unknown:{digest[:16]}"


def record_throttled_login(username: str, limit: str = "") -> None:
    """Audit a login attempt refused by the throttle (`limit`: which one)."""
    user = find_user(username)
    audit.record(
        "auth.login",
        actor=user,
        actor_name="" if user else unknown_name(username),
        outcome="denied",
        detail={"why": "throttled", "limit": limit},
    )


def _temporary_password_expired(user: User) -> bool:
    hours = current_app.config["TEMP_PASSWORD_HOURS"]
    changed = user.password_changed_at or user.created_at
    return utcnow() - changed > timedelta(hours=hours)


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(
    user: User,
    *,
    user_agent: str = "",
    ip: str = "",
    pending: bool = False,
    second_factor: str = "",
) -> str:
    """Open a server-side session; returns the token for the cookie (only its hash is stored).
    `pending`: the password was right, the second factor is still to come (app/auth/factors.py):
    the row signs nobody in until complete_session()."""
    token = secrets.token_urlsafe(16)
    now = utcnow()
    db.session.add(
        UserSession(
            token_hash=_hash_token(token),
            user_id=user.id,
            created_at=now,
            last_seen_at=now,
            user_agent=user_agent[:255],
            ip=ip[:64],
            is_pending=pending,
            second_factor=second_factor,
        )
    )
    db.session.flush()
    if pending:
        audit.record("auth.login_password", actor=user, target=f"user:{user.id}")
    else:
        user.last_login_at = now
        detail = {"second_factor": second_factor} if second_factor else None
        audit.record("auth.login", actor=user, target=f"user:{user.id}", detail=detail)
    return token


def complete_session(row: UserSession, *, second_factor: str) -> str:
    """The second factor of a pending login is proven: it becomes a full session under a new
    token (a new session id at the moment of signing in). Returns the token for the cookie."""
    token = secrets.token_urlsafe(16)
    now = utcnow()
    row.token_hash = _hash_token(token)
    row.is_pending = False
    row.second_factor = second_factor
    row.created_at = row.last_seen_at = now
    row.user.last_login_at = now
    db.session.flush()
    audit.record(
        "auth.login",
        actor=row.user,
        target=f"user:{row.user_id}",
        detail={"second_factor": second_factor},
    )
    return token


def session_for_token(token: str | None, *, pending: bool = False) -> UserSession | None:
    """The live session for a cookie token, or None if unknown, revoked or expired. A pending
    login (password only, `pending=True` to ask for it) is never a signed-in session."""
    if not token:
        return None
    row = db.session.scalar(select(UserSession).where(UserSession.token_hash == _hash_token(token)))
    if row is None or row.revoked_at is not None or row.is_pending != pending:
        return None
    now = utcnow()
    cfg = current_app.config
    idle = timedelta(minutes=cfg["SESSION_IDLE_MINUTES"])
    lifetime = timedelta(hours=cfg["SESSION_MAX_HOURS"])
    if now - row.last_seen_at > idle or now - row.created_at > lifetime:
        row.revoked_at = now
        row.revoked_reason = "expired"
        return None
    if not row.user.is_active:
        return None
    if now - row.last_seen_at > TOUCH_EVERY:
        row.last_seen_at = now
    return row


def revoke_sessions(user: User, *, reason: str, keep: UserSession | None = None) -> int:
    """Revoke every live session of a user (but `keep`); returns how many."""
    stmt = (
        update(UserSession)
        .where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoked_reason=reason)
    )
    if keep is not None:
        stmt = stmt.where(UserSession.id != keep.id)
    result = db.session.execute(stmt, execution_options={"synchronize_session": "fetch"})
    return result.rowcount or 0


def end_session(session_row: UserSession, *, user: User) -> None:
    """Logout: revoke this session."""
    session_row.revoked_at = utcnow()
    session_row.revoked_reason = "logout"
    audit.record("auth.logout", actor=user, target=f"user:{user.id}")


def change_own_password(
    user: User, *, current_password: str, new_password: str, session_row: UserSession | None
) -> None:
    """Change a user's own password; other sessions are revoked."""
    if not passwords.verify_password(user.password_hash, current_password):
        audit.record("auth.password_changed", actor=user, outcome="failure")
        raise AuthError("wrong_current", keep_record=True)  # the failed guess stays audited
    problems = passwords.password_problems(new_password, username=user.username)
    if problems:
        raise AuthError(problems[0])
    if passwords.verify_password(user.password_hash, new_password):
        raise AuthError("same_as_old")
    user.password_hash = passwords.hash_password(new_password)
    user.password_changed_at = utcnow()
    user.must_change_password = False
    revoked = revoke_sessions(user, reason="password_changed", keep=session_row)
    audit.record(
        "auth.password_changed", actor=user, target=f"user:{user.id}", detail={"revoked": revoked}
    )


def step_up_with_password(user: User, password: str, code: str | None = None) -> None:
    """Prove the signed-in user again by her password, and her TOTP code where she has one
    (app/auth/stepup.py); audited either way."""
    enrolled = totp.is_enrolled(user)
    method = "password+totp" if enrolled else "password"
    if not passwords.verify_password(user.password_hash, password):
        audit.record("auth.step_up", actor=user, outcome="failure", detail={"method": method})
        raise AuthError("wrong_password", field="password", keep_record=True)
    if enrolled and not totp.verify(user, code or ""):
        audit.record(
            "auth.step_up", actor=user, outcome="failure", detail={"method": method, "why": "code"}
        )
        raise AuthError("wrong_code", field="code", keep_record=True)
    stepup.record(method)
    audit.record("auth.step_up", actor=user, target=f"user:{user.id}", detail={"method": method})


# ---------------------------------------------------------------- administration


def list_users(*, q: str = "", role: str = "", active: str = "", page: int = 1, per_page: int = 25):
    """Users filtered by a search text, role and active flag, one page at a time."""
    stmt = select(User)
    if q:
        like = f"%{q.strip().lower()}%"
        stmt = stmt.where(or_(func.lower(User.username).like(like), User.display_name.ilike(like)))
    if role in set(Role):
        stmt = stmt.where(User.role == role)
    if active in ("1", "0"):
        stmt = stmt.where(User.is_active.is_(active == "1"))
    return paginate(stmt.order_by(User.username), page=page, per_page=per_page)


def create_user(
    *,
    actor: User | None,
    username: str,
    display_name: str,
    role: str,
    password: str,
    client_id: int | None = None,
    must_change_password: bool = True,
    email: str | None = None,
) -> User:
    """Create a user; the admin hands over the first password, which must be changed."""
    username = normalise_username(username)
    if find_user(username) is not None:
        raise AuthError("username_taken")
    if role not in set(Role):
        raise AuthError("bad_role")
    problems = passwords.password_problems(password, username=username)
    if problems:
        raise AuthError(problems[0])
    user = User(
        username=username,
        display_name=display_name.strip(),
        role=role,
        password_hash=passwords.hash_password(password),
        must_change_password=must_change_password,
        client_id=client_id if policy.role_belongs_to_client(role) else None,
        password_changed_at=utcnow(),
        email=(email or "").strip() or None,
    )
    db.session.add(user)
    db.session.flush()
    audit.record(
        "user.created",
        actor=actor,
        target=f"user:{user.id}",
        detail={"role": role, "username": username},
    )
    return user


def update_user(
    user: User,
    *,
    actor: User,
    display_name: str,
    role: str,
    client_id: int | None,
    email: str | None = None,
) -> None:
    """Change a user's name, role and (for client users) client."""
    if role not in set(Role):
        raise AuthError("bad_role")
    if user.id == actor.id and role != user.role:
        raise AuthError("cannot_change_own_role")
    changes = {}
    if display_name.strip() != user.display_name:
        changes["display_name"] = display_name.strip()
        user.display_name = display_name.strip()
    new_client = client_id if policy.role_belongs_to_client(role) else None
    if role != user.role:
        changes["role"] = {"from": user.role, "to": role}
        user.role = role
        # A new role means new permissions: make the user sign in again to get them cleanly.
        revoke_sessions(user, reason="role_changed")
        for follow_up in ROLE_CHANGE_FOLLOW_UPS:
            follow_up(user)
    if new_client != user.client_id:
        changes["client_id"] = new_client
        user.client_id = new_client
    new_email = (email or "").strip() or None
    if new_email != user.email:
        changes["email"] = "changed"  # the address itself is personal data: not in the log
        user.email = new_email
    if changes:
        audit.record("user.updated", actor=actor, target=f"user:{user.id}", detail=changes)


def set_active(user: User, *, actor: User, is_active: bool) -> None:
    """Deactivate (revoking every session) or reactivate a user."""
    if user.id == actor.id:
        raise AuthError("cannot_deactivate_self")
    if user.is_active == is_active:
        return
    user.is_active = is_active
    if not is_active:
        revoke_sessions(user, reason="deactivated")
    audit.record(
        "user.activated" if is_active else "user.deactivated", actor=actor, target=f"user:{user.id}"
    )


def reset_password(user: User, *, actor: User) -> str:
    """Give the user a one-time temporary password (returned once, never stored in clear)."""
    temporary = passwords.temporary_password()
    user.password_hash = passwords.hash_password(temporary)
    user.must_change_password = True
    user.password_changed_at = utcnow()
    revoked = revoke_sessions(user, reason="password_reset")
    audit.record(
        "user.password_reset", actor=actor, target=f"user:{user.id}", detail={"revoked": revoked}
    )
    return temporary


def revoke_session(session_row: UserSession, *, actor: User) -> None:
    """End one session of a user."""
    if session_row.revoked_at is None:
        session_row.revoked_at = utcnow()
        session_row.revoked_reason = "admin" if actor.id != session_row.user_id else "logout"
        audit.record(
            "user.session_revoked",
            actor=actor,
            target=f"user:{session_row.user_id}",
            detail={"session": session_row.id},
        )


def revoke_all_sessions(user: User, *, actor: User) -> int:
    """An admin ends every session of a user (a lost phone, a leaver)."""
    count = revoke_sessions(user, reason="admin")
    audit.record(
        "user.sessions_revoked", actor=actor, target=f"user:{user.id}", detail={"count": count}
    )
    return count


def live_sessions(user: User) -> list[UserSession]:
    return [s for s in user.sessions if s.revoked_at is None and not s.is_pending]

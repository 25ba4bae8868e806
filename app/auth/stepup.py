"""Step-up: a fresh proof of identity on this login before a restricted value is revealed.

SECURITY.md decision 2 keeps sessions long (a phone changes address all shift); what a
restricted vault value needs instead is a proof within the last few minutes. The proof is
kept on the server-side session row, so revoking the session revokes it too, and it never
travels in a cookie.

`is_fresh()` asks; `record(method)` marks the current session after the step-up page has
checked a password (and TOTP where enrolled), a passkey or a recovery code.
"""

from __future__ import annotations

from datetime import timedelta

from flask import current_app, g, url_for

from app.db import utcnow

#: Seconds a step-up stays fresh (issue 12 item 4: "within the last 5 minutes").
DEFAULT_SECONDS = 300
METHODS = ("password", "password+totp", "passkey", "recovery_code")


def window() -> timedelta:
    return timedelta(seconds=current_app.config.get("STEP_UP_SECONDS", DEFAULT_SECONDS))


def _row():
    return getattr(g, "user_session", None)


def is_fresh() -> bool:
    """Did this login prove its user again within the window?"""
    row = _row()
    if row is None or row.stepped_up_at is None:
        return False
    return utcnow() - row.stepped_up_at <= window()


def record(method: str) -> None:
    """Mark the current login as freshly proven (the caller commits)."""
    if method not in METHODS:
        raise ValueError(method)
    row = _row()
    if row is None:
        raise RuntimeError("step-up outside a signed-in request")
    row.stepped_up_at = utcnow()
    row.stepped_up_by = method


def url(next_url: str) -> str:
    """Where to send a user who needs a step-up first; he comes back to next_url."""
    return url_for("auth.step_up", next=next_url)

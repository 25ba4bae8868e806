"""authorize(): turn a policy answer into 403, or 404 for objects the user may not know about."""

from flask import abort


def authorize(allowed: bool, *, hide: bool = False) -> None:
    """Abort unless allowed: 404 when `hide` (the object's existence is itself need-to-know)."""
    if not allowed:
        abort(404 if hide else 403)


def authorize_hidden(allowed: bool, *, target: str) -> None:
    """Unless allowed: write a denied audit row for `target` ("site:12"), commit it, answer 404.

    SECURITY.md: asking for an object of a site one does not serve looks like asking for one
    that does not exist, and leaves a trace.
    """
    if allowed:
        return
    from flask_login import current_user

    from app import audit
    from app.extensions import db

    audit.record(
        f"{target.split(':', 1)[0]}.access", actor=current_user, target=target, outcome="denied"
    )
    db.session.commit()
    abort(404)

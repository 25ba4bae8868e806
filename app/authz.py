"""authorize(): turn a policy answer into 403, or 404 for objects the user may not know about."""

from flask import abort


def authorize(allowed: bool, *, hide: bool = False) -> None:
    """Abort unless allowed: 404 when `hide` (the object's existence is itself need-to-know)."""
    if not allowed:
        abort(404 if hide else 403)

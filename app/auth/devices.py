"""Device cookies (the OWASP "device cookie" pattern): a phone that has signed in to an
account before keeps signing in to it while others guessing at the account are throttled.

On a successful login the browser gets a long-lived, HttpOnly cookie holding, for that
username, a fresh random nonce signed with an HMAC of the secret key. A later attempt that
carries a valid entry for the username it names is counted against that device's own limit
only; an absent, forged, expired or other user's entry counts as an untrusted attempt. One
phone may be shared between shifts, so the cookie keeps the last few accounts signed in on it.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from flask import Response, current_app, g, request
from itsdangerous import BadSignature, URLSafeTimedSerializer

#: How many accounts one device cookie remembers (a phone handed over between shifts).
MAX_ACCOUNTS = 5
_SALT = "guardpost-device-cookie"
_SEPARATOR = "~"  # not in itsdangerous's URL-safe alphabet, and needs no quoting in a cookie


def cookie_name() -> str:
    # The __Host- prefix pins the cookie to this host, path / and HTTPS (as the session's).
    return "__Host-guardpost-device" if current_app.config["SECURE_COOKIES"] else "guardpost-device"


def _max_age() -> timedelta:
    return timedelta(days=current_app.config["LOGIN_DEVICE_COOKIE_DAYS"])


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def _entries() -> list[tuple[str, str, str]]:
    """(username, nonce, token) for each validly signed, unexpired entry of the cookie."""
    raw = request.cookies.get(cookie_name(), "")
    found = []
    seconds = int(_max_age().total_seconds())
    for token in raw.split(_SEPARATOR)[: MAX_ACCOUNTS * 2]:
        if not token:
            continue
        try:
            username, nonce = _serializer().loads(token, max_age=seconds)
        except (BadSignature, ValueError, TypeError):
            continue  # forged, expired or malformed: as if absent
        if isinstance(username, str) and isinstance(nonce, str):
            found.append((username, nonce, token))
    return found


def trusted_nonce(username: str) -> str | None:
    """The nonce of this request's valid device cookie entry for `username`, else None."""
    cache = g.setdefault("device_nonces", {})
    if username not in cache:
        cache[username] = next(
            (nonce for name, nonce, _token in _entries() if name == username and username), None
        )
    return cache[username]


def remember(response: Response, username: str) -> None:
    """After a successful login: a fresh entry for `username`, kept first; others kept."""
    fresh = _serializer().dumps([username, secrets.token_urlsafe(16)])
    others = [token for name, _nonce, token in _entries() if name != username]
    value = _SEPARATOR.join([fresh, *others][:MAX_ACCOUNTS])
    secure = bool(current_app.config["SECURE_COOKIES"])
    response.set_cookie(
        cookie_name(),
        value,
        max_age=_max_age(),
        path="/",
        secure=secure,
        httponly=True,
        samesite="Strict",
    )

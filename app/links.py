"""Links that leave the app (QR codes, printed labels, e-mails) never come from the request's
Host header: a request sent with `Host: evil.example` would otherwise print labels and send
mails that point there. The address is BASE_URL, or this request's host when it is one of
TRUSTED_HOSTS; otherwise there is none and the caller says what to set.
"""

from __future__ import annotations

from flask import current_app, has_request_context, request
from werkzeug.sansio.utils import host_is_trusted


def public_base_url() -> str | None:
    """The app's public address without a trailing slash, or None if it is not configured."""
    base = (current_app.config.get("BASE_URL") or "").strip()
    if base:
        return base.rstrip("/")
    trusted = current_app.config.get("TRUSTED_HOSTS")
    if trusted and has_request_context() and host_is_trusted(request.host, trusted):
        return request.host_url.rstrip("/")
    return None


def public_url(path: str) -> str | None:
    """An absolute link to `path` (starting with /), or None without a public address."""
    base = public_base_url()
    return f"{base}{path}" if base else None

"""Browser security headers: CSP pinned to the exact CDN files, nosniff, COOP, no-store.

Signing in (sessions, default-deny login, safe redirects) is auth's: app/auth/login.py.
"""

from __future__ import annotations

from functools import cache

from flask import Flask, Response, request

from app.htmx import add_vary
from app.vendor import vendor


def cdn_script_urls() -> list[str]:
    """The exact CDN files of static/vendor.json: a CSP path with no trailing slash matches
    only that file, so nothing else on the CDN's host may run here."""
    urls = sorted(lib["cdn"] for lib in vendor().values())
    for url in urls:  # a stray space, quote, comma or semicolon would add a source or directive
        if not url.startswith("https://") or any(c in url for c in " ;,'\"\n"):
            raise ValueError(f"vendor.json: not a plain https URL: {url!r}")
    return urls


def content_security_policy() -> str:
    return _policy(tuple(cdn_script_urls()))


@cache
def _policy(cdn_scripts: tuple[str, ...]) -> str:
    return "; ".join(
        [
            "default-src 'self'",
            " ".join(["script-src 'self'", *cdn_scripts]),
            "style-src 'self'",
            "img-src 'self' data: blob:",
            "font-src 'self'",
            "connect-src 'self'",
            "media-src 'self' blob:",
            "worker-src 'self'",
            "manifest-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def set_security_headers(response: Response) -> Response:
    """SECURITY.md 'Browser': CSP and friends on every response; no-store on dynamic ones."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", content_security_policy())
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault(
        "Permissions-Policy", "camera=(self), geolocation=(self), microphone=(), payment=()"
    )
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    if request.endpoint != "static" and "Cache-Control" not in headers:
        # Nothing a signed-in user sees may sit in a browser or proxy cache (SECURITY.md 8).
        headers["Cache-Control"] = "no-store"
    if request.endpoint != "static":
        add_vary(response)
        response.vary.add("Cookie")
    return response


def init_app(app: Flask) -> None:
    app.after_request(set_security_headers)

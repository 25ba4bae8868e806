"""Browser security headers, server-side session loading, default-deny login, safe redirects."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from urllib.parse import urlsplit

from flask import (
    Flask,
    Response,
    current_app,
    g,
    jsonify,
    redirect,
    request,
    session,
    url_for,
)
from flask_login import current_user

from app.auth import services as auth_services
from app.extensions import db, login_manager
from app.htmx import add_vary, is_htmx
from app.templating import vendor

#: Endpoints a user who must change a temporary password may still reach.
PASSWORD_CHANGE_ALLOWED = {"auth.change_password", "auth.logout", "static"}


def public(view: Callable) -> Callable:
    """Mark a view as reachable without login (everything else needs one)."""
    view.is_public = True  # type: ignore[attr-defined]
    return view


def is_safe_next(target: str | None) -> bool:
    """Only a path on this site: no scheme, no host, no '//' or backslash tricks."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc and "\\" not in target and "\n" not in target


def safe_next(target: str | None, default: str) -> str:
    return target if is_safe_next(target) else default


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


def _wants_json() -> bool:
    accept = request.accept_mimetypes
    return request.is_json or (accept.best == "application/json")


def _current_page() -> str:
    """The page the user is on: for htmx, the page that sent the request, not the fragment URL."""
    if is_htmx() and request.headers.get("HX-Current-URL"):
        parts = urlsplit(request.headers["HX-Current-URL"])
        return parts.path + (f"?{parts.query}" if parts.query else "")
    return request.full_path.rstrip("?")


def unauthorized() -> Response:
    """Anonymous: pages go to login and come back; htmx/JSON get 401 with HX-Redirect."""
    target = _current_page()
    login_url = url_for("auth.login", next=target if is_safe_next(target) else None)
    if is_htmx() or _wants_json():
        response = jsonify(error="login required")
        response.status_code = 401
        response.headers["HX-Redirect"] = login_url
        return response
    return redirect(login_url)


@login_manager.user_loader
def load_user(user_id: str):
    """Resolve the server-side session row named by the cookie; revoked or expired means no user."""
    row = auth_services.session_for_token(session.get("sid"))
    if db.session.dirty:
        db.session.commit()  # last_seen_at touch or an expiry: infrastructure, not a domain change
    if row is None or str(row.user_id) != str(user_id):
        return None
    g.user_session = row
    return row.user


def require_login() -> Response | None:
    """before_request: every endpoint needs a signed-in user unless marked @public."""
    endpoint = request.endpoint
    if endpoint is None:
        return None  # 404 follows
    view = current_app.view_functions.get(endpoint)
    if endpoint == "static" or getattr(view, "is_public", False):
        return None
    if not current_user.is_authenticated:
        return unauthorized()
    if current_user.must_change_password and endpoint not in PASSWORD_CHANGE_ALLOWED:
        target = url_for("auth.change_password")
        if is_htmx():
            response = Response(status=204)
            response.headers["HX-Redirect"] = target
            return response
        return redirect(target)
    return None


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
    login_manager.init_app(app)
    # SECURITY.md 2: "basic", because phones hop between Wi-Fi and mobile data mid-inspection.
    login_manager.session_protection = "basic"
    login_manager.unauthorized_handler(unauthorized)
    app.before_request(require_login)
    app.after_request(set_security_headers)

"""Signing in as the app sees it: the server-side session behind the cookie, default-deny
login for every endpoint not marked @public, and redirects that stay on this site."""

from __future__ import annotations

from collections.abc import Callable
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

from app.auth import factors
from app.auth import services as auth_services
from app.extensions import db, login_manager
from app.htmx import is_htmx

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
    return factors.enrolment_gate(endpoint)


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    # SECURITY.md 2: "basic", because phones hop between Wi-Fi and mobile data mid-inspection.
    login_manager.session_protection = "basic"
    login_manager.unauthorized_handler(unauthorized)
    app.before_request(require_login)

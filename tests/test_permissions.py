"""The permission table: every route in app.url_map, for every role. A new route without an
entry here fails the suite, and so does an entry whose route is gone."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import select

from app.auth.models import UserSession
from app.extensions import db

ANONYMOUS = "anonymous"
ROLES = ["guard", "supervisor", "manager", "admin", "client"]
EVERYONE = frozenset([ANONYMOUS, *ROLES])
SIGNED_IN = frozenset(ROLES)
ADMIN = frozenset(["admin"])


@dataclass(frozen=True)
class Entry:
    method: str
    path: str  # may name {target} (another user), {target_session}, {own_session}
    allowed: frozenset


TABLE: dict[str, Entry] = {
    "static": Entry("GET", "/static/css/app.css", EVERYONE),
    "main.home": Entry("GET", "/", SIGNED_IN),
    "main.healthz": Entry("GET", "/healthz", EVERYONE),
    "auth.login": Entry("GET", "/login", EVERYONE),
    "auth.logout": Entry("POST", "/logout", SIGNED_IN),
    "auth.account": Entry("GET", "/account", SIGNED_IN),
    "auth.revoke_own_session": Entry("POST", "/account/sessions/{own_session}/revoke", SIGNED_IN),
    "auth.change_password": Entry("GET", "/account/password", SIGNED_IN),
    "auth.users": Entry("GET", "/admin/users", ADMIN),
    "auth.user_new": Entry("GET", "/admin/users/new", ADMIN),
    "auth.user_edit": Entry("GET", "/admin/users/{target}", ADMIN),
    "auth.user_set_active": Entry("POST", "/admin/users/{target}/active", ADMIN),
    "auth.user_reset_password": Entry("POST", "/admin/users/{target}/reset-password", ADMIN),
    "auth.user_revoke_session": Entry(
        "POST", "/admin/users/{target}/sessions/{target_session}/revoke", ADMIN
    ),
    "auth.user_revoke_all": Entry("POST", "/admin/users/{target}/sessions/revoke-all", ADMIN),
    "auth.user_sites": Entry("POST", "/admin/users/{target}/sites", ADMIN),
    "pwa.manifest": Entry("GET", "/manifest.webmanifest", EVERYONE),
    "pwa.service_worker": Entry("GET", "/sw.js", EVERYONE),
    "pwa.offline": Entry("GET", "/offline", EVERYONE),
}


def test_every_route_has_an_entry_and_every_entry_a_route(app):
    routes = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert routes - TABLE.keys() == set(), "add these routes to the permission table"
    assert TABLE.keys() - routes == set(), "these entries name routes that no longer exist"


def test_every_entry_uses_a_method_its_route_accepts(app):
    for rule in app.url_map.iter_rules():
        assert TABLE[rule.endpoint].method in rule.methods, rule.endpoint


def _session_id(user) -> int:
    return db.session.scalar(
        select(UserSession.id).where(UserSession.user_id == user.id).order_by(UserSession.id.desc())
    )


@pytest.mark.parametrize("role", [ANONYMOUS, *ROLES])
@pytest.mark.parametrize("endpoint", sorted(TABLE))
def test_permission_table(app, client, make_user, login, endpoint, role):
    entry = TABLE[endpoint]
    target = make_user("guard")
    login(target, test_client=app.test_client())
    ids = {"target": target.id, "target_session": _session_id(target)}
    if role != ANONYMOUS:
        actor = make_user(role)
        login(actor)
        ids["own_session"] = _session_id(actor)
    else:
        ids["own_session"] = ids["target_session"]
    path = entry.path.format(**ids)

    response = client.open(path, method=entry.method)

    status = response.status_code
    went_to_login = status == 302 and "/login" in response.headers.get("Location", "")
    if role in entry.allowed:
        assert status < 400 and not went_to_login, f"{role} should reach {endpoint}: {status}"
    elif role == ANONYMOUS:
        assert went_to_login, f"anonymous should be sent to login from {endpoint}: {status}"
    else:
        assert status in (403, 404), f"{role} must not reach {endpoint}: {status}"


@pytest.mark.parametrize(
    "endpoint", sorted(e for e, v in TABLE.items() if ANONYMOUS not in v.allowed)
)
def test_anonymous_htmx_and_json_requests_get_401_with_hx_redirect(client, endpoint):
    entry = TABLE[endpoint]
    path = entry.path.format(target=1, target_session=1, own_session=1)
    for headers in (
        {"HX-Request": "true", "HX-Current-URL": "http://localhost/admin/users"},
        {"Accept": "application/json"},
    ):
        response = client.open(path, method=entry.method, headers=headers)
        assert response.status_code == 401
        assert response.headers["HX-Redirect"].startswith("/login")
    htmx = client.open(
        path,
        method=entry.method,
        headers={"HX-Request": "true", "HX-Current-URL": "http://localhost/admin/users?q=x"},
    )
    assert htmx.headers["HX-Redirect"] == "/login?next=/admin/users?q%3Dx"

"""What the browser's outbox needs from the server (issue 11): the endpoints the service worker
captures, a fresh CSRF token after a sign-in, refusals it can tell apart, and which pages a
phone may keep for offline use (tests/e2e/test_outbox.py drives all of it in Chromium)."""

from __future__ import annotations

import json
import re

import pytest

from app.extensions import db
from app.pwa.routes import OUTBOX_ENDPOINTS
from tests import factories


def sw_routes(client) -> list[dict]:
    text = client.get("/sw.js").text
    return json.loads(re.search(r"const ROUTES = (\[.*?\])\.map", text).group(1))


def test_the_service_worker_captures_field_work_and_nothing_else(app, client):
    routes = sw_routes(client)
    patterns = [re.compile(r["pattern"]) for r in routes]
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert set(OUTBOX_ENDPOINTS) <= endpoints, "an outbox endpoint that no longer exists"
    captured = [
        "/inspections/0b6f6c1e-9a2e-4c54-9a61-1f1b8f0c2a11/items/7",
        "/inspections/0b6f6c1e-9a2e-4c54-9a61-1f1b8f0c2a11/items/7/photos",
        "/inspections/0b6f6c1e-9a2e-4c54-9a61-1f1b8f0c2a11/submit",
        "/incidents/new",
        "/alarms/3/arrived",
        "/briefings/5/ack",
        "/s/abc/check-in",
    ]
    for path in captured:
        assert any(p.search(path) for p in patterns), path
    # Signing in, passwords, administration: never kept on a phone, never replayed.
    for path in [
        "/login",
        "/logout",
        "/account/password",
        "/users/new",
        "/sites/new",
        "/inspections/0b6f6c1e-9a2e-4c54-9a61-1f1b8f0c2a11/amend",
        "/notifications/read",
    ]:
        assert not any(p.search(path) for p in patterns), path


def test_the_outbox_token_is_fresh_and_names_the_user(client, make_user, login):
    assert client.get("/outbox/token", headers={"Accept": "application/json"}).status_code == 401
    user = make_user("supervisor")
    login(user)
    response = client.get("/outbox/token", headers={"Accept": "application/json"})
    assert response.status_code == 200
    assert response.json["user"] == user.id and response.json["csrf_token"]
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
def test_an_expired_form_says_so_in_a_header_the_outbox_reads(client, make_user, login):
    user = make_user("guard")
    client.get("/login")
    login(user, csrf_token=_token(client))
    refused = client.post("/briefings/1/ack", data={"csrf_token": "stale"})
    assert refused.status_code == 400
    assert refused.headers["X-Refusal"] == "csrf"


def _token(client) -> str:
    page = client.get("/login").text
    return re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)


def test_only_a_running_inspection_and_the_empty_forms_are_kept_offline(client, make_user, login):
    supervisor = make_user("supervisor")
    site = factories.gen_site()
    factories.assign(supervisor, site)
    draft = factories.gen_inspection(site, supervisor)
    done = factories.gen_inspection(site, supervisor, status="submitted")
    db.session.commit()
    login(supervisor)

    assert client.get(f"/inspections/{draft.uuid}").headers.get("X-Offline") == "keep"
    assert client.get(f"/incidents/new?site={site.id}").headers.get("X-Offline") == "keep"
    assert client.get("/outbox").headers.get("X-Offline") == "keep"
    # A report, the home page, a site card: never kept.
    for path in [f"/inspections/{done.uuid}", "/", f"/sites/{site.id}", "/incidents"]:
        assert "X-Offline" not in client.get(path).headers, path


def test_the_unsent_page_holds_nothing_of_the_servers(client, make_user, login):
    login(make_user("supervisor", display_name="林督導"))
    page = client.get("/outbox").text
    assert "data-outbox-list" in page and "<li" not in page.split("data-outbox-list")[1][:40]


def test_the_saved_page_is_in_the_shell_and_holds_nothing_personal(client, make_user, login):
    login(make_user("supervisor", display_name="林督導"))
    shell = re.search(r"const SHELL = (\[.*?\]);", client.get("/sw.js").text).group(1)
    assert '"/outbox/saved"' in shell
    page = client.get("/outbox/saved").text
    assert "林督導" not in page and "csrf" not in page.lower()
    assert "已存在這支手機" in page and "Saved on this phone" in page

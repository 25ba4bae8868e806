"""Operator logs: one JSON line per request, X-Request-ID, the id on 500 pages, no secrets."""

from __future__ import annotations

import json
import logging
import re
import sqlite3

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from app.extensions import db
from app.request_log import JsonFormatter, RequestIdFilter
from tests import factories

GENERATED_ID = re.compile(r"[0-9a-f]{16}")


class _Lines(logging.Handler):
    """Keeps each record as the JSON line the app writes to stderr."""

    def __init__(self):
        super().__init__()
        self.lines: list[str] = []
        self.setFormatter(JsonFormatter())
        self.addFilter(RequestIdFilter())

    def emit(self, record):
        self.lines.append(self.format(record))

    def entries(self, logger: str = "guardpost.request") -> list[dict]:
        return [e for e in map(json.loads, self.lines) if e["logger"] == logger]


@pytest.fixture
def logs(app):
    handler = _Lines()
    targets = [logging.getLogger("guardpost"), app.logger]
    for target in targets:
        target.addHandler(handler)
    yield handler
    for target in targets:
        target.removeHandler(handler)


def one_line_for(logs: _Lines, response) -> dict:
    request_id = response.headers["X-Request-ID"]
    lines = [e for e in logs.entries() if e.get("request_id") == request_id]
    assert len(lines) == 1, lines
    return lines[0]


def test_each_request_logs_one_line_with_id_user_route_status_and_duration(
    client, make_user, login, logs
):
    admin = make_user("admin")
    other = make_user("guard")
    login(admin)
    response = client.get(f"/admin/users/{other.id}")
    assert response.status_code == 200
    line = one_line_for(logs, response)
    assert line["route"] == "/admin/users/<int:user_id>"  # the rule, not the path
    assert line["endpoint"] == "auth.user_edit"
    assert line["method"] == "GET"
    assert line["status"] == 200
    assert line["user_id"] == admin.id
    assert isinstance(line["duration_ms"], float) and 0 <= line["duration_ms"] < 60_000
    assert line["level"] == "INFO" and line["msg"] == "request" and line["ts"].endswith("+00:00")


def test_anonymous_requests_misses_and_static_files_are_logged_too(app, client, logs):
    redirect = client.get("/account")
    assert redirect.status_code == 302
    line = one_line_for(logs, redirect)
    assert line["user_id"] is None and line["route"] == "/account" and line["status"] == 302
    missing = client.get("/no/such/page/abc123")
    line = one_line_for(logs, missing)
    assert line["status"] == 404 and line["route"] is None
    assert "abc123" not in json.dumps(line)
    static = client.get("/static/css/app.css")
    line = one_line_for(logs, static)
    assert line["endpoint"] == "static" and line["route"] == "/static/<path:filename>"
    assert line["status"] == 200


def test_every_response_carries_a_fresh_request_id(client):
    ids = [client.get(path).headers["X-Request-ID"] for path in ("/login", "/login", "/sw.js")]
    ids.append(client.get("/static/js/app.js").headers["X-Request-ID"])
    assert all(GENERATED_ID.fullmatch(i) for i in ids)
    assert len(set(ids)) == len(ids)


def test_an_incoming_request_id_is_ignored_without_a_trusted_proxy(client):
    response = client.get("/login", headers={"X-Request-ID": "proxy-id-12345678"})
    assert response.headers["X-Request-ID"] != "proxy-id-12345678"
    assert GENERATED_ID.fullmatch(response.headers["X-Request-ID"])


@pytest.mark.parametrize("app_config", [{"PROXY_FIX": 1}])
def test_a_sane_request_id_from_the_trusted_proxy_is_kept(client, logs, app_config):
    for good in ("0af7651916cd43dd8448eb211c80319c", "Root=1-67891233-abcdef:12", "req_AbC.123"):
        response = client.get("/login", headers={"X-Request-ID": good})
        assert response.headers["X-Request-ID"] == good
        assert one_line_for(logs, response)["request_id"] == good
    for bad in ("short", "x" * 129, "has space inside", 'id"><script>1', "ünïcode-ïd-123", ""):
        response = client.get("/login", headers={"X-Request-ID": bad})
        assert GENERATED_ID.fullmatch(response.headers["X-Request-ID"]), bad


@pytest.fixture
def boom(app):
    @app.get("/boom-for-test")
    def boom_view():
        raise RuntimeError("something broke")

    boom_view.is_public = True
    return "/boom-for-test"


@pytest.mark.parametrize(
    ("lang", "label"),
    [("en", "tell your administrator this error reference"), ("zh-TW", "錯誤代碼")],
)
def test_the_500_page_and_fragment_show_the_request_id(client, logs, boom, lang, label):
    page = client.get(f"{boom}?lang={lang}")
    assert page.status_code == 500
    request_id = page.headers["X-Request-ID"]
    assert request_id in page.text and label in page.text and "<html" in page.text
    fragment = client.get(f"{boom}?lang={lang}", headers={"HX-Request": "true"})
    assert fragment.status_code == 500 and "<html" not in fragment.text
    assert fragment.headers["X-Request-ID"] in fragment.text
    assert ("Error reference" if lang == "en" else "錯誤代碼") in fragment.text
    # The exception is logged once, with the same id, beside the request's own line.
    errors = [e for e in logs.entries("guardpost.error") if e["request_id"] == request_id]
    assert len(errors) == 1
    assert "RuntimeError: something broke" in errors[0]["exc"]
    assert errors[0]["route"] == boom and errors[0]["level"] == "ERROR"
    line = one_line_for(logs, page)
    assert line["status"] == 500 and line["level"] == "ERROR"


def test_other_error_pages_show_no_reference(client, make_user, login):
    login(make_user("guard"))
    for path in ("/admin/users?lang=en", "/no/such/page?lang=en"):
        response = client.get(path)
        assert response.status_code in (403, 404)
        assert "error reference" not in response.text.lower()
        assert response.headers["X-Request-ID"] not in response.text


def _stderr_entries(capfd) -> list[dict]:
    err = capfd.readouterr().err
    return [json.loads(line) for line in err.splitlines() if line.startswith("{")]


def test_by_default_the_lines_go_to_stderr_as_json(client, capfd):
    capfd.readouterr()
    response = client.get("/login")
    lines = [
        e for e in _stderr_entries(capfd) if e.get("request_id") == response.headers["X-Request-ID"]
    ]
    assert [e["logger"] for e in lines] == ["guardpost.request"]
    assert lines[0]["route"] == "/login" and lines[0]["status"] == 200


def test_feature_errors_logged_through_app_logger_carry_the_request_id(app, client, capfd):
    @app.get("/feature-log-for-test")
    def feature_log():
        from flask import current_app

        current_app.logger.error("mail server unreachable")
        return "ok"

    feature_log.is_public = True
    capfd.readouterr()
    response = client.get("/feature-log-for-test")
    logged = [e for e in _stderr_entries(capfd) if e["msg"] == "mail server unreachable"]
    assert len(logged) == 1
    assert logged[0]["request_id"] == response.headers["X-Request-ID"]
    assert logged[0]["level"] == "ERROR"


# ---------------------------------------------------------------- no secrets in the logs

NEW_PASSWORD = "a brand new sentence 42"
SECRET_IN_QUERY = "reset-token-6c1f0e9d2b"
SECRET_SQL_VALUE = "sql-bound-value-9f8e7d"


def _csrf(page_text: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page_text).group(1)


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
def test_no_password_token_cookie_or_csrf_token_reaches_the_logs(
    app, client, logs, capfd, caplog, app_config
):
    guard = factories.gen_user("guard")
    site = factories.gen_site()
    factories.assign(guard, site)
    db.session.commit()
    qr_token = site.qr_token

    @app.get("/db-error-for-test")
    def db_error():
        db.session.execute(
            text("SELECT * FROM no_such_table WHERE x = :v"), {"v": SECRET_SQL_VALUE}
        )
        return "unreachable"

    db_error.is_public = True

    login_csrf = _csrf(client.get("/login").text)
    signed_in = client.post(
        "/login",
        data={"username": guard.username, "password": factories.PASSWORD, "csrf_token": login_csrf},
    )
    assert signed_in.status_code == 303
    cookie = client.get_cookie("guardpost").value
    form_csrf = _csrf(client.get("/account/password").text)
    changed = client.post(
        "/account/password",
        data={
            "current_password": factories.PASSWORD,
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
            "csrf_token": form_csrf,
        },
    )
    assert changed.status_code == 303
    meta_csrf = re.search(r'<meta name="csrf-token" content="([^"]+)"', client.get("/").text)
    scanned = client.get(f"/s/{qr_token}")
    assert scanned.status_code == 200
    client.get(f"/s/{qr_token}?via=code", headers={"X-CSRFToken": meta_csrf.group(1)})
    client.get(f"/s/{qr_token}/no-such-thing")  # a 404 with the token in its path
    client.get(f"/account?token={SECRET_IN_QUERY}")
    assert client.get("/db-error-for-test").status_code == 500

    written = "\n".join(logs.lines) + capfd.readouterr().err + caplog.text
    # The log is there and names what happened...
    assert '"route": "/s/<token>"' in written and '"route": "/login"' in written
    assert '"route": "/account/password"' in written and "no_such_table" in written
    assert f'"user_id": {guard.id}' in written
    # ...and none of the secrets typed, sent or carried on the way.
    secrets = {
        "password": factories.PASSWORD,
        "new password": NEW_PASSWORD,
        "QR token": qr_token,
        "session cookie": cookie,
        "login CSRF token": login_csrf,
        "form CSRF token": form_csrf,
        "meta CSRF token": meta_csrf.group(1),
        "query-string token": SECRET_IN_QUERY,
        "SQL parameter": SECRET_SQL_VALUE,
    }
    leaked = [name for name, value in secrets.items() if value in written]
    assert leaked == []


@pytest.fixture
def busy_write(app):
    """A view that writes one row: on PostgreSQL its own connection is ended first, as a
    restart or failover ends it; on SQLite another connection holds the write lock."""

    @app.post("/busy-write-for-test")
    def busy_write_view():
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))
        db.session.execute(text("UPDATE company_setting SET company_name = company_name"))
        db.session.commit()
        return "written"

    busy_write_view.is_public = True
    return "/busy-write-for-test"


def test_a_passing_database_condition_answers_503_with_retry_after(app, client, logs, busy_write):
    """SQLite's lock wait past its busy timeout (bench/chaos.py met it on an overloaded
    machine) and a PostgreSQL connection ended mid-request are not the request's fault: 503
    and Retry-After, which the outbox retries and a person is told to try again, not 500."""
    holder = None
    if db.engine.dialect.name == "sqlite":
        holder = sqlite3.connect(db.engine.url.database, timeout=0)
        holder.execute("BEGIN EXCLUSIVE")
    try:
        response = client.post(f"{busy_write}?lang=en")
    finally:
        if holder is not None:
            holder.rollback()
            holder.close()
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "2"
    assert "Temporarily unavailable" in response.text
    assert one_line_for(logs, response)["status"] == 503
    # Logged with the request id like any unexpected error, so it can still be found.
    # Logged with the status it answered, so that a 503 is not counted as a 500.
    assert [
        e["status"]
        for e in logs.entries("guardpost.error")
        if e["request_id"] == response.headers["X-Request-ID"]
    ] == [503]
    # The next request finds the database as usual (the pool replaced a dead connection).
    assert client.get("/healthz").status_code == 200


def test_a_rollback_that_fails_too_still_answers_the_apps_503(app, client, logs, monkeypatch):
    """The connection that failed mid-request may fail the error handler's rollback as well:
    the user still gets the app's 503 page with Retry-After, not the server's bare 500."""

    @app.post("/lost-connection-for-test")
    def lost_connection_view():
        gone = Exception("server closed the connection unexpectedly")
        raise OperationalError("SELECT 1", {}, gone)

    lost_connection_view.is_public = True

    def rollback_on_a_dead_connection():
        raise OperationalError("ROLLBACK", {}, Exception("the connection is closed"))

    monkeypatch.setattr(db.session, "rollback", rollback_on_a_dead_connection)
    response = client.post("/lost-connection-for-test?lang=en")
    monkeypatch.undo()
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "2"
    assert "Temporarily unavailable" in response.text
    assert client.get("/healthz").status_code == 200

"""The test harness itself: what one test leaves behind, the next one never sees."""

from __future__ import annotations

import pytest
from sqlalchemy import MetaData, create_engine, text
from sqlalchemy.exc import DBAPIError

from app import audit
from app.extensions import db
from tests import factories
from tests.conftest import _BUILT, _shape, is_postgres, make_app


def table_rows() -> dict[str, list[tuple]]:
    metadata = MetaData()
    metadata.reflect(db.engine)
    with db.engine.connect() as conn:
        return {
            table.name: sorted(tuple(map(str, row)) for row in conn.execute(table.select()))
            for table in metadata.sorted_tables
        }


def built_for(app):
    return next(built for built in _BUILT.values() if built.app is app)


def test_the_reset_leaves_only_the_migrations_rows_and_restores_the_audit_triggers(
    app, worker_database
):
    url, reset = worker_database.url, worker_database.reset
    fresh = table_rows()
    assert fresh["checklist_item"], "the migrations install the default checklist"
    site = factories.gen_site()
    factories.assign(factories.gen_user("guard"), site)
    audit.record("test.event", actor_name="tester", target="thing:1")
    db.session.commit()
    assert table_rows() != fresh
    db.session.remove()
    if not is_postgres():  # as tests/audit does behind the app's back
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP TRIGGER audit_event_no_update"))
            conn.execute(text("DROP TRIGGER audit_event_no_delete"))
        engine.dispose()

    reset()

    assert table_rows() == fresh
    audit.record("test.event", actor_name="tester", target="thing:2")
    user = factories.gen_user("guard")
    db.session.commit()
    if not is_postgres():
        assert user.id == 1, "row ids start again as in a newly migrated database"
    engine = create_engine(url)
    for sql in ("UPDATE audit_event SET action = 'x'", "DELETE FROM audit_event"):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(sql))
    engine.dispose()


def test_settings_and_attributes_a_test_changes_are_put_back(app, tmp_path):
    built = built_for(app)
    static = app.static_folder
    app.config["BASE_URL"] = "https://changed.example"
    app.config["SQLALCHEMY_ENGINE_OPTIONS"]["changed"] = True
    app.config["NEW_SETTING"] = 1
    app.static_folder = str(tmp_path)

    built.prepare(tmp_path / "next")

    assert app.config["BASE_URL"] == ""
    assert "changed" not in app.config["SQLALCHEMY_ENGINE_OPTIONS"]
    assert "NEW_SETTING" not in app.config
    assert app.static_folder == static
    assert app.config["UPLOAD_DIR"] == str(tmp_path / "next" / "uploads")
    assert app.instance_path == app.config["INSTANCE_PATH"] == str(tmp_path / "next" / "instance")


def test_each_test_starts_with_an_empty_rate_limit_store(app, client, make_user, login, tmp_path):
    user = make_user("guard")
    for _ in range(6):
        login(user, "wrong-password-0")
    assert login(user).status_code == 429

    built_for(app).prepare(tmp_path / "next")
    assert login(user).status_code == 303
    client.post("/logout")

    for _ in range(6):
        login(user, "wrong-password-0")
    # Another app binds the one limiter to itself (tests/auth does so for Redis).
    other = make_app(tmp_path / "other", db.engine.url.render_as_string(hide_password=False))
    built_for(app).prepare(tmp_path / "after")
    assert login(user).status_code == 303
    with other.app_context():
        db.engine.dispose()


def test_an_app_a_test_only_used_is_kept(app, client):
    client.get("/no/such/page")  # Flask's handler tables fill with empty entries on lookups
    client.post("/login", data={"username": "nobody", "password": "x"})
    client.get("/login?lang=en")
    assert _shape(app) == built_for(app).shape


def test_an_app_a_test_added_a_route_to_is_noticed(app, client):
    @app.get("/added-for-test")
    def added():
        return "x"

    added.is_public = True
    assert client.get("/added-for-test").text == "x"
    assert _shape(app) != built_for(app).shape, "the next test would see this route"

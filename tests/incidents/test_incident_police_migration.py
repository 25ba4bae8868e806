"""The migration of an incident's police notification (b4f1c7a2e903): an incident recorded
before keeps its police time, its receiving unit and case number start empty (not recorded
then), and the downgrade drops them again."""

from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from app.extensions import db
from tests.conftest import make_app

BEFORE = "3d8e6536a078"
REVISION = "b4f1c7a2e903"


def _sql(statement: str, **params):
    result = db.session.execute(text(statement), params)
    db.session.commit()
    return result


def test_an_old_incident_keeps_its_police_time_and_gets_an_empty_unit_and_case_number(tmp_path):
    app = make_app(tmp_path, f"sqlite:///{tmp_path / 'm.db'}")
    with app.app_context():
        upgrade(revision=BEFORE)
        _sql(
            "INSERT INTO client (id, name, address, main_phone, created_at) "
            "VALUES (1, '甲', '', '', '2026-01-01')"
        )
        _sql(
            "INSERT INTO site (id, client_id, code, name, address, geofence_m, system_types, "
            "inspection_interval_days, qr_token, is_active, created_at) VALUES "
            "(1, 1, 'TPE-1', '一', '松仁路100號', 150, 'intrusion', 30, 't1', 1, '2026-01-01')"
        )
        _sql(
            "INSERT INTO user (id, username, display_name, role, password_hash, "
            "must_change_password, is_active, created_at) VALUES "
            "(1, 'boss', '林', 'supervisor', 'x', 0, 1, '2026-01-01')"
        )
        _sql(
            "INSERT INTO incident (id, uuid, site_id, reporter_id, category, severity, "
            "occurred_at, reported_at, narrative, actions_taken, status, police_notified_at) "
            "VALUES (1, '00000000-0000-4000-8000-000000000001', 1, 1, 'theft', 'high', "
            "'2026-11-01 01:00:00', '2026-11-01 01:05:00', '後門遭撬開', '', 'open', "
            "'2026-11-01 01:10:00')"
        )

        upgrade(revision=REVISION)
        row = _sql(
            "SELECT police_notified_at, police_unit, police_case_number, fire_notified_at "
            "FROM incident WHERE id = 1"
        ).one()
        assert row[0] is not None and tuple(row[1:]) == ("", "", None)

        downgrade(revision=BEFORE)
        columns = {c["name"] for c in inspect(db.engine).get_columns("incident")}
        assert "police_notified_at" in columns
        assert not columns & {"police_unit", "police_case_number", "fire_notified_at"}
        db.session.remove()
        db.engine.dispose()

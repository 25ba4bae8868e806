"""The migration of the whole alarm procedure (3d8e6536a078): existing causes stay valid —
"false_alarm" becomes "unknown" (still a false alarm), "equipment" becomes "equipment_fault" —
the new columns start empty, and the downgrade maps the new causes back onto the old list."""

from flask_migrate import downgrade, upgrade
from sqlalchemy import text

from app.extensions import db
from app.incidents.models import FALSE_ALARM_CAUSES
from tests.conftest import make_app

BEFORE = "e7b3a1c9d5f2"
REVISION = "3d8e6536a078"


def _sql(statement: str, **params):
    result = db.session.execute(text(statement), params)
    db.session.commit()
    return result


def _alarm(row_id: int, cause: str | None) -> None:
    _sql(
        "INSERT INTO alarm_response (id, uuid, site_id, created_by_id, received_at, cleared_at, "
        "cause, note) VALUES (:id, :uuid, 1, 1, '2026-11-01 01:00:00', :cleared, :cause, '')",
        id=row_id,
        uuid=f"00000000-0000-4000-8000-{row_id:012d}",
        cleared="2026-11-01 02:00:00" if cause else None,
        cause=cause,
    )


def test_old_causes_are_mapped_and_the_downgrade_maps_back(tmp_path):
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
        for row_id, cause in enumerate(
            ["false_alarm", "equipment", "environment", "intrusion", "unknown", None], start=1
        ):
            _alarm(row_id, cause)

        upgrade(revision=REVISION)
        causes = _sql("SELECT cause FROM alarm_response ORDER BY id").scalars().all()
        assert causes == ["unknown", "equipment_fault", "environment", "intrusion", "unknown", None]
        # What counted as a false alarm before still does; an intrusion still does not.
        assert {causes[0], causes[1], causes[2]} <= FALSE_ALARM_CAUSES
        row = _sql(
            "SELECT signal_type, zone, callback_result, police_case_number, rearmed_at "
            "FROM alarm_response WHERE id = 1"
        ).one()
        assert tuple(row) == (None, "", None, "", None)

        _sql("UPDATE alarm_response SET cause = 'user_error' WHERE id = 3")
        _sql("UPDATE alarm_response SET cause = 'fire' WHERE id = 4")
        downgrade(revision=BEFORE)
        causes = _sql("SELECT cause FROM alarm_response ORDER BY id").scalars().all()
        assert causes == ["unknown", "equipment", "false_alarm", "intrusion", "unknown", None]
        db.session.remove()
        db.engine.dispose()

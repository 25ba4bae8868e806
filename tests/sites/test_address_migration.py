"""The migration that gives sites a Taiwan-style address and police/fire stations (d84f1ad8cdf8):
existing sites keep their address in the street field, client phones are normalised, and the
downgrade folds postal code, city and district back into the address."""

from flask_migrate import downgrade, upgrade
from sqlalchemy import text

from app.extensions import db
from tests.conftest import make_app

BEFORE = "62224f608ed3"
REVISION = "d84f1ad8cdf8"


def _sql(statement: str, **params):
    result = db.session.execute(text(statement), params)
    db.session.commit()
    return result


def test_upgrade_keeps_the_address_and_downgrade_folds_it_back(tmp_path):
    app = make_app(tmp_path, f"sqlite:///{tmp_path / 'm.db'}")
    with app.app_context():
        upgrade(revision=BEFORE)
        _sql(
            "INSERT INTO client (id, name, address, main_phone, created_at) VALUES "
            "(1, '甲', '', '02-2729 5757 分機 12', '2026-01-01'), "
            "(2, '乙', '', '請洽總機', '2026-01-01')"
        )
        _sql(
            "INSERT INTO site (id, client_id, code, name, address, geofence_m, system_types, "
            "inspection_interval_days, qr_token, is_active, created_at) VALUES "
            "(1, 1, 'TPE-1', '一', '臺北市信義區松仁路100號', 150, 'intrusion', 30, 't1', 1, "
            "'2026-01-01')"
        )
        upgrade(revision=REVISION)
        row = _sql("SELECT postal_code, city, district, address, police_phone FROM site").one()
        assert tuple(row) == ("", "", "", "臺北市信義區松仁路100號", "")
        phones = _sql("SELECT main_phone FROM client ORDER BY id").scalars().all()
        assert phones == ["0227295757#12", "請洽總機"]

        _sql(
            "UPDATE site SET postal_code = '110', city = '臺北市', district = '信義區', "
            "address = '松仁路100號' WHERE id = 1"
        )
        downgrade(revision=BEFORE)
        assert _sql("SELECT address FROM site").scalar() == "110 臺北市信義區松仁路100號"
        db.session.remove()
        db.engine.dispose()

"""A small world for arm/disarm tests: two sites with hours 09:00–18:00 on weekdays, closed
at the weekend; a supervisor of the first; a manager; an integration for the first site."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from app.arming import services as svc
from app.extensions import db
from app.i18n import TAIPEI
from tests import factories

WEEKDAYS = [svc.DaySpec(n, False, time(9), time(18)) for n in range(5)] + [
    svc.DaySpec(n, True) for n in (5, 6)
]


def taipei(*args) -> datetime:
    """A Taiwan wall-clock time as an aware UTC instant."""
    return datetime(*args, tzinfo=TAIPEI).astimezone(UTC)


@pytest.fixture
def arm_world(app, make_user):
    site = factories.gen_site(code="TPE-0101")
    other = factories.gen_site(code="TPE-0102", client=site.client)
    supervisor, manager, admin = make_user("supervisor"), make_user("manager"), make_user("admin")
    factories.assign(supervisor, site)
    svc.set_opening_hours(site, user=admin, days=[*WEEKDAYS])
    svc.set_opening_hours(other, user=admin, days=[*WEEKDAYS])
    integration, token = svc.create_integration(
        user=manager, name="中興保全監控中心", site_ids={site.id}
    )
    db.session.commit()
    return {
        "site": site,
        "other": other,
        "supervisor": supervisor,
        "manager": manager,
        "admin": admin,
        "integration": integration,
        "token": token,
    }

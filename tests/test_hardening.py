"""No value a user can type breaks a page; every text has a limit; NUL is refused (issue 10,
items 2 and 3). One test per case the attack run found (the fuzzer, tests/test_fuzz.py,
looks for the others)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from app.briefings.models import TrainingAttendance, TrainingSession
from app.db import new_uuid
from app.extensions import db
from app.incidents.models import IncidentUpdate
from app.maintenance.models import MaintenanceLog
from app.sites.models import Client, Equipment
from tests import factories

FAR = date(9999, 12, 31)
HUGE = 10**23


@pytest.fixture
def crew(app):
    site = factories.gen_site()
    people = {role: factories.gen_user(role) for role in ("guard", "supervisor", "manager")}
    factories.assign(people["guard"], site)
    factories.assign(people["supervisor"], site)
    db.session.commit()
    return {"site": site, **people}


def _as(app, login, user):
    browser = app.test_client()
    login(user, test_client=browser)
    return browser


# ------------------------------------------------------------------ stored far dates render


@pytest.fixture
def far_training(crew):
    session = TrainingSession(
        topic="first_aid", held_on=FAR, hours=2, created_by_id=crew["supervisor"].id
    )
    db.session.add(session)
    db.session.flush()
    db.session.add(TrainingAttendance(session_id=session.id, user_id=crew["guard"].id))
    db.session.commit()
    return session


@pytest.mark.parametrize("role", ["guard", "supervisor", "manager"])
def test_a_training_held_on_9999_12_31_leaves_every_page_working(
    app, login, crew, far_training, role
):
    site = crew["site"]
    inspection = factories.gen_inspection(site, crew["supervisor"])
    db.session.commit()
    browser = _as(app, login, crew[role])
    pages = [f"/sites/{site.id}", "/training"]
    if role != "guard":
        pages += ["/training/export.csv", f"/inspections/{inspection.uuid}"]
    for page in pages:
        assert browser.get(page).status_code == 200, page


def test_a_training_held_on_9999_12_31_is_current_not_an_overflow(app, crew, far_training):
    from app.briefings import services

    status = {s.topic: s for s in services.training_status(crew["guard"], today=date.today())}
    assert status["first_aid"].expires_on == date.max
    assert status["first_aid"].status == "current"


def test_equipment_maintained_on_9999_12_31_leaves_home_and_maintenance_working(app, login, crew):
    site = crew["site"]
    db.session.add(
        Equipment(
            site_id=site.id,
            kind="battery",
            maintenance_interval_days=365,
            installed_on=FAR,
            last_maintained_on=FAR,
        )
    )
    db.session.commit()
    for role in ("manager", "supervisor"):
        browser = _as(app, login, crew[role])
        for page in ("/", "/maintenance", f"/sites/{site.id}"):
            assert browser.get(page).status_code == 200, (role, page)


# ------------------------------------------------------------------ ids and query strings


def test_an_id_no_column_can_hold_is_404(app, login, crew):
    browser = _as(app, login, crew["manager"])
    for page in (f"/sites/{HUGE}", f"/incidents/{HUGE}", f"/repairs/{2**31}", f"/alarms/{HUGE}"):
        assert browser.get(page).status_code == 404, page
    assert browser.post(f"/incidents/{HUGE}/updates", data={"note": "x"}).status_code == 404
    assert browser.get(f"/sites/{crew['site'].id}").status_code == 200  # a real id still is


def test_huge_numbers_and_year_1_in_query_strings_are_ignored(app, login, crew):
    browser = _as(app, login, crew["manager"])
    for page in (
        f"/alarms?page={HUGE}",
        f"/notifications?page={HUGE}",
        f"/incidents?from=0001-01-01&to=9999-12-31&page={2**63}",
        "/inspections?from=0001-01-01&max_score=nan",
        f"/check-ins?from=0001-01-01&site={HUGE}",
        f"/sites/labels?site={HUGE}",
        f"/incidents/new?site={HUGE}",
        f"/repairs/new?site={HUGE}&incident={HUGE}",
    ):
        assert browser.get(page).status_code == 200, page


# ------------------------------------------------------------------ form values


def test_nan_and_infinite_decimals_are_refused(app, login, crew):
    browser = _as(app, login, crew["supervisor"])
    for hours in ("nan", "snan", "inf", "-Infinity", "1e23"):
        response = browser.post(
            "/training/new",
            data={
                "topic": "first_aid",
                "held_on": date.today().isoformat(),
                "hours": hours,
                "user_id": str(crew["guard"].id),
            },
        )
        assert response.status_code == 200, hours  # the form again, with its error
    assert db.session.scalar(select(func.count()).select_from(TrainingSession)) == 0
    admin = factories.gen_user("admin")
    db.session.commit()
    response = _as(app, login, admin).post(
        f"/sites/{crew['site'].id}/edit",
        data={
            "client_id": crew["site"].client_id,
            "code": crew["site"].code,
            "name": "Renamed",
            "latitude": "snan",
            "longitude": "121.5",
        },
    )
    assert response.status_code == 200  # the form again, with its error
    db.session.refresh(crew["site"])
    assert crew["site"].name != "Renamed"


def test_dates_outside_the_window_are_refused_with_a_message(app, login, crew):
    browser = _as(app, login, crew["supervisor"])
    for held_on in ("9999-12-31", "0001-01-01", (date.today() + timedelta(days=2)).isoformat()):
        response = browser.post(
            "/training/new?lang=en",
            data={
                "topic": "first_aid",
                "held_on": held_on,
                "hours": "2",
                "user_id": str(crew["guard"].id),
            },
        )
        assert response.status_code == 200, held_on
        assert "Enter a date between" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(TrainingSession)) == 0


def test_a_5_000_000_character_note_is_refused(app, login, crew):
    incident = factories.gen_incident(crew["site"], crew["guard"])
    db.session.commit()
    browser = _as(app, login, crew["supervisor"])
    response = browser.post(f"/incidents/{incident.id}/updates", data={"note": "x" * 5_000_000})
    assert response.status_code in (303, 413, 422)
    assert db.session.scalar(select(func.count()).select_from(IncidentUpdate)) == 0
    # A note over 4 000 characters is refused by the form, with its limit.
    browser.post(f"/incidents/{incident.id}/updates", data={"note": "x" * 4001})
    assert db.session.scalar(select(func.count()).select_from(IncidentUpdate)) == 0
    browser.post(f"/incidents/{incident.id}/updates", data={"note": "x" * 4000})
    assert db.session.scalar(select(func.count()).select_from(IncidentUpdate)) == 1


@pytest.mark.parametrize(
    "case",
    ["repair_note", "maintenance_work", "incident_narrative"],
)
def test_notes_longer_than_4000_characters_are_refused(app, login, crew, case):
    site = crew["site"]
    browser = _as(app, login, crew["supervisor"])
    long_text = "字" * 4001
    if case == "repair_note":
        response = browser.post(
            "/repairs/new", data={"site": site.id, "problem": long_text, "uuid": new_uuid()}
        )
        assert response.status_code in (200, 422)
    elif case == "maintenance_work":
        unit = Equipment(site_id=site.id, kind="battery", maintenance_interval_days=90)
        db.session.add(unit)
        db.session.commit()
        browser.post(f"/equipment/{unit.id}/maintenance", data={"work": long_text})
        assert db.session.scalar(select(func.count()).select_from(MaintenanceLog)) == 0
    else:
        response = browser.post(
            "/incidents/new",
            data={
                "uuid": new_uuid(),
                "site_id": site.id,
                "category": "intrusion",
                "severity": "low",
                "occurred_at": date.today().isoformat() + "T00:00",
                "narrative": long_text,
            },
        )
        assert response.status_code == 200
        assert "4000" in response.get_data(as_text=True)


def test_nul_is_refused_in_every_text_field(app, login, crew):
    incident = factories.gen_incident(crew["site"], crew["guard"])
    db.session.commit()
    browser = _as(app, login, crew["supervisor"])
    browser.post(f"/incidents/{incident.id}/updates", data={"note": "before\x00after"})
    assert db.session.scalar(select(func.count()).select_from(IncidentUpdate)) == 0
    admin = factories.gen_user("admin")
    db.session.commit()
    response = _as(app, login, admin).post("/clients/new?lang=en", data={"name": "Acme\x00 Ltd"})
    assert response.status_code in (200, 403)
    assert db.session.scalar(select(func.count()).where(Client.name.like("Acme%"))) == 0
    assert "NUL" in response.get_data(as_text=True) or response.status_code == 403


def test_nul_in_a_path_or_a_query_string_is_400(app, login, crew):
    browser = _as(app, login, crew["manager"])
    assert browser.get("/sites?q=a%00b").status_code == 400
    assert browser.get("/incidents?status=%00").status_code == 400
    assert browser.get("/inspections/ab%00cd").status_code == 400
    assert browser.get("/sites?q=ab").status_code == 200


def test_the_base_form_refuses_nul_long_text_and_numbers_no_column_holds(app):
    """Every form gets the checks, whatever its own fields say."""
    from werkzeug.datastructures import MultiDict
    from wtforms import DecimalField, IntegerField, StringField

    from app.forms import Form

    class Any(Form):
        text = StringField()
        number = DecimalField()
        count = IntegerField()

    with app.test_request_context("/", method="POST"):
        form = Any(
            formdata=MultiDict({"text": "a\x00b", "number": "snan", "count": str(HUGE)}),
            meta={"csrf": False},
        )
        assert not form.validate()
        assert form.text.errors and form.number.errors and form.count.errors
        assert form.number.data is None and form.count.data is None
        long = Any(formdata=MultiDict({"text": "x" * 4001}), meta={"csrf": False})
        assert not long.validate() and long.text.errors


def test_a_refused_number_never_reaches_the_fields_own_validators(app):
    """Validators compare numbers a column holds; a refused value must not reach them as None
    (the checklist editor's inline check once met a dropped '-inf' and answered 500)."""
    from werkzeug.datastructures import MultiDict
    from wtforms import DecimalField, IntegerField

    from app.forms import Form

    class Limits(Form):
        low = DecimalField()
        count = IntegerField()

        def validate_low(self, field):
            assert field.data > 0  # would raise TypeError on None

        def validate_count(self, field):
            assert field.data > 0

    with app.test_request_context("/", method="POST"):
        form = Limits(formdata=MultiDict({"low": "-inf", "count": str(HUGE)}), meta={"csrf": False})
        assert not form.validate()
        assert len(form.low.errors) == 1 and len(form.count.errors) == 1

"""`flask demo`: idempotent demo data."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from app import phones
from app.audit.services import verify_chain
from app.auth.models import User
from app.extensions import db
from app.sites.models import Client, Site, SiteAssignment


def counts():
    return tuple(
        db.session.scalar(select(func.count()).select_from(model))
        for model in (User, Client, Site, SiteAssignment)
    )


def test_demo_loads_one_user_per_role_three_clients_eight_sites(runner):
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert "taipei-101-demo" in result.output
    users, clients, sites, assignments = counts()
    assert (users, clients, sites) == (5, 3, 8) and assignments > 0
    roles = set(db.session.scalars(select(User.role)))
    assert roles == {"guard", "supervisor", "manager", "admin", "client"}
    demo_sites = db.session.scalars(select(Site)).all()
    assert all(s.city in ("臺北市", "新北市") for s in demo_sites)
    assert all(re.fullmatch(r"\d{3}", s.postal_code) and s.district[-1] == "區" for s in demo_sites)
    # Plausible stations, marked as demo values, with numbers in the stored (normalised) form.
    assert all("示範" in s.police_station and "示範" in s.fire_station for s in demo_sites)
    assert all(phones.normalise(s.police_phone) == s.police_phone != "" for s in demo_sites)
    assert all(phones.normalise(s.fire_phone) == s.fire_phone != "" for s in demo_sites)
    assert demo_sites[0].full_address.startswith(demo_sites[0].postal_code + " ")
    assert verify_chain().is_intact


def test_demo_is_idempotent(runner):
    runner.invoke(args=["demo"])
    before = counts()
    again = runner.invoke(args=["demo"])
    assert "already present" in again.output
    assert counts() == before


def test_demo_if_empty_leaves_a_used_database_alone(runner, make_user):
    make_user("admin")
    result = runner.invoke(args=["demo", "--if-empty"])
    assert "not loaded" in result.output
    assert counts()[1] == 0


def test_demo_users_can_sign_in(runner, client):
    runner.invoke(args=["demo"])
    response = client.post("/login", data={"username": "supervisor", "password": "taipei-101-demo"})
    assert response.status_code == 303


def test_demo_has_a_published_pledge_and_encrypted_secrets(runner):
    from app.briefings.services import current_pledge
    from app.demo import DEMO_SECRETS
    from app.vault.models import ConfidentialRecord
    from app.vault.services import read_value

    runner.invoke(args=["demo"])
    runner.invoke(args=["demo"])  # idempotent: nothing doubled
    assert current_pledge() is not None
    records = db.session.scalars(select(ConfidentialRecord)).all()
    assert len(records) == len(DEMO_SECRETS)
    by_label = {r.label: r for r in records}
    for _site, _client, _category, label, value in DEMO_SECRETS:
        assert read_value(by_label[label]) == value
        assert str(value)[:4] not in by_label[label].value_ciphertext


def test_demo_shows_a_closed_alarm_with_its_police_case_number_and_a_running_one(runner):
    from app.incidents.models import AlarmResponse

    runner.invoke(args=["demo"])
    runner.invoke(args=["demo"])  # idempotent: nothing doubled
    alarms = db.session.scalars(select(AlarmResponse).order_by(AlarmResponse.received_at)).all()
    closed, running = alarms
    assert closed.cause == "intrusion" and closed.police_case_number and closed.police_unit
    assert closed.arrival_check_in_id is not None and closed.rearmed_at is not None
    assert running.is_running and running.dispatched_at and running.arrived_at is None
    assert verify_chain().is_intact


def test_demo_has_a_released_sheet_the_demo_client_reads(app, client, login, runner):
    """Last month's sheet of TPE-0001 is released; the demo client user sees and opens it."""
    from app.records.models import ControlRecordSheet

    assert runner.invoke(args=["demo"]).exit_code == 0
    sheet = db.session.scalar(select(ControlRecordSheet))
    assert sheet.status == "released" and sheet.snapshot
    login("client", password="taipei-101-demo")
    assert client.get(f"/records/{sheet.id}").status_code == 200
    assert runner.invoke(args=["demo"]).exit_code == 0
    assert db.session.scalar(select(func.count(ControlRecordSheet.id))) == 1

"""Arm/disarm pages: the site card's 30 days, the full list, hours, entry by hand, integrations."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from app.arming import services as svc
from app.arming.models import ArmEvent, ArmIntegration, OpeningHours
from app.db import utcnow
from app.extensions import db
from app.i18n import TAIPEI, taipei_now_input
from tests import factories


def test_the_site_card_shows_the_last_30_days_with_flags(client, login, arm_world):
    site = arm_world["site"]
    now = utcnow()
    svc.record_events(
        [svc.EventInput(site=site, kind="disarm", occurred_at=now - timedelta(days=3, hours=1))],
        source="manual",
    )
    db.session.commit()
    login(arm_world["supervisor"])
    page = client.get(f"/sites/{site.id}?lang=en").get_data(as_text=True)
    assert 'id="arming"' in page
    assert page.count('<tr class="arm-flagged">') + page.count("<tr>") >= 30
    assert "Last 30 days" in page
    assert f"/sites/{site.id}/arming" in page


def test_a_site_without_hours_says_it_is_not_monitored(client, login, make_user):
    site = factories.gen_site()
    supervisor = make_user("supervisor")
    factories.assign(supervisor, site)
    db.session.commit()
    login(supervisor)
    page = client.get(f"/sites/{site.id}").get_data(as_text=True)
    assert 'id="arming-not-monitored"' in page


def test_guards_do_not_see_the_arming_section(client, login, arm_world, make_user):
    guard = make_user("guard")
    factories.assign(guard, arm_world["site"])
    db.session.commit()
    login(guard)
    page = client.get(f"/sites/{arm_world['site'].id}").get_data(as_text=True)
    assert 'id="arming"' not in page


def test_a_supervisor_enters_an_event_by_hand_and_sees_it_listed(client, login, arm_world):
    site = arm_world["site"]
    login(arm_world["supervisor"])
    when = (taipei_now_input() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(
        f"/sites/{site.id}/arming/new", data={"kind": "arm", "occurred_at": when, "user_code": "07"}
    )
    assert response.status_code == 303
    event = db.session.scalars(select(ArmEvent)).one()
    assert (event.source, event.entered_by_id, event.user_code) == (
        "manual",
        arm_world["supervisor"].id,
        "07",
    )
    listed = client.get(f"/sites/{site.id}/arming").get_data(as_text=True)
    assert event.occurred_at.astimezone(TAIPEI).strftime("%Y-%m-%d %H:%M") in listed
    # The same again is recorded once.
    client.post(f"/sites/{site.id}/arming/new", data={"kind": "arm", "occurred_at": when})
    assert db.session.scalar(select(func.count(ArmEvent.id))) == 1


def test_a_supervisor_cannot_enter_events_for_another_site(client, login, arm_world):
    login(arm_world["supervisor"])
    response = client.get(f"/sites/{arm_world['other'].id}/arming/new")
    assert response.status_code == 404


def test_the_admin_sets_hours_and_an_overnight_span_is_refused(client, login, arm_world):
    site = arm_world["site"]
    login(arm_world["admin"])
    data = {"is_monitored": "y"}
    for n in range(7):
        data |= {f"d{n}_opens": "08:30", f"d{n}_closes": "17:30"}
    data["d6_closed"] = "y"
    assert client.post(f"/sites/{site.id}/hours", data=data).status_code == 303
    hours = svc.hours_of(site.id)
    assert hours[0].opens_at.strftime("%H:%M") == "08:30" and hours[6].is_closed
    data["d2_closes"] = "02:00"
    refused = client.post(f"/sites/{site.id}/hours?lang=en", data=data)
    assert refused.status_code == 200
    assert "past midnight" in refused.get_data(as_text=True)
    # Not monitored: every row goes.
    assert client.post(f"/sites/{site.id}/hours", data={"d0_opens": ""}).status_code == 303
    assert (
        db.session.scalar(
            select(func.count(OpeningHours.id)).where(OpeningHours.site_id == site.id)
        )
        == 0
    )


def test_a_manager_creates_an_integration_and_sees_its_token_once(client, login, arm_world):
    login(arm_world["manager"])
    response = client.post(
        "/arming/integrations/new", data={"name": "新監控中心", "site_ids": [arm_world["site"].id]}
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    token = page[page.index(svc.TOKEN_PREFIX) :].split("<", 1)[0]
    made = db.session.scalars(
        select(ArmIntegration).where(ArmIntegration.name == "新監控中心")
    ).one()
    assert made.token_hash == svc.hash_token(token)
    listing = client.get("/arming/integrations").get_data(as_text=True)
    assert token not in listing and made.token_prefix in listing
    assert client.post(f"/arming/integrations/{made.id}/revoke").status_code == 303
    db.session.refresh(made)
    assert made.is_revoked


def test_an_integration_needs_a_name_and_sites(client, login, arm_world):
    login(arm_world["manager"])
    response = client.post("/arming/integrations/new", data={"name": ""})
    assert response.status_code == 200
    assert db.session.scalar(select(func.count(ArmIntegration.id))) == 1

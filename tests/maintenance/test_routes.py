"""Repair tickets and maintenance over HTTP."""

from __future__ import annotations

import base64
import uuid

import pytest
from sqlalchemy import select

from app.extensions import db
from app.inspections.services import active_template
from app.maintenance.models import MaintenanceLog, RepairTicket
from app.sites.models import Equipment
from tests import factories


@pytest.fixture
def crew(app, client, make_user, login):
    site = factories.gen_site()
    supervisor = make_user("supervisor")
    factories.assign(supervisor, site)
    panel = Equipment(site_id=site.id, kind="control_panel", model="DSC", location="1F")
    db.session.add(panel)
    db.session.commit()
    login(supervisor)
    return {"site": site, "supervisor": supervisor, "panel": panel}


def test_one_tap_repair_ticket_from_a_failed_item_then_fixed_and_verified(client, crew):
    key = str(uuid.uuid4())
    client.post(f"/sites/{crew['site'].id}/inspections", data={"uuid": key})
    item = factories.control_panel_item(active_template())
    client.post(f"/inspections/{key}/items/{item.id}", data={"value": "fail"})
    client.post(
        f"/inspections/{key}/items/{item.id}",
        data={"note": "斷線", "equipment_id": str(crew["panel"].id)},
    )
    fragment = client.post(
        f"/inspections/{key}/items/{item.id}?lang=en",
        data={"note": "斷線"},
        headers={"HX-Request": "true"},
    ).text
    assert "Open a repair ticket" in fragment
    response = client.post(
        f"/inspections/{key}/items/{item.id}/repair", data={"uuid": str(uuid.uuid4())}
    )
    assert response.status_code == 303
    ticket = db.session.scalar(select(RepairTicket))
    assert (
        ticket.source == "inspection"
        and ticket.equipment_id == crew["panel"].id
        and ticket.problem == "斷線"
    )
    db.session.refresh(crew["panel"])
    assert crew["panel"].status == "fault"
    for status in ("dispatched", "fixed", "verified"):
        assert (
            client.post(f"/repairs/{ticket.id}/status", data={"status": status}).status_code == 303
        )
    db.session.refresh(ticket)
    db.session.refresh(crew["panel"])
    assert ticket.status == "verified" and crew["panel"].status == "ok"
    page = client.get(f"/repairs/{ticket.id}?lang=en").text
    assert "Verified" in page and "Timeline" in page


def test_a_refused_step_says_why(client, crew):
    client.post(
        "/repairs/new",
        data={"site": str(crew["site"].id), "uuid": str(uuid.uuid4()), "problem": "門禁讀卡機故障"},
    )
    ticket = db.session.scalar(select(RepairTicket))
    page = client.post(
        f"/repairs/{ticket.id}/status?lang=en", data={"status": "verified"}, follow_redirects=True
    ).text
    assert "not allowed from the current status" in page
    page = client.post(
        f"/repairs/{ticket.id}/status?lang=en", data={"status": "cancelled"}, follow_redirects=True
    ).text
    assert "Give the reason for cancelling." in page


def test_a_new_ticket_needs_a_problem(client, crew):
    page = client.post(
        "/repairs/new?lang=en",
        data={"site": str(crew["site"].id), "uuid": str(uuid.uuid4()), "problem": " "},
    ).text
    assert "Describe the problem." in page
    assert db.session.scalar(select(RepairTicket)) is None


def test_overdue_tickets_are_listed_and_highlighted(client, crew):

    client.post(
        "/repairs/new",
        data={
            "site": str(crew["site"].id),
            "uuid": str(uuid.uuid4()),
            "problem": "late",
            "due_on": "2020-01-01",
        },
    )
    page = client.get("/repairs?state=overdue&lang=en").text
    assert page.count("list-item-overdue") == 1 and "Overdue" in page
    assert "No repair tickets here" in client.get("/repairs?state=closed&lang=en").text


def test_maintenance_done_from_the_due_list(client, crew):
    from datetime import date

    crew["panel"].installed_on = date(2020, 1, 1)
    crew["panel"].maintenance_interval_days = 30
    db.session.commit()
    assert "DSC" in client.get("/maintenance?lang=en").text
    photo = base64.b64decode(base64.b64encode(factories.png_bytes()))
    import io

    response = client.post(
        f"/equipment/{crew['panel'].id}/maintenance",
        data={
            "done_on": date.today().isoformat(),
            "work": "更換電池",
            "photo": (io.BytesIO(photo), "p.png"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 303
    log = db.session.scalar(select(MaintenanceLog))
    assert log.work == "更換電池" and log.photo_id is not None
    assert "Nothing due" in client.get("/maintenance?lang=en").text

"""Clients, sites, equipment and assignments: validation, scoping, audit."""

from __future__ import annotations

from sqlalchemy import select

from app.audit.models import AuditEvent
from app.extensions import db
from app.sites.models import Client, Equipment, Site
from app.sites.services import assigned_site_ids
from tests import factories


def actions():
    return [
        (e.action, e.outcome)
        for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq))
    ]


def site_form(client_id, **overrides):
    data = {
        "client_id": str(client_id),
        "code": "tpe-0100",
        "name": "測試案場",
        "address": "臺北市中正區重慶南路一段122號",
        "latitude": "25.0403",
        "longitude": "121.5119",
        "geofence_m": "150",
        "system_types": ["intrusion", "cctv"],
        "inspection_interval_days": "30",
        "is_active": "y",
    }
    data.update(overrides)
    return data


def test_admin_registers_a_client_with_a_valid_tax_id(client, make_user, login):
    login(make_user("admin"))
    response = client.post(
        "/clients/new",
        data={
            "name": "台北商辦",
            "tax_id": "04595257",
            "address": "臺北市",
            "main_phone": "02-1234-5678",
        },
    )
    assert response.status_code == 303
    created = db.session.scalar(select(Client).where(Client.tax_id == "04595257"))
    assert created.name == "台北商辦"
    assert ("client.created", "success") in actions()


def test_client_form_explains_a_bad_tax_id_and_a_contract_ending_before_it_starts(
    client, make_user, login
):
    login(make_user("admin"))
    page = client.post(
        "/clients/new?lang=en",
        data={
            "name": "X",
            "tax_id": "12345678",
            "contract_start_on": "2026-05-01",
            "contract_end_on": "2026-04-01",
        },
    ).text
    assert "check digit is wrong" in page
    assert db.session.scalar(select(Client)) is None
    page = client.post(
        "/clients/new?lang=en",
        data={"name": "X", "contract_start_on": "2026-05-01", "contract_end_on": "2026-04-01"},
    ).text
    assert "cannot end before it starts" in page
    factories.gen_client(tax_id="04595257")
    db.session.commit()
    page = client.post("/clients/new?lang=en", data={"name": "Y", "tax_id": "04595257"}).text
    assert "already has this tax ID" in page


def test_manager_reads_but_cannot_change_the_registry(client, make_user, login):
    owner = factories.gen_client(name="Read Only Co")
    db.session.commit()
    login(make_user("manager"))
    page = client.get(f"/clients/{owner.id}")
    assert (
        page.status_code == 200
        and "Read Only Co" in page.text
        and '<form class="card form"' not in page.text
    )
    assert client.post(f"/clients/{owner.id}", data={"name": "Changed"}).status_code == 403
    db.session.refresh(owner)
    assert owner.name == "Read Only Co"


def test_admin_registers_a_site_and_its_code_is_upper_cased(client, make_user, login):
    owner = factories.gen_client()
    db.session.commit()
    login(make_user("admin"))
    response = client.post("/sites/new", data=site_form(owner.id))
    assert response.status_code == 303
    site = db.session.scalar(select(Site).where(Site.code == "TPE-0100"))
    assert site.system_types == "intrusion,cctv" and site.latitude == 25.0403
    assert len(site.qr_token) >= 32  # 192 bits, URL-safe
    assert ("site.created", "success") in actions()


def test_site_form_explains_its_errors(client, make_user, login):
    owner = factories.gen_client()
    factories.gen_site(client=owner, code="TPE-0100")
    db.session.commit()
    login(make_user("admin"))
    page = client.post(
        "/sites/new?lang=en",
        data=site_form(owner.id, longitude="", geofence_m="5", system_types=[]),
    ).text
    assert "Between 20 and 5000 metres." in page
    assert "Choose at least one system." in page
    page = client.post("/sites/new?lang=en", data=site_form(owner.id, longitude="")).text
    assert "Another site already has this code." in page
    page = client.post(
        "/sites/new?lang=en", data=site_form(owner.id, code="TPE-0101", longitude="")
    ).text
    assert "Give both latitude and longitude, or neither." in page
    page = client.post("/sites/new?lang=en", data=site_form(owner.id, code="TPE 0100!")).text
    assert "3 to 20 letters, digits or dashes" in page


def test_site_list_searches_filters_and_paginates(app, client, make_user, login):
    first, second = factories.gen_client(name="Alpha"), factories.gen_client(name="Beta")
    for n in range(30):
        factories.gen_site(client=first, code=f"ALP-{n:04d}", name=f"Alpha site {n}")
    factories.gen_site(client=second, code="BET-0001", name="信義倉庫", is_active=False)
    db.session.commit()
    login(make_user("admin"))
    page = client.get(f"/sites?client={first.id}&lang=en").text
    assert "30 sites" in page and "Page 1 of 2" in page
    assert "信義倉庫" in client.get("/sites?q=信義").text
    assert "BET-0001" in client.get("/sites?active=0").text
    assert "BET-0001" not in client.get("/sites?active=1").text
    fragment = client.get("/sites?q=BET", headers={"HX-Request": "true"}).text
    assert "BET-0001" in fragment and "<html" not in fragment


def test_supervisor_lists_only_assigned_sites_and_gets_404_elsewhere(client, make_user, login):
    supervisor = make_user("supervisor")
    mine = factories.gen_site(name="Mine Tower")
    theirs = factories.gen_site(name="Their Mall")
    factories.assign(supervisor, mine)
    db.session.commit()
    login(supervisor)
    page = client.get("/sites").text
    assert "Mine Tower" in page and "Their Mall" not in page
    assert client.get(f"/sites/{mine.id}").status_code == 200
    assert client.get(f"/sites/{theirs.id}").status_code == 404
    assert ("site.access", "denied") in actions()
    assert client.get(f"/check-ins?site={theirs.id}").status_code == 200  # filter shows nothing
    assert "Their Mall" not in client.get(f"/check-ins?site={theirs.id}").text


def test_unassigning_takes_effect_on_the_next_request(app, client, make_user, login):
    guard = make_user("guard")
    site = factories.gen_site()
    factories.assign(guard, site)
    db.session.commit()
    phone = app.test_client()
    login(guard, test_client=phone)
    assert phone.get(f"/sites/{site.id}").status_code == 200
    login(make_user("admin"))
    client.post(f"/sites/{site.id}/users", data={})
    assert phone.get(f"/sites/{site.id}").status_code == 404


def test_assign_from_the_site_page_only_takes_guards_and_supervisors(client, make_user, login):
    site = factories.gen_site()
    guard, manager = make_user("guard"), make_user("manager")
    db.session.commit()
    login(make_user("admin"))
    client.post(f"/sites/{site.id}/users", data={"user_id": [str(guard.id), str(manager.id)]})
    assert assigned_site_ids(guard) == {site.id}
    assert assigned_site_ids(manager) == set()
    assert ("site.assignments_changed", "success") in actions()


def test_bulk_assign_adds_without_removing(client, make_user, login):
    a, b, c = factories.gen_site(), factories.gen_site(), factories.gen_site()
    guard, supervisor = make_user("guard"), make_user("supervisor")
    factories.assign(guard, c)
    db.session.commit()
    login(make_user("admin"))
    response = client.post(
        "/sites/bulk-assign",
        data={"site_id": [str(a.id), str(b.id)], "user_id": [str(guard.id), str(supervisor.id)]},
    )
    assert response.status_code == 303
    assert assigned_site_ids(guard) == {a.id, b.id, c.id}
    assert assigned_site_ids(supervisor) == {a.id, b.id}
    again = client.post("/sites/bulk-assign?lang=en", data={"site_id": [str(a.id)]})
    assert "Choose at least one site and one person." in again.text


def test_equipment_is_added_edited_and_shown_as_due(client, make_user, login):
    site = factories.gen_site()
    db.session.commit()
    login(make_user("admin"))
    response = client.post(
        f"/sites/{site.id}/equipment/new",
        data={
            "kind": "battery",
            "model": "12V 7Ah",
            "location": "1F",
            "installed_on": "2024-01-01",
            "maintenance_interval_days": "365",
            "last_maintained_on": "2025-01-01",
            "status": "ok",
        },
    )
    assert response.status_code == 303
    equipment = db.session.scalar(select(Equipment))
    assert equipment.maintenance_due_on.isoformat() == "2026-01-01"
    page = client.get(f"/sites/{site.id}?lang=en").text
    assert "Maintenance due" in page and "Overdue" in page
    client.post(
        f"/equipment/{equipment.id}",
        data={
            "kind": "battery",
            "status": "fault",
            "last_maintained_on": "2026-11-01",
            "maintenance_interval_days": "365",
        },
    )
    db.session.refresh(equipment)
    assert equipment.status == "fault"
    assert "Maintenance due" not in client.get(f"/sites/{site.id}?lang=en").text
    assert ("equipment.updated", "success") in actions()


def test_extra_fields_do_not_change_the_token_or_the_id(client, make_user, login):
    owner = factories.gen_client()
    site = factories.gen_site(client=owner, code="TPE-0100")
    db.session.commit()
    token = site.qr_token
    login(make_user("admin"))
    client.post(f"/sites/{site.id}/edit", data=site_form(owner.id, qr_token="mine", id="999"))
    db.session.refresh(site)
    assert site.qr_token == token and site.id != 999

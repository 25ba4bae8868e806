"""Key custody pages: lists, a bag's page and history, take-out and return, seal checks."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.custody import services as svc
from app.custody.models import KeyBag, KeyMovement
from app.db import new_uuid, utcnow
from app.extensions import db
from app.vault.models import VaultAccess
from tests import factories


@pytest.fixture
def world(app, make_user):
    site = factories.gen_site(name="信義大樓")
    supervisor, manager = make_user("supervisor"), make_user("manager")
    factories.assign(supervisor, site)
    bag = svc.create_bag(
        site,
        user=manager,
        bag_number="K-01",
        contents="後門鑰匙 ×2, 鐵捲門遙控器",
        stored_at="公司保管箱 B-3",
        seal_number="S-1001",
    )
    db.session.commit()
    return {"site": site, "supervisor": supervisor, "manager": manager, "bag": bag}


def _movements(kind: str | None = None) -> int:
    query = select(func.count(KeyMovement.id))
    if kind:
        query = query.where(KeyMovement.kind == kind)
    return db.session.scalar(query)


def test_a_manager_registers_a_bag(client, login, world):
    login(world["manager"])
    site = world["site"]
    page = client.get(f"/sites/{site.id}/keys/new?lang=en")
    assert page.status_code == 200 and "Bag number" in page.text
    answer = client.post(
        f"/sites/{site.id}/keys/new",
        data={"bag_number": "K-02", "contents": "大門鑰匙", "seal_number": "S-7", "stored_at": ""},
    )
    assert answer.status_code == 303
    bag = db.session.scalar(select(KeyBag).where(KeyBag.bag_number == "K-02"))
    assert answer.headers["Location"].endswith(f"/keys/{bag.uuid}")
    again = client.post(
        f"/sites/{site.id}/keys/new",
        data={"bag_number": "K-02", "contents": "x", "seal_number": "S-8"},
    )
    assert again.status_code == 200 and "already has a bag with this number" in again.text


def test_a_supervisor_takes_out_and_returns_and_the_history_shows_both(client, login, world):
    login(world["supervisor"])
    bag = world["bag"]
    page = client.get(f"/keys/{bag.uuid}?lang=en")
    assert "In the safe" in page.text and "Take the bag out" in page.text
    taken = client.post(
        f"/keys/{bag.uuid}/take-out",
        data={"uuid": new_uuid(), "purpose": "client_request", "purpose_text": "業主要求開門"},
    )
    assert taken.status_code == 303
    again = client.post(
        f"/keys/{bag.uuid}/take-out", data={"uuid": new_uuid(), "purpose": "maintenance"}
    )
    assert again.status_code == 303
    assert "already out" in client.get(f"/keys/{bag.uuid}").text
    no_seal = client.post(f"/keys/{bag.uuid}/return", data={"uuid": new_uuid()})
    assert no_seal.status_code == 303
    assert _movements("return") == 0
    back = client.post(
        f"/keys/{bag.uuid}/return", data={"uuid": new_uuid(), "seal_number": "S-2002"}
    )
    assert back.status_code == 303
    page = client.get(f"/keys/{bag.uuid}")
    assert "The seal number changed" in page.text
    assert "Taken out" in page.text and "Returned" in page.text
    assert "Seal changed from S-1001" in page.text and "業主要求開門" in page.text
    assert _movements("out") == 1 and _movements("return") == 1


def test_overdue_is_shown_on_the_list_the_bag_and_the_site_card_link(client, login, world):
    svc.take_out(
        world["bag"],
        user=world["supervisor"],
        uuid=new_uuid(),
        purpose="maintenance",
        now=utcnow() - timedelta(hours=5),
    )
    db.session.commit()
    login(world["supervisor"])
    site = world["site"]
    listing = client.get(f"/sites/{site.id}/keys?lang=en")
    assert "1 key bag is overdue" in listing.text and "Overdue" in listing.text
    assert (
        "Overdue: this bag should have been back" in client.get(f"/keys/{world['bag'].uuid}").text
    )
    link = client.get(f"/sites/{site.id}/keys/summary", headers={"HX-Request": "true"})
    assert "1 overdue" in link.text
    card = client.get(f"/sites/{site.id}")
    assert f"/sites/{site.id}/keys/summary" in card.text


def test_an_unassigned_supervisor_gets_404_and_a_denied_access_row(client, make_user, login, world):
    stranger = make_user("supervisor")
    login(stranger)
    for path in (f"/sites/{world['site'].id}/keys", f"/keys/{world['bag'].uuid}"):
        assert client.get(path).status_code == 404
    answer = client.post(
        f"/keys/{world['bag'].uuid}/take-out", data={"uuid": new_uuid(), "purpose": "audit"}
    )
    assert answer.status_code == 404
    denied = db.session.scalars(
        select(VaultAccess).where(
            VaultAccess.outcome == "denied", VaultAccess.user_id == stranger.id
        )
    ).all()
    assert len(denied) == 3 and all(row.site_id == world["site"].id for row in denied)
    assert world["bag"].status == "in"


def test_views_are_written_to_the_access_log(client, login, world):
    login(world["supervisor"])
    client.get(f"/sites/{world['site'].id}/keys")
    client.get(f"/keys/{world['bag'].uuid}")
    rows = db.session.scalars(select(VaultAccess).where(VaultAccess.action == "list")).all()
    assert len(rows) == 2


def test_the_inspector_checks_seals_on_the_run_page_and_the_report_lists_them(client, login, world):
    inspection = factories.gen_inspection(world["site"], world["supervisor"])
    db.session.commit()
    login(world["supervisor"])
    run = client.get(f"/inspections/{inspection.uuid}")
    assert f"/inspections/{inspection.uuid}/keys" in run.text
    card = client.get(
        f"/inspections/{inspection.uuid}/keys?lang=en", headers={"HX-Request": "true"}
    )
    assert "Bag K-01" in card.text and "Seal intact" in card.text
    url = f"/inspections/{inspection.uuid}/keys/{world['bag'].uuid}/seal"
    refused = client.post(url, data={"result": "differs"}, headers={"HX-Request": "true"})
    assert refused.status_code == 422 and "Enter the seal number" in refused.text
    checked = client.post(
        url, data={"result": "differs", "seal_number": "S-5555"}, headers={"HX-Request": "true"}
    )
    assert checked.status_code == 200 and "Seal number differs: S-5555" in checked.text
    movement = db.session.scalar(select(KeyMovement).where(KeyMovement.kind == "seal_check"))
    assert movement.inspection_id == inspection.id and movement.is_seal_changed
    inspection.status, inspection.submitted_at = "submitted", utcnow()
    db.session.commit()
    report = client.get(f"/inspections/{inspection.uuid}/keys", headers={"HX-Request": "true"})
    assert "Seal number differs: S-5555" in report.text and "<form" not in report.text


def test_someone_other_than_the_inspector_cannot_check_seals(client, login, world):
    inspection = factories.gen_inspection(world["site"], world["supervisor"])
    db.session.commit()
    login(world["manager"])
    url = f"/inspections/{inspection.uuid}/keys/{world['bag'].uuid}/seal"
    assert client.post(url, data={"result": "intact"}).status_code == 403
    card = client.get(f"/inspections/{inspection.uuid}/keys", headers={"HX-Request": "true"})
    assert card.status_code == 200 and "<form" not in card.text


def test_the_overdue_notification_reads_in_the_bell(client, login, world):
    from app.jobs.tasks import overdue_keys

    svc.take_out(
        world["bag"],
        user=world["supervisor"],
        uuid=new_uuid(),
        purpose="maintenance",
        now=utcnow() - timedelta(hours=5),
    )
    overdue_keys(utcnow())
    db.session.commit()
    login(world["supervisor"])
    bell = client.get("/notifications?lang=en")
    assert "Key bag not returned on time: 信義大樓 · K-01" in bell.text
    assert f"/keys/{world['bag'].uuid}" in bell.text

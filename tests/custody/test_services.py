"""Key custody rules: one take-out at a time, returns need a seal, overdue notifies once."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from app.custody import services as svc
from app.custody.models import KeyBag, KeyMovement
from app.db import new_uuid, utcnow
from app.extensions import db
from app.jobs.tasks import overdue_keys
from app.notifications.models import Notification
from app.vault.models import VaultAccess
from tests import factories


@pytest.fixture
def world(app, make_user):
    site = factories.gen_site()
    supervisor, manager = make_user("supervisor"), make_user("manager")
    other_supervisor = make_user("supervisor")
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
    return {
        "site": site,
        "supervisor": supervisor,
        "manager": manager,
        "other_supervisor": other_supervisor,
        "bag": bag,
    }


def _take(world, **fields):
    values = {"user": world["supervisor"], "uuid": new_uuid(), "purpose": "maintenance"}
    values.update(fields)
    movement = svc.take_out(world["bag"], **values)
    db.session.commit()
    return movement


def _custody_rows() -> int:
    return db.session.scalar(
        select(func.count(VaultAccess.id)).where(VaultAccess.action == "custody")
    )


def test_take_out_marks_the_bag_out_due_in_four_hours_and_logs_the_access(world):
    before = utcnow()
    movement = _take(world, purpose="alarm_response")
    assert world["bag"].status == "out"
    assert movement.kind == "out" and movement.seal_number_before == "S-1001"
    assert timedelta(hours=4) <= movement.due_back_at - before < timedelta(hours=4, minutes=1)
    row = db.session.scalar(select(VaultAccess).where(VaultAccess.action == "custody"))
    assert (row.user_id, row.site_id, row.purpose) == (
        world["supervisor"].id,
        world["site"].id,
        "alarm_response",
    )
    assert row.audit_seq is not None


def test_the_default_due_time_is_configurable(app, world):
    app.config["KEY_CUSTODY_DUE_HOURS"] = 2
    movement = _take(world)
    assert movement.due_back_at - movement.at == timedelta(hours=2)


def test_a_bag_that_is_out_cannot_be_taken_out_again(world):
    _take(world)
    with pytest.raises(svc.CustodyError) as refused:
        _take(world, user=world["manager"])
    assert refused.value.key == "already_out"
    db.session.rollback()
    assert db.session.scalar(select(func.count(KeyMovement.id))) == 1


def test_the_same_form_sent_twice_makes_one_take_out(world):
    key = new_uuid()
    first = _take(world, uuid=key)
    again = _take(world, uuid=key)
    assert again.id == first.id
    assert db.session.scalar(select(func.count(KeyMovement.id))) == 1


def test_an_other_purpose_needs_words_and_a_purpose_is_required(world):
    for purpose, text, key in (
        ("", "", "purpose_required"),
        ("other", " ", "purpose_text_required"),
    ):
        with pytest.raises(svc.CustodyError) as refused:
            _take(world, purpose=purpose, purpose_text=text)
        assert refused.value.key == key
        db.session.rollback()
    assert world["bag"].status == "in"


def test_take_out_decides_on_the_database_row_not_the_loaded_object(world):
    """A phone holding a page from before another took the bag is refused (the conditional
    UPDATE), even though its copy of the bag still says 'in'."""
    stale = world["bag"]
    assert stale.status == "in"
    db.session.execute(
        update(KeyBag).where(KeyBag.id == stale.id).values(status="out"),
        execution_options={"synchronize_session": False},
    )
    db.session.commit()
    stale.__dict__["status"] = "in"  # what the other request still believes
    with pytest.raises(svc.CustodyError) as refused:
        svc.take_out(stale, user=world["manager"], uuid=new_uuid(), purpose="audit")
    assert refused.value.key == "already_out"


def test_two_phones_taking_the_same_bag_at_once_one_wins(app, client, login, world):
    """Two requests at the same moment (threads, each its own session): exactly one take-out."""
    phones = []
    for user in (world["supervisor"], world["manager"]):
        phone = app.test_client()
        login(user, test_client=phone)
        phones.append(phone)
    start = threading.Barrier(2)
    answers = []
    url = f"/keys/{world['bag'].uuid}/take-out"

    def take(phone):
        start.wait()
        answer = phone.post(
            url,
            data={"uuid": new_uuid(), "purpose": "maintenance"},
            headers={"Accept": "application/json"},
        )
        answers.append((answer.status_code, answer.get_json()))

    threads = [threading.Thread(target=take, args=(p,)) for p in phones]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    statuses = sorted(code for code, _ in answers)
    assert statuses == [200, 422], answers
    refused = next(body for code, body in answers if code == 422)
    assert refused["error"] == "already_out"
    db.session.expire_all()
    assert db.session.scalar(select(func.count(KeyMovement.id))) == 1
    assert _custody_rows() == 1


def test_only_an_out_bag_can_be_returned_and_the_return_needs_a_seal_number(world):
    with pytest.raises(svc.CustodyError) as refused:
        svc.put_back(world["bag"], user=world["supervisor"], uuid=new_uuid(), seal_number="S-2")
    assert refused.value.key == "not_out"
    db.session.rollback()
    _take(world)
    with pytest.raises(svc.CustodyError) as refused:
        svc.put_back(world["bag"], user=world["supervisor"], uuid=new_uuid(), seal_number="  ")
    assert (refused.value.key, refused.value.field) == ("seal_required", "seal_number")
    db.session.rollback()
    assert world["bag"].status == "out"


def test_a_return_with_a_new_seal_is_flagged_and_closes_the_take_out(world):
    taken = _take(world)
    back = svc.put_back(
        world["bag"], user=world["supervisor"], uuid=new_uuid(), seal_number="S-2002"
    )
    db.session.commit()
    assert world["bag"].status == "in" and world["bag"].seal_number == "S-2002"
    assert back.is_seal_changed and back.seal_number_before == "S-1001"
    assert taken.closed_at == back.at
    assert back.purpose == "maintenance"
    assert _custody_rows() == 2
    assert [m.kind for m in svc.bag_history(world["bag"])] == ["return", "out"]


def test_a_return_with_the_same_seal_is_not_flagged(world):
    _take(world)
    back = svc.put_back(
        world["bag"], user=world["supervisor"], uuid=new_uuid(), seal_number="S-1001"
    )
    assert not back.is_seal_changed


def test_a_seal_check_that_differs_is_flagged_and_updates_the_bag(world):
    inspection = factories.gen_inspection(world["site"], world["supervisor"])
    ok = svc.check_seal(
        world["bag"], user=world["supervisor"], inspection=inspection, is_intact=True
    )
    assert not ok.is_seal_changed and ok.seal_number_after == "S-1001"
    odd = svc.check_seal(
        world["bag"],
        user=world["supervisor"],
        inspection=inspection,
        is_intact=False,
        seal_number="S-9999",
    )
    db.session.commit()
    assert odd.is_seal_changed and odd.inspection_id == inspection.id
    assert world["bag"].seal_number == "S-9999"
    assert svc.seal_checks(inspection.id)[world["bag"].id].id == odd.id
    with pytest.raises(svc.CustodyError):
        svc.check_seal(
            world["bag"], user=world["supervisor"], inspection=inspection, is_intact=False
        )


def test_bag_numbers_are_unique_per_site_only(world):
    with pytest.raises(svc.CustodyError) as refused:
        svc.create_bag(
            world["site"],
            user=world["manager"],
            bag_number="K-01",
            contents="x",
            stored_at="",
            seal_number="S-1",
        )
    assert refused.value.key == "duplicate_number"
    db.session.rollback()
    other = factories.gen_site()
    svc.create_bag(
        other, user=world["manager"], bag_number="K-01", contents="x", stored_at="", seal_number="1"
    )
    db.session.commit()


def test_a_bag_out_cannot_be_handed_back_to_the_client(world):
    _take(world)
    with pytest.raises(svc.CustodyError) as refused:
        svc.update_bag(
            world["bag"],
            user=world["manager"],
            bag_number="K-01",
            contents="x",
            stored_at="",
            status="returned_to_client",
        )
    assert refused.value.key == "bad_status"


def test_the_overdue_job_notifies_the_taker_and_the_watchers_once(world):
    other_watcher = world["other_supervisor"]  # not assigned: not told
    taken = _take(world, now=utcnow() - timedelta(hours=5))
    now = utcnow()
    assert taken.is_overdue(now)
    assert svc.site_summary(world["site"].id, now).overdue == 1
    assert overdue_keys(now) == 2  # the taker (also the site's supervisor) and the manager
    db.session.commit()
    assert overdue_keys(now + timedelta(minutes=5)) == 0
    db.session.commit()
    notes = list(db.session.scalars(select(Notification)))
    assert {n.user_id for n in notes} == {world["supervisor"].id, world["manager"].id}
    assert other_watcher.id not in {n.user_id for n in notes}
    assert {n.kind for n in notes} == {"key_overdue"}
    assert all(n.link == f"/keys/{world['bag'].uuid}" for n in notes)


def test_a_taker_who_is_no_supervisor_of_the_site_is_told_too(world):
    taker = world["other_supervisor"]
    _take(world, user=taker, now=utcnow() - timedelta(hours=5))
    overdue_keys(utcnow())
    assert taker.id in set(db.session.scalars(select(Notification.user_id)))


def test_a_returned_or_not_yet_due_take_out_does_not_notify(world):
    _take(world, now=utcnow() - timedelta(hours=3))
    assert overdue_keys(utcnow()) == 0
    svc.put_back(world["bag"], user=world["supervisor"], uuid=new_uuid(), seal_number="S-3")
    db.session.commit()
    assert overdue_keys(utcnow() + timedelta(hours=5)) == 0

"""Repair-ticket state machine, equipment status, overdue; maintenance moving the due date."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app.db import new_uuid
from app.extensions import db
from app.inspections import services as inspections
from app.maintenance import services as svc
from app.notifications.models import Notification
from app.sites.models import Equipment
from tests import factories

TODAY = date(2026, 11, 25)


@pytest.fixture
def setup(app, make_user):
    site = factories.gen_site()
    supervisor, guard, manager = make_user("supervisor"), make_user("guard"), make_user("manager")
    factories.assign(supervisor, site)
    panel = Equipment(site_id=site.id, kind="control_panel", model="DSC", status="ok")
    db.session.add(panel)
    db.session.commit()
    return {
        "site": site,
        "supervisor": supervisor,
        "guard": guard,
        "manager": manager,
        "panel": panel,
    }


def ticket(setup, **fields):
    values = {"problem": "主機斷線", "equipment_id": setup["panel"].id, "today": TODAY}
    values.update(fields)
    return svc.open_ticket(setup["site"], user=setup["supervisor"], uuid=new_uuid(), **values)


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        (["dispatched", "fixed", "verified"], True),
        (["fixed", "verified"], True),
        (["fixed", "dispatched", "fixed", "verified"], True),
        (["verified"], False),
        (["dispatched", "reported"], False),
        (["fixed", "verified", "dispatched"], False),
    ],
)
def test_ticket_transitions(setup, path, allowed):
    t = ticket(setup)
    try:
        for status in path:
            svc.change_status(t, user=setup["supervisor"], to=status)
    except svc.RepairError as exc:
        assert not allowed and exc.key == "bad_transition"
    else:
        assert allowed and t.status == path[-1]


def test_equipment_status_follows_the_ticket(setup):
    t = ticket(setup)
    assert setup["panel"].status == "fault"
    svc.change_status(t, user=setup["supervisor"], to="dispatched")
    assert setup["panel"].status == "under_repair"
    svc.change_status(t, user=setup["supervisor"], to="fixed")
    assert setup["panel"].status == "ok"


def test_cancelling_needs_a_reason(setup):
    t = ticket(setup)
    with pytest.raises(svc.RepairError, match="reason_required"):
        svc.change_status(t, user=setup["supervisor"], to="cancelled")
    svc.change_status(t, user=setup["supervisor"], to="cancelled", note="duplicate")
    assert t.cancel_reason == "duplicate"


def test_only_supervisors_and_managers_verify(setup):
    t = ticket(setup)
    svc.change_status(t, user=setup["supervisor"], to="fixed")
    with pytest.raises(svc.RepairError, match="supervisor_verifies"):
        svc.change_status(t, user=setup["guard"], to="verified")


def test_overdue_is_past_due_and_not_yet_fixed(setup):
    late = ticket(setup, due_on=TODAY - timedelta(days=1))
    on_time = ticket(setup, due_on=TODAY + timedelta(days=1))
    fixed_late = ticket(setup, due_on=TODAY - timedelta(days=3))
    svc.change_status(fixed_late, user=setup["supervisor"], to="fixed")
    assert (
        late.is_overdue(TODAY)
        and not on_time.is_overdue(TODAY)
        and not fixed_late.is_overdue(TODAY)
    )
    assert [t.id for t in svc.overdue_tickets(setup["supervisor"], today=TODAY)] == [late.id]
    assert svc.notify_overdue_tickets(TODAY) == 2  # the site's supervisor and the manager
    assert svc.notify_overdue_tickets(TODAY) == 0
    assert db.session.scalar(select(Notification)).kind == "repair_overdue"


def test_a_default_due_date_is_a_week_away(setup):
    assert ticket(setup).due_on == TODAY + timedelta(days=7)


def test_one_tap_from_a_failed_item_carries_equipment_note_and_photos(setup):
    inspection = inspections.start_inspection(
        setup["site"], user=setup["supervisor"], uuid=new_uuid()
    )
    panel_item = factories.control_panel_item(inspection.template)
    answer = inspections.record_answer(
        inspection,
        panel_item,
        user=setup["supervisor"],
        value="fail",
        note="斷線訊號",
        equipment_id=setup["panel"].id,
    )
    inspections.attach_photo(
        inspection, panel_item, user=setup["supervisor"], data=factories.png_bytes(), uuid=None
    )
    t = svc.open_from_answer(answer, user=setup["supervisor"], uuid=new_uuid(), today=TODAY)
    assert (t.source, t.problem, t.equipment_id) == ("inspection", "斷線訊號", setup["panel"].id)
    assert len(t.photos) == 1
    again = svc.open_from_answer(answer, user=setup["supervisor"], uuid=new_uuid(), today=TODAY)
    assert again.id == t.id
    passed = inspections.record_answer(
        inspection,
        inspection.template.live_items[0],
        user=setup["supervisor"],
        value="pass",
        note=None,
    )
    with pytest.raises(svc.RepairError, match="not_failed"):
        svc.open_from_answer(passed, user=setup["supervisor"], uuid=new_uuid(), today=TODAY)


def test_maintenance_done_moves_the_next_due_date(setup):
    panel = setup["panel"]
    panel.installed_on = date(2026, 1, 1)
    panel.maintenance_interval_days = 90
    db.session.flush()
    assert panel.maintenance_due_on == date(2026, 4, 1)
    due = svc.maintenance_due(setup["supervisor"], today=TODAY).items
    assert [d.equipment.id for d in due] == [panel.id] and due[0].is_overdue
    assert due[0].due_on == date(2026, 4, 1)  # worked out by the database, as the model does
    assert svc.count_maintenance_due(setup["supervisor"], today=TODAY) == 1
    svc.record_maintenance(
        panel, user=setup["supervisor"], done_on=date(2026, 11, 20), work="更換保險絲"
    )
    assert panel.maintenance_due_on == date(2027, 2, 18)
    assert svc.maintenance_due(setup["supervisor"], today=TODAY).items == []
    assert svc.count_maintenance_due(setup["supervisor"], today=TODAY) == 0
    # an older entry written later does not move the date back
    svc.record_maintenance(
        panel, user=setup["supervisor"], done_on=date(2026, 10, 1), work="late entry"
    )
    assert panel.last_maintained_on == date(2026, 11, 20)
    with pytest.raises(svc.RepairError, match="work_required"):
        svc.record_maintenance(panel, user=setup["supervisor"], done_on=TODAY, work=" ")
    with pytest.raises(svc.RepairError, match="in_future"):
        svc.record_maintenance(panel, user=setup["supervisor"], done_on=date(2099, 1, 1), work="x")


def test_cancelling_the_only_open_ticket_brings_the_unit_back_to_ok(setup):
    first, second = ticket(setup), ticket(setup)
    svc.change_status(first, user=setup["supervisor"], to="dispatched")
    assert setup["panel"].status == "under_repair"
    svc.change_status(first, user=setup["supervisor"], to="cancelled", note="duplicate")
    assert setup["panel"].status == "fault"  # the second ticket is still open
    svc.change_status(second, user=setup["supervisor"], to="cancelled", note="false report")
    assert setup["panel"].status == "ok"


def test_the_only_unit_of_the_items_kind_is_linked_when_none_was_picked(setup):
    inspection = inspections.start_inspection(
        setup["site"], user=setup["supervisor"], uuid=new_uuid()
    )
    panel_item = factories.control_panel_item(inspection.template)
    answer = inspections.record_answer(
        inspection, panel_item, user=setup["supervisor"], value="fail", note="x"
    )
    t = svc.open_from_answer(answer, user=setup["supervisor"], uuid=new_uuid(), today=TODAY)
    assert t.equipment_id == setup["panel"].id

"""Scoring, n.a., bounds, versioning, immutability and amendments."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.db import new_uuid
from app.extensions import db
from app.inspections import services as svc
from app.inspections.models import ChecklistItem, ChecklistTemplate
from tests import factories

# Written against version 1 of the default checklist (its items and ranges); version 2
# is tested in test_checklist_v2.py.
pytestmark = pytest.mark.usefixtures("checklist_v1")


@pytest.fixture
def setup(app, make_user):
    site = factories.gen_site()
    supervisor = make_user("supervisor")
    factories.assign(supervisor, site)
    db.session.commit()
    inspection = svc.start_inspection(site, user=supervisor, uuid=new_uuid())
    return site, supervisor, inspection


def item(kind="pass_fail", **fields):
    return ChecklistItem(
        kind=kind, indicator="P3.2.1", text_zh="x", text_en="x", position=1, **fields
    )


def test_default_checklist_is_installed_with_23_items(app):
    template = svc.active_template()
    assert template.version == 1 and template.name_zh == "系統保全管控查核表"
    assert len(template.live_items) == 23
    battery = template.items[5]
    assert (battery.kind, battery.min_value, battery.max_value, battery.equipment_kind) == (
        "number",
        10.5,
        14.5,
        "battery",
    )
    assert [i.indicator for i in template.items][-1] == "T3.1"
    assert {i.position for i in template.items if i.photo_on_fail} == set(range(5, 13))


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        ("pass_fail", "pass", True),
        ("pass_fail", "fail", False),
        ("pass_fail_na", "na", None),
        ("text", "anything", None),
        ("choice", "正常", None),
    ],
)
def test_evaluate(kind, value, expected):
    assert svc.evaluate(item(kind), value) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("12.6", True), ("10.5", True), ("14.5", True), ("10.4", False), ("15", False), ("abc", None)],
)
def test_numbers_out_of_bounds_fail(value, expected):
    assert svc.evaluate(item("number", min_value=10.5, max_value=14.5), value) is expected


def test_score_is_the_weighted_share_of_passes_without_na(setup):
    _site, supervisor, inspection = setup
    items = inspection.template.live_items
    svc.record_answer(inspection, items[0], user=supervisor, value="pass", note=None)
    svc.record_answer(inspection, items[1], user=supervisor, value="fail", note="late")
    items[2].weight = 2
    svc.record_answer(inspection, items[2], user=supervisor, value="pass", note=None)
    na = next(i for i in items if i.kind == "pass_fail_na")
    svc.record_answer(inspection, na, user=supervisor, value="na", note=None)
    assert svc.score(inspection.answers) == (75.0, 1)


def test_no_scored_answers_means_no_score(setup):
    _site, supervisor, inspection = setup
    na = next(i for i in inspection.template.live_items if i.kind == "pass_fail_na")
    svc.record_answer(inspection, na, user=supervisor, value="na", note=None)
    assert svc.score(inspection.answers) == (None, 0)


def test_answers_are_saved_again_and_again_the_last_wins(setup):
    _site, supervisor, inspection = setup
    first = inspection.template.live_items[0]
    svc.record_answer(inspection, first, user=supervisor, value="fail", note="broken")
    svc.record_answer(inspection, first, user=supervisor, value="pass", note=None)
    db.session.commit()
    (answer,) = inspection.answers
    assert answer.value == "pass" and answer.is_pass and answer.note == "broken"


def test_a_value_that_is_not_a_choice_is_refused(setup):
    _site, supervisor, inspection = setup
    with pytest.raises(svc.InspectionError, match="bad_value"):
        svc.record_answer(
            inspection, inspection.template.live_items[0], user=supervisor, value="maybe", note=None
        )


def complete(inspection, user, value="pass"):
    for it in inspection.template.live_items:
        v = "12.5" if it.kind == "number" else value
        svc.record_answer(
            inspection, it, user=user, value=v, note="note" if value == "fail" else None
        )


def test_submit_needs_every_required_answer_note_and_photo(setup):
    _site, supervisor, inspection = setup
    missing = svc.missing_for_submit(inspection)
    assert len(missing) == 23 and {m.problem for m in missing} == {"unanswered"}
    complete(inspection, supervisor)
    control_panel = inspection.template.live_items[4]
    svc.record_answer(inspection, control_panel, user=supervisor, value="fail", note=None)
    problems = {(m.item.position, m.problem) for m in svc.missing_for_submit(inspection)}
    assert problems == {(5, "note"), (5, "photo")}
    with pytest.raises(svc.InspectionError, match="incomplete"):
        svc.submit(
            inspection, user=supervisor, signer_name="林", signature_png=factories.png_bytes()
        )


def test_submitted_inspection_is_immutable_and_submitting_twice_is_once(setup):
    _site, supervisor, inspection = setup
    complete(inspection, supervisor)
    svc.submit(
        inspection, user=supervisor, signer_name="林雅婷", signature_png=factories.png_bytes()
    )
    first = (inspection.submitted_at, inspection.signature_photo_id)
    svc.submit(
        inspection, user=supervisor, signer_name="someone", signature_png=factories.png_bytes()
    )
    assert (inspection.submitted_at, inspection.signature_photo_id) == first
    assert inspection.score == 100.0 and inspection.status == "submitted"
    with pytest.raises(svc.InspectionError, match="already_submitted"):
        svc.record_answer(
            inspection, inspection.template.live_items[0], user=supervisor, value="fail", note="x"
        )


def test_submit_needs_a_signature_and_a_name(setup):
    _site, supervisor, inspection = setup
    complete(inspection, supervisor)
    with pytest.raises(svc.InspectionError, match="signature_required"):
        svc.submit(
            inspection, user=supervisor, signer_name=" ", signature_png=factories.png_bytes()
        )


def test_amendment_keeps_the_old_answer_the_reason_and_rescoring(setup):
    _site, supervisor, inspection = setup
    complete(inspection, supervisor)
    svc.submit(inspection, user=supervisor, signer_name="林", signature_png=factories.png_bytes())
    target = inspection.template.live_items[0]
    with pytest.raises(svc.InspectionError, match="reason_required"):
        svc.amend(inspection, target, user=supervisor, value="fail", note="", reason=" ")
    amendment = svc.amend(
        inspection, target, user=supervisor, value="fail", note="missed", reason="typed wrong"
    )
    assert (amendment.old_value, amendment.new_value, amendment.reason) == (
        "pass",
        "fail",
        "typed wrong",
    )
    assert inspection.status == "amended" and inspection.failed_count == 1
    assert inspection.score == pytest.approx(round(100 * 22 / 23, 1))


def test_editing_a_used_checklist_makes_a_new_version_and_old_inspections_keep_theirs(
    setup, make_user
):
    _site, _supervisor, inspection = setup
    admin = make_user("admin")
    v1 = svc.active_template()
    first_item = v1.items[0]
    saved = svc.save_item(v1, first_item.id, actor=admin, text_en="Changed wording")
    db.session.commit()
    assert saved.template.version == 3 and saved.template.is_active  # after the installed v2
    assert not db.session.get(ChecklistTemplate, v1.id).is_active
    assert db.session.get(ChecklistItem, first_item.id).text_en != "Changed wording"
    assert inspection.template_id == v1.id
    assert svc.active_template().id == saved.template_id
    assert len(saved.template.items) == 23


def test_editing_an_unused_checklist_changes_it_in_place(app, make_user):
    admin = make_user("admin")
    v1 = svc.active_template()
    svc.save_item(
        v1, None, actor=admin, indicator="T3.1", text_zh="新項目", text_en="New item", kind="text"
    )
    svc.move_item(v1, v1.items[0].id, actor=admin, offset=1)
    svc.set_item_retired(v1, v1.items[1].id, actor=admin, retired=True)
    db.session.commit()
    assert svc.active_template().id == v1.id and len(v1.items) == 24
    assert len(v1.live_items) == 23
    versions = db.session.scalars(select(ChecklistTemplate)).all()
    assert len(versions) == 2  # versions 1 and 2 as installed, no new one


def test_inspections_due_lists_never_and_overdue_sites(setup, make_user):
    from datetime import timedelta

    from app.db import utcnow

    site, supervisor, _inspection = setup
    recent = factories.gen_site(inspection_interval_days=30)
    factories.assign(supervisor, recent)
    factories.gen_inspection(
        recent, supervisor, status="submitted", submitted_at=utcnow() - timedelta(days=3)
    )
    old = factories.gen_site(inspection_interval_days=30)
    factories.assign(supervisor, old)
    factories.gen_inspection(
        old, supervisor, status="submitted", submitted_at=utcnow() - timedelta(days=40)
    )
    db.session.commit()
    due = svc.inspections_due(supervisor, today=utcnow().date())
    assert [d.site.id for d in due] == [site.id, old.id]
    assert due[0].due_on is None and due[1].due_on is not None

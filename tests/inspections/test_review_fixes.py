"""Scoping after unassignment, photo uuids, Taipei days, racing submits, old versions."""

from __future__ import annotations

import base64
import io
import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.db import new_uuid
from app.extensions import db
from app.inspections import services as svc
from app.inspections.models import Inspection
from app.photos.models import Photo
from app.photos.services import PhotoError, store_photo
from tests import factories

# Written against version 1 of the default checklist (its items and ranges); version 2
# is tested in test_checklist_v2.py.
pytestmark = pytest.mark.usefixtures("checklist_v1")

SIGNATURE = "data:image/png;base64," + base64.b64encode(factories.png_bytes((300, 100))).decode()


@pytest.fixture
def draft(app, client, make_user, login):
    site = factories.gen_site()
    supervisor = make_user("supervisor")
    assignment = factories.assign(supervisor, site)
    db.session.commit()
    login(supervisor)
    key = str(uuid.uuid4())
    client.post(f"/sites/{site.id}/inspections", data={"uuid": key})
    first = factories.control_panel_item(svc.active_template())
    client.post(f"/inspections/{key}/items/{first.id}", data={"value": "fail"})
    client.post(
        f"/inspections/{key}/items/{first.id}/photos",
        data={"photo": (io.BytesIO(factories.png_bytes()), "p.png")},
        content_type="multipart/form-data",
    )
    return {
        "site": site,
        "supervisor": supervisor,
        "uuid": key,
        "item": first,
        "assignment": assignment,
    }


def test_an_unassigned_inspector_loses_his_draft_and_its_photos(client, draft):
    photo = db.session.scalar(select(Photo))
    db.session.delete(draft["assignment"])
    db.session.commit()
    key, item = draft["uuid"], draft["item"]
    assert client.get(f"/inspections/{key}").status_code == 404
    assert (
        client.post(f"/inspections/{key}/items/{item.id}", data={"value": "pass"}).status_code
        == 404
    )
    assert client.post(f"/inspections/{key}/submit", data={"signer_name": "x"}).status_code == 404
    assert client.get(f"/photos/{photo.uuid}").status_code == 404


def test_a_photo_uuid_of_someone_else_is_refused_and_their_file_untouched(app, draft, make_user):
    photo = db.session.scalar(select(Photo))
    path = app.config["UPLOAD_DIR"] + "/" + photo.path
    with open(path, "rb") as fh:
        before = fh.read()
    intruder = make_user("supervisor")
    with pytest.raises(PhotoError):
        store_photo(
            factories.png_bytes((50, 50), (0, 0, 0)),
            owner=intruder,
            site_id=draft["site"].id,
            uuid=photo.uuid,
        )
    with open(path, "rb") as fh:
        assert fh.read() == before


def test_file_names_never_come_from_the_client(draft):
    photo = db.session.scalar(select(Photo))
    assert photo.uuid not in photo.path


def test_a_taipei_morning_inspection_counts_for_that_taiwan_day(app, make_user):
    supervisor = make_user("supervisor")
    site = factories.gen_site(inspection_interval_days=1)
    factories.assign(supervisor, site)
    # 07:30 in Taipei on 25 November is 23:30 UTC on 24 November.
    factories.gen_inspection(
        site,
        supervisor,
        status="submitted",
        submitted_at=datetime(2026, 11, 24, 23, 30, tzinfo=UTC),
    )
    db.session.commit()
    assert svc.inspections_due(supervisor, today=datetime(2026, 11, 25).date()) == []
    (due,) = svc.inspections_due(supervisor, today=datetime(2026, 11, 26).date())
    assert due.due_on.isoformat() == "2026-11-26"


def test_two_submits_at_once_make_one_submission(app, make_user):
    site = factories.gen_site()
    supervisor = make_user("supervisor")
    factories.assign(supervisor, site)
    db.session.commit()
    inspection = svc.start_inspection(site, user=supervisor, uuid=new_uuid())
    for item in inspection.template.live_items:
        svc.record_answer(
            inspection,
            item,
            user=supervisor,
            value=factories.passing_reading(item) if item.kind == "number" else "pass",
            note=None,
        )
    db.session.commit()
    key = inspection.uuid
    results = []

    def tap(name):
        with app.app_context():
            try:
                mine = db.session.scalar(select(Inspection).where(Inspection.uuid == key))
                user = db.session.get(type(supervisor), supervisor.id)
                svc.submit(mine, user=user, signer_name=name, signature_png=factories.png_bytes())
                db.session.commit()
                results.append("ok")
            except Exception as exc:  # a lost race must not be a crash either
                results.append(repr(exc))
                db.session.rollback()
            finally:
                db.session.remove()

    threads = [threading.Thread(target=tap, args=(f"tap {n}",)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    db.session.expire_all()
    submitted = db.session.scalar(select(Inspection).where(Inspection.uuid == key))
    assert submitted.status == "submitted"
    from app.audit.models import AuditEvent

    rows = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "inspection.submitted")
    ).all()
    assert len(rows) == 1


def test_earlier_versions_are_not_edited(app, make_user, login, draft):
    v1 = svc.active_template()
    admin = make_user("admin")
    svc.save_item(v1, v1.items[0].id, actor=admin, text_en="v2 wording")
    db.session.commit()
    client = app.test_client()
    login(make_user("manager"), test_client=client)
    response = client.post(
        f"/checklist-items/{v1.items[0].id}",
        data={
            "indicator": "P3.2.1",
            "text_zh": "x",
            "text_en": "x",
            "kind": "pass_fail",
            "weight": "1",
        },
    )
    assert response.status_code == 303
    db.session.refresh(v1)
    assert v1.items[0].text_en != "x"
    assert client.post(f"/checklist-items/{v1.items[0].id}/retire").status_code == 409


def test_an_amendment_to_a_failure_needs_a_note(app, make_user):
    site = factories.gen_site()
    supervisor = make_user("supervisor")
    factories.assign(supervisor, site)
    inspection = svc.start_inspection(site, user=supervisor, uuid=new_uuid())
    for item in inspection.template.live_items:
        svc.record_answer(
            inspection,
            item,
            user=supervisor,
            value=factories.passing_reading(item) if item.kind == "number" else "pass",
            note=None,
        )
    svc.submit(inspection, user=supervisor, signer_name="x", signature_png=factories.png_bytes())
    with pytest.raises(svc.InspectionError, match="note_required"):
        svc.amend(
            inspection,
            inspection.template.live_items[0],
            user=supervisor,
            value="fail",
            note="",
            reason="r",
        )
    assert timedelta  # imported for readers of the Taipei test


def test_an_unassigned_inspector_no_longer_lists_his_inspections(client, draft, make_user):
    from app.inspections import services as inspections

    inspection = db.session.scalar(select(Inspection))
    assert (
        inspection in inspections.list_inspections(draft["supervisor"], include_drafts=True).items
    )
    db.session.delete(draft["assignment"])
    db.session.commit()
    assert inspections.list_inspections(draft["supervisor"], include_drafts=True).items == []

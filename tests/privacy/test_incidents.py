"""The personal-data incident register: steps as a checklist, closing only when each step is
recorded or marked not applicable with a reason; every change audited; managers only."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.db import utcnow
from app.extensions import db
from app.privacy import services as svc
from app.privacy.models import INCIDENT_STEPS, PrivacyIncident


def _actions():
    return [
        e.action
        for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq))
        if e.action.startswith("privacy.incident")
    ]


@pytest.fixture
def manager(make_user):
    return make_user("manager")


@pytest.fixture
def incident(manager):
    found = svc.create_incident(
        user=manager, discovered_at=utcnow() - timedelta(hours=3), summary="A printed list lost"
    )
    db.session.commit()
    return found


def test_an_incident_closes_only_when_every_step_is_recorded_or_not_applicable(manager, incident):
    assert incident.steps_left == list(INCIDENT_STEPS)
    with pytest.raises(svc.PrivacyError) as refused:
        svc.close_incident(incident, user=manager)
    assert refused.value.key == "steps_left"
    svc.record_step(
        incident,
        "scope",
        user=manager,
        values={"data_categories": "姓名、電話", "subjects_count": 12},
    )
    svc.record_step(incident, "containment", user=manager, values={"containment": "Recalled"})
    svc.record_step(incident, "cause", user=manager, values={"cause": "Left in a car"})
    svc.record_step(
        incident,
        "subjects_notified",
        user=manager,
        values={"subjects_notified_at": utcnow(), "subjects_notice": "Phoned each"},
    )
    with pytest.raises(svc.PrivacyError) as no_reason:
        svc.record_step(incident, "authority_notified", user=manager, not_applicable_reason="  ")
    assert no_reason.value.key == "reason_required"
    svc.record_step(
        incident, "authority_notified", user=manager, not_applicable_reason="No duty to notify"
    )
    assert incident.steps_left == ["improvements"]
    with pytest.raises(svc.PrivacyError):
        svc.close_incident(incident, user=manager)
    svc.record_step(incident, "improvements", user=manager, values={"improvements": "Lock box"})
    svc.close_incident(incident, user=manager)
    assert incident.is_closed and incident.closed_by_id == manager.id
    with pytest.raises(svc.PrivacyError) as closed:
        svc.record_step(incident, "cause", user=manager, values={"cause": "changed"})
    assert closed.value.key == "closed"
    assert _actions() == [
        "privacy.incident_created",
        *["privacy.incident_step"] * 6,
        "privacy.incident_closed",
    ]


def test_a_step_needs_all_its_facts(manager, incident):
    with pytest.raises(svc.PrivacyError) as partial:
        svc.record_step(
            incident, "authority_notified", user=manager, values={"authority_notified_at": utcnow()}
        )
    assert partial.value.key == "step_incomplete" and partial.value.field == "authority"
    with pytest.raises(svc.PrivacyError) as early:
        svc.record_step(
            incident,
            "subjects_notified",
            user=manager,
            values={"subjects_notified_at": utcnow() - timedelta(days=3)},
        )
    assert early.value.key == "before_discovery"


def test_audit_rows_name_the_step_but_never_its_words(manager, incident):
    svc.record_step(incident, "cause", user=manager, values={"cause": "王小明 身分證 A123456789"})
    db.session.commit()
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "privacy.incident_step")
    )
    assert '"step": "cause"' in event.detail and "A123456789" not in event.detail


def test_the_register_step_by_step_through_the_pages(client, login, manager):
    login(manager)
    made = client.post(
        "/privacy/incidents/new",
        data={"discovered_at": "2026-01-05T10:00", "summary": "USB stick lost"},
    )
    assert made.status_code == 303
    incident = db.session.scalar(select(PrivacyIncident))
    assert made.headers["Location"] == f"/privacy/incidents/{incident.id}"
    page = client.get(made.headers["Location"] + "?lang=en").text
    assert page.count("To do") == len(INCIDENT_STEPS)
    refused = client.post(
        f"/privacy/incidents/{incident.id}/steps/cause?lang=en",
        data={"cause-not_applicable": "y", "cause-reason": ""},
    )
    assert refused.status_code == 200
    assert "Give the reason why this step does not apply." in refused.text
    saved = client.post(
        f"/privacy/incidents/{incident.id}/steps/cause", data={"cause-cause": "Unencrypted"}
    )
    assert saved.status_code == 303 and saved.headers["Location"].endswith("#step-cause")
    db.session.refresh(incident)
    assert incident.cause == "Unencrypted"
    assert client.post(f"/privacy/incidents/{incident.id}/steps/nope").status_code == 404
    closing = client.post(f"/privacy/incidents/{incident.id}/close")
    assert closing.status_code == 303
    db.session.refresh(incident)
    assert not incident.is_closed
    listing = client.get("/privacy/incidents?lang=en").text
    assert "USB stick lost" in listing and "5 steps left" in listing


def test_the_text_typed_is_inert(client, login, manager):
    login(manager)
    client.post(
        "/privacy/incidents/new",
        data={"discovered_at": "2026-01-05T10:00", "summary": "<script>alert(1)</script>"},
    )
    incident = db.session.scalar(select(PrivacyIncident))
    page = client.get(f"/privacy/incidents/{incident.id}").text
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page

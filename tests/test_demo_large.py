"""`flask demo --scale large`, run at a sliver of its size through the same code."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app import demo_large
from app.audit.models import AuditEvent
from app.audit.services import verify_chain
from app.auth.models import User
from app.briefings.models import Acknowledgement, Briefing
from app.db import utcnow
from app.extensions import db
from app.i18n import TAIPEI
from app.incidents.models import AlarmResponse, Incident
from app.inspections import services as inspections
from app.inspections.models import Answer, Inspection
from app.notifications.models import Notification
from app.sites.models import CheckIn, Site, SiteAssignment
from tests import factories

FACTOR = "0.002"


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


@pytest.fixture
def loaded(runner):
    result = runner.invoke(args=["demo", "--scale", "large", "--factor", FACTOR])
    assert result.exit_code == 0, result.output
    assert "Large demo data loaded" in result.output
    return result.output


def test_the_large_demo_writes_a_year_for_its_sites(loaded):
    t = demo_large.scaled(float(FACTOR))
    assert count(Site) == t["sites"]
    assert count(User, User.role == "guard") == t["guards"]
    assert count(User, User.role == "supervisor") == t["supervisors"]
    submitted = count(Inspection, Inspection.status != "draft")
    assert submitted == t["inspections"]
    assert count(Answer) >= 20 * submitted
    assert count(CheckIn) >= t["check_ins"]
    assert count(Incident) == t["incidents"]
    assert count(AlarmResponse) >= t["alarms"]
    assert count(Briefing) == t["briefings"] and count(Acknowledgement) > 0
    assert count(Notification) > 0
    # The small demo's logins are there, the supervisor with more sites than before.
    supervisor = db.session.scalar(select(User).where(User.username == "supervisor"))
    assert count(SiteAssignment, SiteAssignment.user_id == supervisor.id) > 5
    # Every active site has a supervisor; times lie in the last year, none ahead of now.
    active = select(Site.id).where(Site.is_active.is_(True))
    covered = select(SiteAssignment.site_id).join(User).where(User.role == "supervisor")
    assert count(Site, Site.id.in_(active), Site.id.not_in(covered)) == 0
    now = utcnow()
    for column in (CheckIn.received_at, Inspection.started_at, AlarmResponse.received_at):
        low, high = db.session.execute(select(func.min(column), func.max(column))).one()
        assert now - timedelta(days=366) < low and high <= now


def test_the_audit_chain_holds_one_event_for_the_load(loaded):
    assert verify_chain().is_intact
    (event,) = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == demo_large.MARKER_ACTION)
    )
    assert '"answer":' in event.detail


def test_scores_are_what_submission_would_compute(loaded):
    for inspection in db.session.scalars(
        select(Inspection).where(Inspection.status == "submitted").limit(20)
    ):
        live = {item.id for item in inspection.template.live_items}
        expected = inspections.score([a for a in inspection.answers if a.item_id in live])
        assert (inspection.score, inspection.failed_count) == expected


def test_inspections_due_on_the_year_agrees_with_the_day_arithmetic(loaded):
    manager = db.session.scalar(select(User).where(User.username == "manager"))
    today = utcnow().astimezone(TAIPEI).date()
    expected = set()
    for site in db.session.scalars(select(Site).where(Site.is_active.is_(True))):
        last = inspections.last_inspection(site)
        if (
            last is None
            or (
                last.submitted_at.astimezone(TAIPEI) + timedelta(days=site.inspection_interval_days)
            ).date()
            <= today
        ):
            expected.add(site.id)
    due = inspections.inspections_due(manager, today=today)
    assert {d.site.id for d in due} == expected and expected


def test_new_rows_get_fresh_ids_after_the_load(loaded):
    site = db.session.scalar(select(Site).order_by(Site.id.desc()).limit(1))
    reporter = db.session.scalar(select(User).where(User.username == "guard"))
    incident = factories.gen_incident(site, reporter)
    user = factories.gen_user("guard")
    db.session.commit()
    assert incident.id > 0 and user.id > 0


def test_loading_again_changes_nothing(loaded, runner):
    before = (count(Inspection), count(CheckIn), count(AuditEvent))
    again = runner.invoke(args=["demo", "--scale", "large", "--factor", FACTOR])
    assert again.exit_code == 0 and "Large demo data already present" in again.output
    assert (count(Inspection), count(CheckIn), count(AuditEvent)) == before


def test_if_empty_leaves_a_used_database_alone(runner, make_user):
    make_user("admin")
    result = runner.invoke(args=["demo", "--if-empty", "--scale", "large", "--factor", FACTOR])
    assert "not loaded" in result.output
    assert count(Inspection) == 0


def test_the_demo_logins_see_their_pages(loaded, client, login):
    for role in ("guard", "supervisor", "manager", "client"):
        client.post("/logout")
        assert login(role, password="taipei-101-demo").status_code == 303
        assert client.get("/").status_code == 200

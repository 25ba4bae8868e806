"""Who may access a site's confidential information, and its periodic review (施行細則 §12)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.audit.models import AuditEvent
from app.db import utcnow
from app.extensions import db
from app.privacy import services as svc
from app.privacy.models import PermissionReview
from app.vault.access import log_access
from tests import factories


def _world(make_user):
    site = factories.gen_site()
    other = factories.gen_site(client=site.client)
    guard, supervisor = make_user("guard"), make_user("supervisor")
    manager, admin = make_user("manager"), make_user("admin")
    stranger = make_user("guard")  # assigned elsewhere
    gone = make_user("supervisor", is_active=False)
    for person in (guard, supervisor, gone):
        factories.assign(person, site)
    factories.assign(stranger, other)
    db.session.commit()
    return site, other, guard, supervisor, manager, admin, stranger


def test_the_list_names_assigned_field_staff_and_every_manager_with_their_reach(make_user):
    site, _other, guard, supervisor, manager, _admin, _stranger = _world(make_user)
    readers = {r.user.id: r for r in svc.site_readers(site)}
    assert set(readers) == {guard.id, supervisor.id, manager.id}
    assert readers[guard.id].level == "operational"
    assert readers[supervisor.id].level == "all" and readers[manager.id].level == "all"
    assert readers[guard.id].assigned_at is not None
    assert readers[manager.id].assigned_at is None  # all sites, by role


def test_pledge_status_and_last_vault_access_are_shown(make_user):
    site, other, guard, supervisor, manager, *_ = _world(make_user)
    from app.briefings.models import Acknowledgement, Briefing

    pledge = Briefing(
        kind="pledge",
        title="保密切結書",
        body="不得洩漏",
        author_id=manager.id,
        status="published",
        audience="confidential",
        published_at=utcnow(),
    )
    db.session.add(pledge)
    db.session.flush()
    db.session.add(Acknowledgement(briefing_id=pledge.id, version=1, user_id=guard.id))
    log_access(supervisor, "list", site_id=site.id)
    log_access(supervisor, "list", site_id=other.id)  # another site's: not this one's
    db.session.commit()
    readers = {r.user.id: r for r in svc.site_readers(site)}
    assert readers[guard.id].has_pledge and not readers[supervisor.id].has_pledge
    assert readers[supervisor.id].last_access_at is not None
    assert readers[guard.id].last_access_at is None


def test_marking_reviewed_writes_a_review_and_an_audit_event(client, make_user, login):
    site, _other, _guard, _supervisor, manager, *_ = _world(make_user)
    login(manager)
    page = client.get(f"/privacy/sites/{site.id}?lang=en")
    assert "Never reviewed" in page.text and "Operational only" in page.text
    response = client.post(f"/privacy/sites/{site.id}/reviewed", data={"note": "王保全 調離"})
    assert response.status_code == 303
    review = db.session.scalar(select(PermissionReview))
    assert review.site_id == site.id and review.reviewer_id == manager.id
    assert review.people_count == 3 and review.note == "王保全 調離"
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "privacy.permissions_reviewed")
    )
    assert event.target == f"site:{site.id}" and event.actor_id == manager.id
    again = client.get(f"/privacy/sites/{site.id}?lang=en").text
    assert "Never reviewed" not in again and manager.display_name in again


def test_the_overview_lists_never_and_long_ago_reviewed_sites_first(client, make_user, login):
    manager = make_user("manager")
    fresh, old, _never = (factories.gen_site(name=n) for n in ("Fresh", "Old", "Never"))
    svc.mark_reviewed(fresh, user=manager)
    old_review = svc.mark_reviewed(old, user=manager)
    old_review.reviewed_at = utcnow() - timedelta(days=400)
    db.session.commit()
    names = [site.name for site, _review in svc.review_overview().items]
    assert names == ["Never", "Old", "Fresh"]
    assert svc.overdue_review_count(now=utcnow()) == 2
    login(manager)
    page = client.get("/privacy?lang=en").text
    assert "2 sites are due for review." in page
    assert page.index("Never") < page.index("Old") < page.index("Fresh")


def test_review_interval_is_configurable(app, make_user):
    manager = make_user("manager")
    site = factories.gen_site()
    review = svc.mark_reviewed(site, user=manager)
    review.reviewed_at = utcnow() - timedelta(days=40)
    db.session.commit()
    assert svc.overdue_review_count(now=utcnow()) == 0
    app.config["REVIEW_INTERVAL_DAYS"] = 30
    assert svc.overdue_review_count(now=utcnow()) == 1

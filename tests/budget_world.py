"""A small world that grows: the data statement-budget tests count pages on.

`World.grow(n)` adds `n` units; each unit is a client with two sites and, at each site,
guards, equipment, inspections, incidents, alarms, repairs, check-ins, briefings, training
and notifications. The five people the tests sign in as work at every site, so each of
their lists grows with the data.
"""

from __future__ import annotations

import itertools
from datetime import date, timedelta

from app.auth.models import User
from app.briefings.models import (
    Acknowledgement,
    Briefing,
    BriefingSite,
    TrainingAttendance,
    TrainingSession,
)
from app.db import new_uuid, utcnow
from app.extensions import db
from app.incidents.models import AlarmResponse
from app.inspections.models import Answer
from app.inspections.services import active_template
from app.maintenance.models import RepairTicket
from app.notifications.models import Notification
from app.privacy.models import PermissionReview, PrivacyIncident
from app.sites.models import CheckIn, Equipment, Site
from app.vault.models import VaultAccess
from tests import factories

_n = itertools.count(1)


class World:
    def __init__(self) -> None:
        first = factories.gen_client()
        self.guard = factories.gen_user("guard")
        self.supervisor = factories.gen_user("supervisor")
        self.manager = factories.gen_user("manager")
        self.admin = factories.gen_user("admin")
        self.client_user = factories.gen_user("client", client_id=first.id)
        self._first_client = first
        self.sites: list[Site] = []
        self.users: dict[str, User] = {
            "guard": self.guard,
            "supervisor": self.supervisor,
            "manager": self.manager,
            "admin": self.admin,
            "client": self.client_user,
        }

    def grow(self, units: int) -> World:
        for _ in range(units):
            self._unit()
        db.session.commit()
        return self

    def _unit(self) -> None:
        client = self._first_client if not self.sites else factories.gen_client()
        template = active_template()
        items = [i for i in template.items if i.kind == "pass_fail"][:4]
        today = date.today()
        now = utcnow()
        for _ in range(2):
            site = factories.gen_site(client=client)
            self.sites.append(site)
            extra = [factories.gen_user("guard") for _ in range(2)]
            for person in (self.guard, self.supervisor, *extra):
                factories.assign(person, site)
            equipment = Equipment(
                site_id=site.id,
                kind="battery",
                installed_on=today - timedelta(days=400),
                maintenance_interval_days=90,
                status="fault",
            )
            db.session.add(equipment)
            for k in range(2):
                inspection = factories.gen_inspection(
                    site,
                    self.supervisor,
                    status="submitted",
                    submitted_at=now - timedelta(days=40 + k),
                    failed_count=1,
                    score=75.0,
                )
                for position, item in enumerate(items):
                    db.session.add(
                        Answer(
                            inspection_id=inspection.id,
                            item_id=item.id,
                            value="fail" if position == 0 else "pass",
                            note="Loose cable" if position == 0 else "",
                        )
                    )
            factories.gen_inspection(site, self.supervisor)  # a draft
            incident = factories.gen_incident(site, self.guard, severity="high")
            db.session.add(
                AlarmResponse(
                    uuid=new_uuid(),
                    site_id=site.id,
                    guard_id=self.guard.id,
                    created_by_id=self.supervisor.id,
                    received_at=now - timedelta(hours=2),
                    dispatched_at=now - timedelta(hours=2),
                    incident_id=incident.id,
                )
            )
            db.session.add(  # a closed one: the false-alarm figures count it
                AlarmResponse(
                    uuid=new_uuid(),
                    site_id=site.id,
                    guard_id=self.guard.id,
                    created_by_id=self.supervisor.id,
                    received_at=now - timedelta(hours=5),
                    signal_type="intrusion",
                    cleared_at=now - timedelta(hours=4),
                    cause="user_error",
                )
            )
            db.session.add(
                RepairTicket(
                    uuid=new_uuid(),
                    site_id=site.id,
                    problem="Siren silent",
                    due_on=today - timedelta(days=3),
                    reported_by_id=self.supervisor.id,
                )
            )
            for person in (self.guard, *extra):
                db.session.add(
                    CheckIn(
                        uuid=new_uuid(),
                        site_id=site.id,
                        user_id=person.id,
                        verdict="on_site",
                        scanned_at=now,
                        received_at=now,
                        clock_skew_s=0,
                    )
                )
            db.session.flush()
            briefing = Briefing(
                kind="notice",
                title=f"Notice {next(_n)}",
                body="Lock the side door after 22:00.",
                author_id=self.supervisor.id,
                status="published",
                audience="sites",
                published_at=now,
                requires_ack=True,
            )
            db.session.add(briefing)
            db.session.flush()
            db.session.add(BriefingSite(briefing_id=briefing.id, site_id=site.id))
            db.session.add(Acknowledgement(briefing_id=briefing.id, version=1, user_id=extra[0].id))
            session = TrainingSession(
                topic="first_aid",
                held_on=today - timedelta(days=700),
                hours=3,
                created_by_id=self.supervisor.id,
            )
            db.session.add(session)
            db.session.flush()
            for person in (self.guard, *extra):
                db.session.add(TrainingAttendance(session_id=session.id, user_id=person.id))
            # This month's on-the-job hours and a pre-employment day (the monthly list).
            for kind in ("on_the_job", "pre_employment"):
                month_session = TrainingSession(
                    kind=kind, topic="law", held_on=today, hours=2, created_by_id=self.supervisor.id
                )
                db.session.add(month_session)
                db.session.flush()
                for person in (self.guard, *extra):
                    db.session.add(
                        TrainingAttendance(session_id=month_session.id, user_id=person.id)
                    )
            # Personal data: a review of the site, a vault access there, an incident.
            db.session.add(
                PermissionReview(site_id=site.id, reviewer_id=self.manager.id, people_count=3)
            )
            db.session.add(VaultAccess(user_id=self.supervisor.id, site_id=site.id, action="list"))
            db.session.add(PrivacyIncident(discovered_at=now, summary="A list was mislaid"))
            for person in self.users.values():
                db.session.add(
                    Notification(
                        user_id=person.id,
                        kind="incident_high",
                        dedupe_key=f"incident:{incident.id}:{next(_n)}",
                        subject=site.name,
                        link=f"/incidents/{incident.id}",
                    )
                )
        db.session.flush()

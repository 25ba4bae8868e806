"""What a client reads of his sites: shared incident summaries, open repair tickets. Reads only.

Each list selects the columns the client may read and nothing else, so no template can reach
the internal narrative, the timeline or a repairer's notes by an attribute.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select

from app.auth import policy
from app.extensions import db
from app.incidents.models import Incident
from app.maintenance.models import OPEN_TICKET_STATUSES, RepairTicket
from app.sites.models import Site

#: The newest shared incidents a site page lists (older ones are in the sheets).
SHARED_INCIDENTS_SHOWN = 50


@dataclass(frozen=True)
class SharedIncident:
    """An incident as the client reads it."""

    occurred_at: datetime
    category: str
    severity: str
    status: str
    summary: str


@dataclass(frozen=True)
class OpenRepair:
    """A repair ticket as the client reads it."""

    problem: str
    reported_at: datetime
    status: str
    due_on: date | None


@dataclass(frozen=True)
class SiteCounts:
    shared_incidents: int = 0
    open_repairs: int = 0


def portal_sites(user) -> list[Site]:
    """The client's own active sites."""
    return list(
        db.session.scalars(select(Site).where(policy.portal_sites_clause(user)).order_by(Site.code))
    )


def _shared():
    return Incident.shared_with_client_at.is_not(None)


def _open():
    return RepairTicket.status.in_(OPEN_TICKET_STATUSES)


def counts_by_site(site_ids: list[int]) -> dict[int, SiteCounts]:
    """Shared incidents and open repairs per site: two statements, however many sites."""
    if not site_ids:
        return {}
    shared = dict(
        db.session.execute(
            select(Incident.site_id, func.count(Incident.id))
            .where(Incident.site_id.in_(site_ids), _shared())
            .group_by(Incident.site_id)
        ).all()
    )
    repairs = dict(
        db.session.execute(
            select(RepairTicket.site_id, func.count(RepairTicket.id))
            .where(RepairTicket.site_id.in_(site_ids), _open())
            .group_by(RepairTicket.site_id)
        ).all()
    )
    return {
        site_id: SiteCounts(shared.get(site_id, 0), repairs.get(site_id, 0)) for site_id in site_ids
    }


def shared_incidents(site: Site, *, limit: int = SHARED_INCIDENTS_SHOWN) -> list[SharedIncident]:
    """The site's incidents shared with the client, newest first: date, category, severity,
    status and the summary written for him."""
    rows = db.session.execute(
        select(
            Incident.occurred_at,
            Incident.category,
            Incident.severity,
            Incident.status,
            Incident.client_summary,
        )
        .where(Incident.site_id == site.id, _shared())
        .order_by(Incident.occurred_at.desc(), Incident.id.desc())
        .limit(limit)
    )
    return [SharedIncident(*row) for row in rows]


def open_repairs(site: Site) -> list[OpenRepair]:
    """The site's open repair tickets (its systems' faults), soonest due first."""
    rows = db.session.execute(
        select(
            RepairTicket.problem, RepairTicket.reported_at, RepairTicket.status, RepairTicket.due_on
        )
        .where(RepairTicket.site_id == site.id, _open())
        .order_by(RepairTicket.due_on.is_(None), RepairTicket.due_on, RepairTicket.id)
    )
    return [OpenRepair(*row) for row in rows]

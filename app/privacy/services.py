"""Notice acknowledgements, permission reviews and the incident register. Flush, never commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, ClassVar

from flask import has_request_context, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, and_, case, func, or_, select

from app import audit
from app.auth import policy
from app.auth.models import User
from app.auth.roles import ROLE_ORDER
from app.briefings.models import Acknowledgement
from app.briefings.services import current_pledge
from app.db import utcnow
from app.errors import DomainError
from app.extensions import db
from app.pagination import Page, paginate
from app.privacy.models import (
    INCIDENT_STEPS,
    NoticeAcknowledgement,
    PermissionReview,
    PrivacyIncident,
)
from app.privacy.notice import current_version, review_interval_days
from app.sites.models import Site, SiteAssignment
from app.vault.models import VaultAccess


class PrivacyError(DomainError):
    messages: ClassVar = {
        "summary_required": _l("Say what happened."),
        "bad_step": _l("There is no such step."),
        "reason_required": _l("Give the reason why this step does not apply."),
        "step_incomplete": _l("Fill in every part of this step, or mark it not applicable."),
        "closed": _l("This incident is closed; it can no longer be changed."),
        "steps_left": _l("Record every step (or mark it not applicable) before closing."),
        "in_future": _l("That time is in the future."),
        "before_discovery": _l("That is before the incident was discovered."),
        "negative": _l("The number of people cannot be negative."),
    }


def _address() -> tuple[str, str]:
    if not has_request_context():
        return "", ""
    return (request.remote_addr or "")[:64], (request.user_agent.string or "")[:255]


# ---------------------------------------------------------------- the collection notice


def notice_acknowledgement(user, version: int | None = None) -> NoticeAcknowledgement | None:
    """The user's acknowledgement of the notice (the current version unless one is named)."""
    return db.session.scalar(
        select(NoticeAcknowledgement).where(
            NoticeAcknowledgement.user_id == user.id,
            NoticeAcknowledgement.version == (version or current_version()),
        )
    )


def has_acknowledged_notice(user) -> bool:
    """Has the user acknowledged the current version (one small indexed query)?"""
    return (
        db.session.scalar(
            select(NoticeAcknowledgement.id)
            .where(
                NoticeAcknowledgement.user_id == user.id,
                NoticeAcknowledgement.version == current_version(),
            )
            .limit(1)
        )
        is not None
    )


def acknowledge_notice(*, user) -> NoticeAcknowledgement:
    """Record that the user read the current notice (once per version) and audit it."""
    existing = notice_acknowledgement(user)
    if existing is not None:
        return existing
    ip, user_agent = _address()
    row = NoticeAcknowledgement(
        user_id=user.id, version=current_version(), at=utcnow(), ip=ip, user_agent=user_agent
    )
    db.session.add(row)
    db.session.flush()
    audit.record(
        "privacy.notice_acknowledged",
        actor=user,
        target=f"user:{user.id}",
        detail={"version": row.version},
    )
    return row


# ---------------------------------------------------------------- who may access a site


@dataclass
class SiteReader:
    user: User
    #: "all" (with step-up for restricted values) or "operational".
    level: str
    assigned_at: datetime | None
    has_pledge: bool
    last_access_at: datetime | None


_ROLE_RANK = case({role.value: n for n, role in enumerate(ROLE_ORDER)}, value=User.role)


def site_readers(site: Site) -> list[SiteReader]:
    """Everyone who may reach the site's confidential information, with what the review needs
    to judge each one (four statements, however many people)."""
    rows = db.session.execute(
        select(User, SiteAssignment.created_at)
        .outerjoin(
            SiteAssignment,
            and_(SiteAssignment.user_id == User.id, SiteAssignment.site_id == site.id),
        )
        .where(policy.vault_readers_clause(User, site.id))
        .order_by(_ROLE_RANK.desc(), User.display_name, User.id)
    ).all()
    ids = [user.id for user, _at in rows]
    pledge = current_pledge()
    pledged: set[int] = set()
    if pledge is not None and ids:
        pledged = set(
            db.session.scalars(
                select(Acknowledgement.user_id).where(
                    Acknowledgement.briefing_id == pledge.id,
                    Acknowledgement.version == pledge.version,
                    Acknowledgement.user_id.in_(ids),
                )
            )
        )
    last_access: dict[int, datetime] = {}
    if ids:
        last_access = dict(
            db.session.execute(
                select(VaultAccess.user_id, func.max(VaultAccess.at))
                .where(VaultAccess.site_id == site.id, VaultAccess.user_id.in_(ids))
                .group_by(VaultAccess.user_id)
            ).all()
        )
    readers = []
    for user, assigned_at in rows:
        assigned = {site.id} if assigned_at is not None else set()
        level = policy.vault_access_level(user, site.id, assigned_site_ids=assigned)
        if level is None:  # the clause and the predicate disagree: trust neither
            continue
        readers.append(
            SiteReader(user, level, assigned_at, user.id in pledged, last_access.get(user.id))
        )
    return readers


def last_review(site: Site) -> PermissionReview | None:
    return db.session.scalar(
        select(PermissionReview)
        .where(PermissionReview.site_id == site.id)
        .order_by(PermissionReview.reviewed_at.desc(), PermissionReview.id.desc())
        .limit(1)
    )


def mark_reviewed(site: Site, *, user, note: str = "") -> PermissionReview:
    """A manager confirms who may access the site's confidential information; audited."""
    people = len(site_readers(site))
    review = PermissionReview(
        site_id=site.id,
        reviewed_at=utcnow(),
        reviewer_id=user.id,
        reviewer_name=(user.display_name or user.username)[:120],
        people_count=people,
        note=(note or "").strip()[:1000],
    )
    db.session.add(review)
    db.session.flush()
    audit.record(
        "privacy.permissions_reviewed",
        actor=user,
        target=f"site:{site.id}",
        detail={"people": people, "review_id": review.id, "has_note": bool(review.note)},
    )
    return review


def is_review_overdue(last_reviewed_at: datetime | None, *, now: datetime) -> bool:
    return last_reviewed_at is None or last_reviewed_at < now - timedelta(
        days=review_interval_days()
    )


def _latest_reviews():
    return (
        select(PermissionReview.site_id, func.max(PermissionReview.id).label("review_id"))
        .group_by(PermissionReview.site_id)
        .subquery()
    )


def review_overview(*, page: int = 1, per_page: int = 25) -> Page:
    """Active sites with their latest review, never reviewed and oldest first (so the overdue
    lead). Rows: (Site, PermissionReview | None)."""
    latest = _latest_reviews()
    stmt = (
        select(Site, PermissionReview)
        .outerjoin(latest, latest.c.site_id == Site.id)
        .outerjoin(PermissionReview, PermissionReview.id == latest.c.review_id)
        .where(Site.is_active.is_(True))
        .order_by(
            PermissionReview.reviewed_at.is_(None).desc(),
            PermissionReview.reviewed_at.asc(),
            Site.code,
        )
    )
    return paginate(stmt, page=page, per_page=per_page, rows=True)


def overdue_review_count(*, now: datetime) -> int:
    latest = _latest_reviews()
    cutoff = now - timedelta(days=review_interval_days())
    return (
        db.session.scalar(
            select(func.count(Site.id))
            .outerjoin(latest, latest.c.site_id == Site.id)
            .outerjoin(PermissionReview, PermissionReview.id == latest.c.review_id)
            .where(
                Site.is_active.is_(True),
                or_(PermissionReview.id.is_(None), PermissionReview.reviewed_at < cutoff),
            )
        )
        or 0
    )


# ---------------------------------------------------------------- the incident register


def incidents_query() -> Select:
    """Open incidents first, newest discovery first."""
    return select(PrivacyIncident).order_by(
        (PrivacyIncident.status == "open").desc(),
        PrivacyIncident.discovered_at.desc(),
        PrivacyIncident.id.desc(),
    )


def list_incidents(*, page: int = 1, per_page: int = 25) -> Page:
    return paginate(incidents_query(), page=page, per_page=per_page)


def _check_time(at: datetime | None, *, field: str, after: datetime | None = None) -> None:
    if at is None:
        return
    if at > utcnow() + timedelta(minutes=5):
        raise PrivacyError("in_future", field=field)
    if after is not None and at < after - timedelta(minutes=1):
        raise PrivacyError("before_discovery", field=field)


def _audit_incident(action: str, incident: PrivacyIncident, user, **detail: Any) -> None:
    # Field names and steps only: what the incident says may itself be personal data.
    audit.record(
        f"privacy.incident_{action}",
        actor=user,
        target=f"privacy_incident:{incident.id}",
        detail=detail,
    )


def create_incident(
    *,
    user,
    discovered_at: datetime,
    summary: str,
    data_categories: str = "",
    subjects_count: int | None = None,
) -> PrivacyIncident:
    """Open an incident in the register; what is known of its scope may come with it."""
    summary = (summary or "").strip()
    if not summary:
        raise PrivacyError("summary_required", field="summary")
    _check_time(discovered_at, field="discovered_at")
    if subjects_count is not None and subjects_count < 0:
        raise PrivacyError("negative", field="subjects_count")
    incident = PrivacyIncident(
        discovered_at=discovered_at,
        summary=summary,
        data_categories=(data_categories or "").strip(),
        subjects_count=subjects_count,
        created_by_id=user.id,
        created_at=utcnow(),
        updated_at=utcnow(),
    )
    db.session.add(incident)
    db.session.flush()
    _audit_incident(
        "created", incident, user, steps_done=[s for s in INCIDENT_STEPS if incident.is_done(s)]
    )
    return incident


def update_incident(
    incident: PrivacyIncident, *, user, discovered_at: datetime, summary: str
) -> None:
    """Correct when it was discovered and what happened."""
    if incident.is_closed:
        raise PrivacyError("closed")
    summary = (summary or "").strip()
    if not summary:
        raise PrivacyError("summary_required", field="summary")
    _check_time(discovered_at, field="discovered_at")
    changed = [
        name
        for name, value in (("discovered_at", discovered_at), ("summary", summary))
        if getattr(incident, name) != value
    ]
    incident.discovered_at = discovered_at
    incident.summary = summary
    incident.updated_at = utcnow()
    db.session.flush()
    _audit_incident("changed", incident, user, fields=changed)


#: The fields each step records; a step is complete when all of them are filled in.
STEP_FIELDS = {
    "scope": ("data_categories", "subjects_count"),
    "containment": ("containment",),
    "cause": ("cause",),
    "subjects_notified": ("subjects_notified_at", "subjects_notice"),
    "authority_notified": ("authority_notified_at", "authority"),
    "improvements": ("improvements",),
}
#: Fields a step may leave empty.
OPTIONAL_STEP_FIELDS = frozenset({"subjects_notice"})


def record_step(
    incident: PrivacyIncident,
    step: str,
    *,
    user,
    values: dict[str, Any] | None = None,
    not_applicable_reason: str | None = None,
) -> None:
    """Write down one step, or say why it does not apply (a reason is required); audited."""
    if step not in INCIDENT_STEPS:
        raise PrivacyError("bad_step")
    if incident.is_closed:
        raise PrivacyError("closed")
    if not_applicable_reason is not None:
        reason = not_applicable_reason.strip()
        if not reason:
            raise PrivacyError("reason_required", field="reason")
        setattr(incident, f"{step}_na_reason", reason[:500])
        incident.updated_at = utcnow()
        db.session.flush()
        _audit_incident("step", incident, user, step=step, not_applicable=True)
        return
    values = values or {}
    cleaned: dict[str, Any] = {}
    for name in STEP_FIELDS[step]:
        value = values.get(name)
        if isinstance(value, str):
            value = value.strip()
        if (value is None or value == "") and name not in OPTIONAL_STEP_FIELDS:
            raise PrivacyError("step_incomplete", field=name)
        cleaned[name] = "" if value is None and name in OPTIONAL_STEP_FIELDS else value
    if cleaned.get("subjects_count") is not None and cleaned["subjects_count"] < 0:
        raise PrivacyError("negative", field="subjects_count")
    for name in ("subjects_notified_at", "authority_notified_at"):
        if name in cleaned:
            _check_time(cleaned[name], field=name, after=incident.discovered_at)
    for name, value in cleaned.items():
        setattr(incident, name, value)
    setattr(incident, f"{step}_na_reason", "")
    incident.updated_at = utcnow()
    db.session.flush()
    _audit_incident("step", incident, user, step=step, not_applicable=False)


def close_incident(incident: PrivacyIncident, *, user) -> None:
    """Close once every step is recorded or marked not applicable with a reason."""
    if incident.is_closed:
        raise PrivacyError("closed")
    if incident.steps_left:
        raise PrivacyError("steps_left")
    incident.status = "closed"
    incident.closed_at = utcnow()
    incident.closed_by_id = user.id
    incident.updated_at = incident.closed_at
    db.session.flush()
    _audit_incident("closed", incident, user)


def day_start(day: date) -> datetime:
    """00:00 in Taiwan of `day`, as a UTC instant."""
    from app.i18n import from_taipei

    return from_taipei(datetime(day.year, day.month, day.day))

"""Briefings: audience, versions, acknowledgements, reminders; pledges; training validity."""

from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import ClassVar

from flask import current_app
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from sqlalchemy import Select, and_, exists, func, literal, or_, select
from sqlalchemy.orm import joinedload, selectinload

from app import audit, files, spreadsheet
from app.auth import policy
from app.auth.models import User
from app.briefings.models import (
    Acknowledgement,
    Briefing,
    BriefingAttachment,
    BriefingSite,
    BriefingUser,
    TrainingAttendance,
    TrainingSession,
)
from app.db import add_days, new_uuid, utcnow
from app.errors import DomainError
from app.extensions import db
from app.notifications import services as notifications
from app.pagination import Page, paginate
from app.sites import services as site_services
from app.sites.models import SiteAssignment

#: Default validity of each training topic in days (TRAINING_VALIDITY_DAYS overrides).
DEFAULT_VALIDITY = {"first_aid": 730, "fire_safety": 365, "personal_data": 365}
EXPIRING_WITHIN = timedelta(days=30)
_URL = re.compile(r"https?://[^\s<>\"']+")


class BriefingError(DomainError):
    messages: ClassVar = {
        "sites_required": _l("Choose at least one site."),
        "users_required": _l("Choose at least one person."),
        "not_your_site": _l("You can only brief the guards of your own sites."),
        "not_for_you": _l("This briefing is not addressed to you."),
        "pledge_managers": _l("Only a manager publishes the confidentiality pledge."),
        "not_your_people": _l("You can only address the guards of your own sites."),
        "attendees_required": _l("Tick who attended."),
        "hours_range": _l("A session counts more than 0 and at most 12 hours."),
        "training_kind": _l("Choose pre-employment or on-the-job training."),
    }


def render_body(text: str) -> Markup:
    """Plain text made readable: escaped first, then line breaks and http(s) links added.

    Whatever a user typed — tags, event attributes, hx- attributes — stays inert text.
    """
    escaped = str(escape(text))
    link = '<a href="{0}" rel="noopener noreferrer nofollow" target="_blank">{0}</a>'
    linked = _URL.sub(lambda m: link.format(m.group(0)), escaped)
    return Markup(linked.replace("\n", "<br>\n"))  # noqa: S704 (built from escaped text)


# ---------------------------------------------------------------- audience


def audience(briefing: Briefing) -> list[User]:
    """Who must read it, resolved now (a guard newly assigned to a site is included)."""
    stmt = select(User).where(User.is_active.is_(True))
    if briefing.audience == "all_guards":
        stmt = stmt.where(policy.guards_clause(User))
    elif briefing.audience == "sites":
        chosen = select(BriefingSite.site_id).where(BriefingSite.briefing_id == briefing.id)
        guards = select(SiteAssignment.user_id).where(SiteAssignment.site_id.in_(chosen))
        stmt = stmt.where(policy.guards_clause(User), User.id.in_(guards))
    elif briefing.audience == "users":
        chosen = select(BriefingUser.user_id).where(BriefingUser.briefing_id == briefing.id)
        stmt = stmt.where(User.id.in_(chosen))
    else:  # confidential: the pledge
        stmt = stmt.where(policy.pledge_signers_clause(User))
    return list(db.session.scalars(stmt.order_by(User.display_name)))


def _addressed_to(user):
    """SQL: the briefings whose audience includes `user` (resolved now, so a guard newly
    assigned to a site is included) — one clause for the inbox, the badge and single loads."""
    clauses = [
        and_(
            Briefing.audience == "users",
            exists().where(
                BriefingUser.briefing_id == Briefing.id, BriefingUser.user_id == user.id
            ),
        )
    ]
    if policy.is_briefed_as_guard(user):
        clauses.append(Briefing.audience == "all_guards")
        clauses.append(
            and_(
                Briefing.audience == "sites",
                exists()
                .where(BriefingSite.briefing_id == Briefing.id)
                .where(BriefingSite.site_id == SiteAssignment.site_id)
                .where(SiteAssignment.user_id == user.id),
            )
        )
    if policy.must_sign_pledge(user):
        clauses.append(Briefing.audience == "confidential")
    return or_(*clauses)


def _inbox_query(user) -> Select:
    return select(Briefing).where(
        Briefing.status == "published", _addressed_to(user), literal(bool(user.is_active))
    )


def is_in_audience(briefing: Briefing, user) -> bool:
    return (
        db.session.scalar(
            select(literal(True)).where(
                Briefing.id == briefing.id, _addressed_to(user), literal(bool(user.is_active))
            )
        )
        is not None
    )


def _current_ack(user):
    return and_(
        Acknowledgement.briefing_id == Briefing.id,
        Acknowledgement.version == Briefing.version,
        Acknowledgement.user_id == user.id,
    )


def inbox(user, *, page: int = 1, per_page: int = 25) -> tuple[Page, dict[int, Acknowledgement]]:
    """Published briefings the user is to read, newest first, one page of them, and his
    acknowledgements of their current versions by briefing id."""
    listed = paginate(
        _inbox_query(user).order_by(Briefing.published_at.desc(), Briefing.id.desc()),
        page=page,
        per_page=per_page,
    )
    ids = [b.id for b in listed.items]
    acks = (
        {
            a.briefing_id: a
            for a in db.session.scalars(
                select(Acknowledgement)
                .join(Briefing, Briefing.id == Acknowledgement.briefing_id)
                .where(Acknowledgement.briefing_id.in_(ids), _current_ack(user))
            )
        }
        if ids
        else {}
    )
    return listed, acks


def acknowledgement(briefing: Briefing, user) -> Acknowledgement | None:
    """The user's acknowledgement of the current version, if any."""
    return db.session.scalar(
        select(Acknowledgement).where(
            Acknowledgement.briefing_id == briefing.id,
            Acknowledgement.version == briefing.version,
            Acknowledgement.user_id == user.id,
        )
    )


def unread_count(user) -> int:
    """Briefings waiting for the user's acknowledgement (the badge): one statement."""
    stmt = _inbox_query(user).where(
        Briefing.requires_ack.is_(True), ~exists().where(_current_ack(user))
    )
    return db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0


# ---------------------------------------------------------------- writing


def _set_audience(
    briefing: Briefing, *, audience_kind: str, site_ids: set[int], user_ids: set[int]
) -> None:
    briefing.audience = audience_kind
    db.session.execute(
        BriefingSite.__table__.delete().where(BriefingSite.briefing_id == briefing.id)
    )
    db.session.execute(
        BriefingUser.__table__.delete().where(BriefingUser.briefing_id == briefing.id)
    )
    if audience_kind == "sites":
        for site_id in sorted(site_ids):
            db.session.add(BriefingSite(briefing_id=briefing.id, site_id=site_id))
    if audience_kind == "users":
        for user_id in sorted(user_ids):
            db.session.add(BriefingUser(briefing_id=briefing.id, user_id=user_id))


def save_briefing(
    briefing: Briefing | None,
    *,
    actor,
    kind: str,
    title: str,
    body: str,
    requires_ack: bool,
    due_on: date | None,
    audience_kind: str,
    site_ids: set[int],
    user_ids: set[int],
    substantive: bool = True,
) -> Briefing:
    """Create a draft, or edit: a substantive edit of a published briefing makes a new version."""
    if kind == "pledge":
        if not policy.sees_all_sites(actor):
            raise BriefingError("pledge_managers")
        audience_kind = "confidential"
        substantive = True  # every new pledge text must be acknowledged again
    if audience_kind == "sites" and not site_ids:
        raise BriefingError("sites_required")
    if audience_kind == "users" and not user_ids:
        raise BriefingError("users_required")
    allowed_sites = {s.id for s in site_services.visible_sites(actor)}
    if site_ids - allowed_sites:
        raise BriefingError("not_your_site")
    if audience_kind == "users" and user_ids - {u.id for u in briefable_people(actor)}:
        raise BriefingError("not_your_people")
    created = briefing is None
    briefing = briefing or Briefing(author_id=actor.id, status="draft")
    changed = (briefing.title, briefing.body) != (title.strip(), body.strip())
    briefing.kind, briefing.title, briefing.body = kind, title.strip(), body.strip()
    briefing.requires_ack = requires_ack or kind == "pledge"
    briefing.due_on = due_on
    briefing.updated_at = utcnow()
    if created:
        db.session.add(briefing)
    elif briefing.status == "published" and changed and substantive:
        briefing.version += 1
    db.session.flush()
    _set_audience(briefing, audience_kind=audience_kind, site_ids=site_ids, user_ids=user_ids)
    db.session.flush()
    audit.record(
        "briefing.created" if created else "briefing.updated",
        actor=actor,
        target=f"briefing:{briefing.id}",
        detail={"version": briefing.version},
    )
    return briefing


MAX_PDF_BYTES = 10 * 1024 * 1024
#: Objects read in one PDF at most: a 10 MB document has a few thousand; more is a trap.
MAX_PDF_OBJECTS = 200_000
#: Action types that run something: a script, a program, a file of another application.
_ACTIVE_ACTIONS = {"/JavaScript", "/Launch", "/ImportData", "/RichMediaExecute"}
#: Keys that carry JavaScript wherever they stand (an action's script, the names tree's).
_SCRIPT_KEYS = {"/JS", "/JavaScript"}


class AttachmentError(DomainError):
    """A refused briefing attachment."""

    messages: ClassVar = {
        "pdf_too_large": _l("The PDF is larger than 10 MB."),
        "pdf_broken": _l("That PDF cannot be read: it is damaged or not a PDF. Save it again."),
        "pdf_encrypted": _l("That PDF is password-protected. Attach a copy without a password."),
        "pdf_active": _l(
            "That PDF contains scripts or actions that run when it is opened (JavaScript, "
            "an opening action or a program launch). Print it to a new PDF and attach that."
        ),
    }


def _pdf_refusal(data: bytes) -> str | None:
    """Why this PDF is refused (a key of AttachmentError), or None: read with pypdf, every
    object reachable from the trailer looked at once."""
    from pypdf import PdfReader
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            return "pdf_encrypted"
        root = reader.trailer["/Root"].get_object()
        if not isinstance(root, DictionaryObject) or len(reader.pages) < 1:
            return "pdf_broken"
        opening = root.get("/OpenAction")
        if opening is not None:
            opening = opening.get_object()
            # An explicit destination (a page and a zoom) only sets the first view: allowed.
            # Any action dictionary other than "go to a page" is refused.
            if isinstance(opening, DictionaryObject) and opening.get("/S") != "/GoTo":
                return "pdf_active"
        seen: set[tuple[int, int]] = set()
        stack: list = [reader.trailer]
        visited = 0
        while stack:
            item = stack.pop()
            if isinstance(item, IndirectObject):
                if (item.idnum, item.generation) in seen:
                    continue
                seen.add((item.idnum, item.generation))
                item = item.get_object()
            visited += 1
            if visited > MAX_PDF_OBJECTS:
                return "pdf_broken"
            if isinstance(item, DictionaryObject):  # streams too: their dictionaries
                if _SCRIPT_KEYS & set(item.keys()) or item.get("/S") in _ACTIVE_ACTIONS:
                    return "pdf_active"
                stack.extend(item.values())
            elif isinstance(item, ArrayObject):
                stack.extend(item)
    except Exception:  # any failure of the parser on this file: it is not a PDF we can vouch for
        return "pdf_broken"
    return None


def check_pdf(data: bytes) -> None:
    """Refuse a PDF that is too large, unreadable, encrypted, or that runs anything."""
    if len(data) > MAX_PDF_BYTES:
        raise AttachmentError("pdf_too_large")
    refusal = _pdf_refusal(data)
    if refusal is not None:
        raise AttachmentError(refusal)


_UNSAFE_NAME = re.compile(r"[^\w\-]+")


def safe_file_name(filename: str | None, extension: str = ".pdf") -> str:
    """The name an attachment is shown and downloaded as: the uploader's name without its
    extension, reduced to letters, digits, '-' and '_' (any script), ending in `extension`
    (what the file really is: `.pdf`, or `.jpg` for a re-encoded image)."""
    stem = Path((filename or "").replace("\\", "/")).name
    stem = stem[: -len(Path(stem).suffix)] if Path(stem).suffix else stem
    cleaned = _UNSAFE_NAME.sub("-", stem).strip("-_")[:80].strip("-_")
    return f"{cleaned or 'attachment'}{extension}"


def attach_file(briefing: Briefing, *, actor, data: bytes, filename: str) -> BriefingAttachment:
    """Attach an image (through the photo pipeline) or a PDF (read through, refused if it runs
    anything; stored outside static/ and named `<safe name>.pdf`)."""
    from app.photos.services import PhotoError, store_photo

    name = (filename or "file")[-120:]
    if data[:5] == b"%PDF-":
        check_pdf(data)
        stored = new_uuid()
        path = f"attachments/{stored[:2]}/{stored}.pdf"
        files.write_private(Path(current_app.config["UPLOAD_DIR"]), path, data)
        item = BriefingAttachment(
            briefing_id=briefing.id,
            path=path,
            filename=safe_file_name(name),
            sha256=hashlib.sha256(data).hexdigest(),
        )
    else:
        site_id = briefing.sites[0].id if briefing.sites else None
        if site_id is None:
            visible = site_services.visible_sites(actor)
            site_id = visible[0].id if visible else None
        if site_id is None:
            raise PhotoError("not_an_image")
        photo = store_photo(data, owner=actor, site_id=site_id)
        item = BriefingAttachment(
            briefing_id=briefing.id, photo_id=photo.id, filename=safe_file_name(name, ".jpg")
        )
    db.session.add(item)
    briefing.attachments.append(item)
    if briefing.status == "published":
        briefing.version += 1  # new material: everyone acknowledges again
    db.session.flush()
    audit.record("briefing.attachment", actor=actor, target=f"briefing:{briefing.id}")
    return item


def publish(briefing: Briefing, *, actor) -> None:
    """Publish: its audience is notified (in the app, by e-mail and by push), once a version."""
    briefing.status = "published"
    briefing.published_at = briefing.published_at or utcnow()
    db.session.flush()
    audit.record("briefing.published", actor=actor, target=f"briefing:{briefing.id}")
    notifications.notify(
        [u for u in audience(briefing) if u.id != actor.id],
        kind="briefing_published",
        dedupe_key=f"briefing:{briefing.id}:v{briefing.version}:published",
        subject=briefing.title,
        link=f"/briefings/{briefing.id}",
    )


def withdraw(briefing: Briefing, *, actor) -> None:
    briefing.status = "withdrawn"
    db.session.flush()
    audit.record("briefing.withdrawn", actor=actor, target=f"briefing:{briefing.id}")


def acknowledge(briefing: Briefing, *, user) -> Acknowledgement:
    """'I have read and understood': once per version; again is the same record."""
    if briefing.status != "published" or not is_in_audience(briefing, user):
        raise BriefingError("not_for_you")
    existing = acknowledgement(briefing, user)
    if existing is not None:
        return existing
    ack = Acknowledgement(
        briefing_id=briefing.id, version=briefing.version, user_id=user.id, at=utcnow()
    )
    db.session.add(ack)
    db.session.flush()
    audit.record(
        "briefing.acknowledged",
        actor=user,
        target=f"briefing:{briefing.id}",
        detail={"version": briefing.version},
    )
    return ack


@dataclass
class Progress:
    user: User
    acknowledged_at: object
    is_overdue: bool


def progress(briefing: Briefing, *, today: date) -> list[Progress]:
    acks = {
        a.user_id: a.at
        for a in db.session.scalars(
            select(Acknowledgement).where(
                Acknowledgement.briefing_id == briefing.id,
                Acknowledgement.version == briefing.version,
            )
        )
    }
    late = briefing.due_on is not None and briefing.due_on < today
    members = audience(briefing)
    rows = [Progress(u, acks.get(u.id), late and u.id not in acks) for u in members]
    # Proof outlives assignments: whoever acknowledged stays listed, even if no longer addressed.
    former = set(acks) - {u.id for u in members}
    if former:
        for user in db.session.scalars(select(User).where(User.id.in_(former))):
            rows.append(Progress(user, acks[user.id], False))
    return rows


def _remind_outstanding(briefing: Briefing, *, today: date) -> int:
    """Notify whoever has not acknowledged this version yet; once a day at most."""
    outstanding = [p.user for p in progress(briefing, today=today) if p.acknowledged_at is None]
    created = notifications.notify(
        outstanding,
        kind="briefing_reminder",
        dedupe_key=f"briefing:{briefing.id}:v{briefing.version}:{today.isoformat()}",
        subject=briefing.title,
        link=f"/briefings/{briefing.id}",
    )
    return len(created)


def remind(briefing: Briefing, *, actor, today: date) -> int:
    """Notify everyone who has not acknowledged this version yet (once a day at most)."""
    count = _remind_outstanding(briefing, today=today)
    audit.record(
        "briefing.reminded",
        actor=actor,
        target=f"briefing:{briefing.id}",
        detail={"count": count},
    )
    return count


#: Days before the due date on which the jobs runner reminds (the day before, and the day).
AUTO_REMIND_DAYS_BEFORE = (1, 0)


def remind_due_briefings(today: date) -> int:
    """Published briefings due tomorrow or today remind whoever has not acknowledged them
    (jobs runner). A reminder already sent that day, by hand or by the runner, is not repeated;
    after the due date the progress page shows who is late and a manager reminds by hand."""
    days = [today + timedelta(days=n) for n in AUTO_REMIND_DAYS_BEFORE]
    total = 0
    for briefing in db.session.scalars(
        select(Briefing)
        .where(Briefing.status == "published", Briefing.due_on.in_(days))
        .order_by(Briefing.id)
    ):
        count = _remind_outstanding(briefing, today=today)
        if count:
            audit.record(
                "briefing.reminded",
                actor_name="jobs",
                target=f"briefing:{briefing.id}",
                detail={"count": count, "automatic": True},
            )
        total += count
    return total


def csv_cell(value) -> str:
    """A CSV cell that a spreadsheet will not run as a formula (names are user input)."""
    return spreadsheet.csv_cell(value)


def acknowledgements_csv(briefing: Briefing, *, today: date) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["briefing", "version", "username", "name", "acknowledged_at_utc", "overdue"])
    for p in progress(briefing, today=today):
        at = p.acknowledged_at.isoformat() if p.acknowledged_at else ""
        row = [briefing.id, briefing.version, p.user.username, p.user.display_name, at]
        writer.writerow([csv_cell(v) for v in [*row, "yes" if p.is_overdue else ""]])
    return out.getvalue()


def briefings_managed_by(user, *, page: int = 1, per_page: int = 25) -> Page:
    """Briefings a supervisor wrote (a manager: all), most recently changed first."""
    stmt = select(Briefing).order_by(Briefing.updated_at.desc(), Briefing.id.desc())
    if not policy.sees_all_sites(user):
        stmt = stmt.where(Briefing.author_id == user.id)
    return paginate(stmt, page=page, per_page=per_page)


# ---------------------------------------------------------------- the pledge


def current_pledge() -> Briefing | None:
    return db.session.scalar(
        select(Briefing)
        .where(Briefing.kind == "pledge", Briefing.status == "published")
        .order_by(Briefing.published_at.desc())
        .limit(1)
    )


def has_current_pledge(user) -> bool:
    """Has the user acknowledged the current version of the current confidentiality pledge?

    The confidential-information vault refuses access without it; no published pledge means no.
    """
    pledge = current_pledge()
    return pledge is not None and acknowledgement(pledge, user) is not None


# ---------------------------------------------------------------- training


def validity_days() -> dict[str, int]:
    """Validity per topic; unknown topic names in the setting are ignored."""
    from app.briefings.models import TOPICS

    configured = current_app.config.get("TRAINING_VALIDITY_DAYS") or {}
    return {**DEFAULT_VALIDITY, **{k: v for k, v in configured.items() if k in TOPICS}}


def record_training(
    *,
    actor,
    topic: str,
    held_on: date,
    hours: float,
    trainer: str,
    note: str,
    attendee_ids: set[int],
    evidence=None,
    kind: str = "on_the_job",
) -> TrainingSession:
    from app.briefings.models import MAX_SESSION_HOURS, TRAINING_KINDS

    if not 0 < hours <= MAX_SESSION_HOURS:
        raise BriefingError("hours_range")
    if kind not in TRAINING_KINDS:
        raise BriefingError("training_kind")
    session = TrainingSession(
        kind=kind,
        topic=topic,
        held_on=held_on,
        hours=hours,
        trainer=trainer.strip(),
        note=note.strip(),
        created_by_id=actor.id,
        evidence_photo_id=evidence.id if evidence is not None else None,
    )
    db.session.add(session)
    db.session.flush()
    for user_id in sorted(attendee_ids):
        db.session.add(TrainingAttendance(session_id=session.id, user_id=user_id))
    db.session.flush()
    audit.record(
        "training.recorded",
        actor=actor,
        target=f"training:{session.id}",
        detail={"topic": topic, "kind": kind, "hours": hours, "attendees": len(attendee_ids)},
    )
    return session


def training_record_people(session: TrainingSession) -> tuple[set[int], set[int]]:
    """Whom a training session concerns: its attendees' ids, and the sites they are assigned
    to (one statement) — what `policy.can_view_training_record` decides on."""
    rows = db.session.execute(
        select(TrainingAttendance.user_id, SiteAssignment.site_id)
        .outerjoin(SiteAssignment, SiteAssignment.user_id == TrainingAttendance.user_id)
        .where(TrainingAttendance.session_id == session.id)
    ).all()
    return {user_id for user_id, _site in rows}, {site for _user, site in rows if site}


@dataclass
class TopicStatus:
    topic: str
    last_on: date | None
    expires_on: date | None
    status: str  # current, expiring, expired, missing


def training_statuses(users: list[User], *, today: date) -> dict[int, list[TopicStatus]]:
    """For each user: each topic with a validity, the latest session attended, when it
    expires, its status. One statement however many users."""
    latest: dict[tuple[int, str], date] = {}
    ids = [u.id for u in users]
    if ids:
        rows = db.session.execute(
            select(
                TrainingAttendance.user_id,
                TrainingSession.topic,
                func.max(TrainingSession.held_on),
            )
            .join(TrainingSession, TrainingSession.id == TrainingAttendance.session_id)
            .where(TrainingAttendance.user_id.in_(ids))
            .group_by(TrainingAttendance.user_id, TrainingSession.topic)
        )
        latest = {(user_id, topic): held_on for user_id, topic, held_on in rows}
    validity = validity_days()
    return {
        user_id: [
            _topic_status(topic, latest.get((user_id, topic)), days, today)
            for topic, days in validity.items()
        ]
        for user_id in ids
    }


def _topic_status(topic: str, last: date | None, days: int, today: date) -> TopicStatus:
    if last is None:
        return TopicStatus(topic, None, None, "missing")
    expires = add_days(last, days)
    if expires < today:
        return TopicStatus(topic, last, expires, "expired")
    if expires <= today + EXPIRING_WITHIN:
        return TopicStatus(topic, last, expires, "expiring")
    return TopicStatus(topic, last, expires, "current")


def training_status(user, *, today: date) -> list[TopicStatus]:
    """One user's training status per topic."""
    return training_statuses([user], today=today)[user.id]


def flagged_people(user, *, today: date, page: int = 1, per_page: int = 25) -> Page:
    """A page of the guards in the user's care whose training is expiring, expired or missing,
    each with his statuses (two statements however many guards)."""
    in_care = people_in_care(user)
    statuses = training_statuses(in_care, today=today)
    flagged = [
        (person, statuses[person.id])
        for person in in_care
        if any(s.status != "current" for s in statuses[person.id])
    ]
    pages = max(1, -(-len(flagged) // per_page))
    page = min(max(1, page), pages)
    shown = flagged[(page - 1) * per_page : page * per_page]
    return Page(shown, page, pages, len(flagged))


def recent_training_sessions(user, *, limit: int = 20) -> list[TrainingSession]:
    """The latest sessions attended by the guards in the user's care, with their attendees."""
    in_care = people_in_care_query(user).with_only_columns(User.id)
    attended = select(TrainingAttendance.session_id).where(TrainingAttendance.user_id.in_(in_care))
    return list(
        db.session.scalars(
            select(TrainingSession)
            .options(selectinload(TrainingSession.attendees), joinedload(TrainingSession.evidence))
            .where(TrainingSession.id.in_(attended))
            .order_by(TrainingSession.held_on.desc())
            .limit(limit)
        )
    )


def own_training_sessions(user) -> list[TrainingSession]:
    """The sessions the user attended, newest first, with their evidence (one statement)."""
    attended = select(TrainingAttendance.session_id).where(TrainingAttendance.user_id == user.id)
    return list(
        db.session.scalars(
            select(TrainingSession)
            .options(joinedload(TrainingSession.evidence))
            .where(TrainingSession.id.in_(attended))
            .order_by(TrainingSession.held_on.desc(), TrainingSession.id.desc())
        )
    )


def people_in_care_query(user) -> Select:
    """Guards a supervisor looks after (those of his sites); every guard for a manager."""
    stmt = (
        select(User)
        .where(policy.guards_clause(User), User.is_active.is_(True))
        .order_by(User.display_name)
    )
    if not policy.sees_all_sites(user):
        mine = select(SiteAssignment.site_id).where(SiteAssignment.user_id == user.id)
        stmt = stmt.where(
            User.id.in_(select(SiteAssignment.user_id).where(SiteAssignment.site_id.in_(mine)))
        )
    return stmt


def people_in_care(user) -> list[User]:
    """Guards a supervisor looks after (those of his sites); every guard for a manager."""
    return list(db.session.scalars(people_in_care_query(user)))


def briefable_people(user) -> list[User]:
    """People a briefing can be addressed to by name: a supervisor's guards; for a manager,
    every guard and supervisor."""
    if not policy.sees_all_sites(user):
        return people_in_care(user)
    return list(
        db.session.scalars(
            select(User)
            .where(User.is_active.is_(True), policy.briefable_by_name_clause(User))
            .order_by(User.display_name)
        )
    )


def site_training_current(site, *, today: date) -> bool | None:
    """Are all the site's guards current in first aid and fire safety? None without guards.

    One statement: each guard's latest session per topic, compared with its validity.
    """
    validity = validity_days()
    topics = ("first_aid", "fire_safety")
    guards = select(User.id).where(
        policy.guards_clause(User),
        User.is_active.is_(True),
        User.id.in_(select(SiteAssignment.user_id).where(SiteAssignment.site_id == site.id)),
    )
    latest = db.session.execute(
        select(TrainingAttendance.user_id, TrainingSession.topic, func.max(TrainingSession.held_on))
        .join(TrainingSession, TrainingSession.id == TrainingAttendance.session_id)
        .where(TrainingAttendance.user_id.in_(guards), TrainingSession.topic.in_(topics))
        .group_by(TrainingAttendance.user_id, TrainingSession.topic)
    ).all()
    guard_ids = set(db.session.scalars(guards))
    if not guard_ids:
        return None
    held = {(user_id, topic): held_on for user_id, topic, held_on in latest}
    return all(
        (g, t) in held and add_days(held[(g, t)], validity[t]) >= today
        for g in guard_ids
        for t in topics
    )

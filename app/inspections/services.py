"""Checklist versions, answering, scoring, submission and amendments. Flush, never commit."""

from __future__ import annotations

import base64
import binascii
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import ClassVar

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, func, literal, or_, select, update
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from app import audit
from app.db import UTCDateTime, utcnow
from app.errors import DomainError
from app.extensions import db
from app.i18n import TAIPEI
from app.inspections.models import (
    SCORED_KINDS,
    Amendment,
    Answer,
    AnswerPhoto,
    ChecklistItem,
    ChecklistTemplate,
    Inspection,
)
from app.pagination import Page, paginate
from app.photos import services as photos
from app.sites import services as site_services
from app.sites.models import CheckIn, Equipment, Site

ITEM_FIELDS = (
    "indicator",
    "knowledge",
    "text_zh",
    "text_en",
    "kind",
    "min_value",
    "max_value",
    "input_min",
    "input_max",
    "unit",
    "choices",
    "is_required",
    "note_on_fail",
    "photo_on_fail",
    "weight",
    "equipment_kind",
    "system_type",
    "hint_source",
)
#: A check-in this recent at the site is linked to the inspection started after it.
CHECK_IN_WINDOW = timedelta(hours=12)
MAX_SIGNATURE_BYTES = 300_000
#: The widest a number item's input limits may be (and the limits of an item that has none).
NUMBER_LIMIT = 1_000_000.0


class InspectionError(DomainError):
    """A refused action; `params` fill the message's placeholders (bad_number's range)."""

    messages: ClassVar = {
        "already_submitted": _l("This inspection has been submitted; it can only be amended."),
        "wrong_item": _l("This item does not belong to this inspection."),
        "bad_value": _l("That answer is not one of the choices."),
        "bad_number": _l("Enter a number between %(low)s and %(high)s."),
        "uuid_conflict": _l("This inspection belongs to another site or person."),
        "no_template": _l("There is no active checklist. Ask an administrator."),
        "incomplete": _l("Some items still need an answer, a note or a photo."),
        "signature_required": _l("Sign with your finger and type your name to submit."),
        "not_submitted": _l("Only a submitted inspection can be amended."),
        "reason_required": _l("Give the reason for the correction."),
        "old_version": _l(
            "This is an earlier version, kept as it was run. Edit the current version."
        ),
        "note_required": _l("A failure needs a note: say what is wrong."),
    }

    def __init__(self, key: str, *, field: str | None = None, keep_record: bool = False, **params):
        super().__init__(key, field=field, keep_record=keep_record)
        self.params = params

    @property
    def message(self) -> str:
        text = super().message
        return text % self.params if self.params else text


# ---------------------------------------------------------------- scoring


def evaluate(item: ChecklistItem, value: str) -> bool | None:
    """Whether an answer passes: True, False, or None when it does not count (n.a., text)."""
    value = (value or "").strip()
    if item.kind in ("pass_fail", "pass_fail_na"):
        return {"pass": True, "fail": False}.get(value)
    if item.kind == "number":
        number = parse_number(value)
        if number is None:
            return None
        if item.min_value is not None and number < item.min_value:
            return False
        return not (item.max_value is not None and number > item.max_value)
    return None


def parse_number(value: str) -> float | None:
    try:
        number = float(value.replace(",", "."))
    except (AttributeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def input_limits(item: ChecklistItem) -> tuple[float, float]:
    """The readings a number item takes at all: its input limits, within ±NUMBER_LIMIT."""
    low = item.input_min if item.input_min is not None else -NUMBER_LIMIT
    high = item.input_max if item.input_max is not None else NUMBER_LIMIT
    return max(low, -NUMBER_LIMIT), min(high, NUMBER_LIMIT)


def format_number(number: float, unit: str = "") -> str:
    """1000000, 10.5, 0 — plain digits (not 1e+06), with the unit if any."""
    text = f"{number:.10g}"
    return f"{text} {unit}" if unit else text


def check_value(item: ChecklistItem, value: str) -> None:
    """Refuse an answer the item cannot take: a number outside its input limits (or not a
    finite number at all) says which numbers it takes; anything else is not among the options."""
    if item.kind == "number":
        number = parse_number((value or "").strip())
        low, high = input_limits(item)
        if number is None or not low <= number <= high:
            raise InspectionError(
                "bad_number", low=format_number(low, item.unit), high=format_number(high, item.unit)
            )
    elif not valid_value(item, value):
        raise InspectionError("bad_value")


def valid_value(item: ChecklistItem, value: str) -> bool:
    value = (value or "").strip()
    if item.kind == "pass_fail":
        return value in ("pass", "fail")
    if item.kind == "pass_fail_na":
        return value in ("pass", "fail", "na")
    if item.kind == "number":
        number = parse_number(value)
        low, high = input_limits(item)
        return number is not None and low <= number <= high
    if item.kind == "choice":
        return value in {v for v, _label in item.choice_options("zh")}
    return len(value) <= 2000


def score(answers: list[Answer]) -> tuple[float | None, int]:
    """(weighted share of passes in %, number of failures); n.a. and unscored kinds excluded."""
    total = passed = 0.0
    failed = 0
    for answer in answers:
        if answer.item.kind not in SCORED_KINDS or answer.is_pass is None:
            continue
        total += answer.item.weight
        if answer.is_pass:
            passed += answer.item.weight
        else:
            failed += 1
    return (round(100 * passed / total, 1) if total else None), failed


# ---------------------------------------------------------------- templates


def active_template(key: str = "default") -> ChecklistTemplate | None:
    return db.session.scalar(
        select(ChecklistTemplate).where(
            ChecklistTemplate.key == key, ChecklistTemplate.is_active.is_(True)
        )
    )


def list_templates() -> list[ChecklistTemplate]:
    return list(
        db.session.scalars(
            select(ChecklistTemplate).order_by(
                ChecklistTemplate.key, ChecklistTemplate.version.desc()
            )
        )
    )


def template_in_use(template: ChecklistTemplate) -> bool:
    return bool(
        db.session.scalar(
            select(func.count(Inspection.id)).where(Inspection.template_id == template.id)
        )
    )


def editable_version(
    template: ChecklistTemplate, *, actor
) -> tuple[ChecklistTemplate, dict[int, ChecklistItem]]:
    """The version to edit: the template itself, or — once inspections used it — a new version.

    Returns it with a map from the given template's item ids to the editable items.
    Earlier versions are kept as they were run: they are not edited.
    """
    if not template.is_active:
        raise InspectionError("old_version")
    if not template_in_use(template):
        return template, {item.id: item for item in template.items}
    latest = db.session.scalar(
        select(func.max(ChecklistTemplate.version)).where(ChecklistTemplate.key == template.key)
    )
    clone = ChecklistTemplate(
        key=template.key,
        version=latest + 1,
        name_zh=template.name_zh,
        name_en=template.name_en,
        is_active=template.is_active,
    )
    mapping = {}
    for item in template.items:
        copy = ChecklistItem(position=item.position, is_retired=item.is_retired)
        for field in ITEM_FIELDS:
            setattr(copy, field, getattr(item, field))
        clone.items.append(copy)
        mapping[item.id] = copy
    if template.is_active:
        template.is_active = False
        db.session.flush()  # one active version per key at any time
    db.session.add(clone)
    db.session.flush()
    audit.record(
        "checklist.versioned",
        actor=actor,
        target=f"checklist:{clone.id}",
        detail={"key": clone.key, "from": template.version, "to": clone.version},
    )
    return clone, mapping


def save_item(
    template: ChecklistTemplate, item_id: int | None, *, actor, **values
) -> ChecklistItem:
    """Add an item (item_id None) or change one; a used template gets a new version first."""
    values = {k: v for k, v in values.items() if k in ITEM_FIELDS}
    target, mapping = editable_version(template, actor=actor)
    if item_id is None:
        position = max((i.position for i in target.items), default=0) + 1
        item = ChecklistItem(position=position, **values)
        target.items.append(item)
    else:
        item = mapping[item_id]
        for key, value in values.items():
            setattr(item, key, value)
    db.session.flush()
    audit.record(
        "checklist.item_saved",
        actor=actor,
        target=f"checklist:{target.id}",
        detail={"item": item.id, "created": item_id is None},
    )
    return item


def move_item(
    template: ChecklistTemplate, item_id: int, *, actor, offset: int
) -> ChecklistTemplate:
    """Move an item up (-1) or down (+1) among the template's items."""
    target, mapping = editable_version(template, actor=actor)
    items = sorted(target.items, key=lambda i: i.position)
    index = items.index(mapping[item_id])
    other = index + offset
    if 0 <= other < len(items):
        items[index], items[other] = items[other], items[index]
        for position, item in enumerate(items, start=1):
            item.position = position
    db.session.flush()
    audit.record("checklist.item_moved", actor=actor, target=f"checklist:{target.id}")
    return target


def set_item_retired(
    template: ChecklistTemplate, item_id: int, *, actor, retired: bool
) -> ChecklistTemplate:
    """Retire an item (new inspections skip it) or bring it back."""
    target, mapping = editable_version(template, actor=actor)
    mapping[item_id].is_retired = retired
    db.session.flush()
    audit.record(
        "checklist.item_retired" if retired else "checklist.item_restored",
        actor=actor,
        target=f"checklist:{target.id}",
    )
    return target


# ---------------------------------------------------------------- running an inspection


def start_inspection(site: Site, *, user, uuid: str) -> Inspection:
    """Open a draft inspection (the same uuid again returns it) with the active checklist."""
    existing = db.session.scalar(select(Inspection).where(Inspection.uuid == uuid))
    if existing is not None:
        if existing.site_id != site.id or existing.inspector_id != user.id:
            raise InspectionError("uuid_conflict")
        return existing
    template = active_template()
    if template is None:
        raise InspectionError("no_template")
    check_in = db.session.scalar(
        select(CheckIn)
        .where(
            CheckIn.site_id == site.id,
            CheckIn.user_id == user.id,
            CheckIn.received_at >= utcnow() - CHECK_IN_WINDOW,
        )
        .order_by(CheckIn.received_at.desc())
        .limit(1)
    )
    inspection = Inspection(
        uuid=uuid,
        site_id=site.id,
        template_id=template.id,
        inspector_id=user.id,
        check_in_id=check_in.id if check_in else None,
        started_at=utcnow(),
    )
    db.session.add(inspection)
    db.session.flush()
    audit.record("inspection.started", actor=user, target=f"inspection:{inspection.id}")
    return inspection


def open_draft(site: Site, user) -> Inspection | None:
    """The user's unfinished inspection of this site, to continue where it stopped."""
    return db.session.scalar(
        select(Inspection)
        .where(
            Inspection.site_id == site.id,
            Inspection.inspector_id == user.id,
            Inspection.status == "draft",
        )
        .order_by(Inspection.started_at.desc())
        .limit(1)
    )


def answers_by_item(inspection: Inspection) -> dict[int, Answer]:
    return {answer.item_id: answer for answer in inspection.answers}


def record_answer(
    inspection: Inspection,
    item: ChecklistItem,
    *,
    user,
    value: str | None,
    note: str | None,
    equipment_id: int | None = None,
    device_time: datetime | None = None,
) -> Answer:
    """Save one answer (again and again: the last one given wins). Only a draft takes answers.

    `device_time`: when the phone gave it (None: now, an answer given online). A value given
    before the value saved (it arrived late from an outbox) changes nothing, nor its note or
    unit: see `is_superseded`. Only a value moves that mark: a note sent alone (with a photo)
    never makes an earlier value that arrives after it lost, else the item would stay
    unanswered once the outbox dropped it.
    """
    if not inspection.is_draft:
        raise InspectionError("already_submitted")
    if item.template_id != inspection.template_id:
        raise InspectionError("wrong_item")
    answer = answers_by_item(inspection).get(item.id)
    given_at = device_time or utcnow()
    if value is not None and is_superseded(answer, given_at):
        return answer
    if answer is None:
        answer = Answer(inspection_id=inspection.id, item_id=item.id, value="")
        answer.item = item
        db.session.add(answer)
        inspection.answers.append(answer)
    if value is not None:
        value = value.strip()
        check_value(item, value)
        answer.value = value
        answer.is_pass = evaluate(item, value)
        answer.answered_at_device = given_at
    if note is not None:
        answer.note = note.strip()[:2000]
    if equipment_id is not None:
        unit = db.session.get(Equipment, equipment_id) if equipment_id else None
        answer.equipment_id = (
            unit.id if unit is not None and unit.site_id == inspection.site_id else None
        )
    answer.answered_at = utcnow()
    db.session.flush()
    return answer


def is_superseded(answer: Answer | None, given_at: datetime) -> bool:
    """Whether an answer given at `given_at` is older than the one saved (kept as it is)."""
    return (
        answer is not None
        and answer.answered_at_device is not None
        and given_at < answer.answered_at_device
    )


def attach_photo(
    inspection: Inspection, item: ChecklistItem, *, user, data: bytes, uuid: str | None
) -> Answer:
    """Store a photo of a fault and attach it to the item's answer."""
    if not inspection.is_draft:
        raise InspectionError("already_submitted")
    answer = answers_by_item(inspection).get(item.id) or record_answer(
        inspection, item, user=user, value=None, note=None
    )
    photo = photos.store_photo(data, owner=user, site_id=inspection.site_id, uuid=uuid)
    linked = db.session.scalar(select(AnswerPhoto).where(AnswerPhoto.photo_id == photo.id))
    if linked is not None:
        if linked.answer_id != answer.id:
            raise photos.PhotoError("conflict")
        return answer  # the same upload retried
    answer.photos.append(AnswerPhoto(photo_id=photo.id))
    db.session.flush()
    return answer


def applicable_items(inspection: Inspection) -> list[ChecklistItem]:
    """The live items the site answers: an item for a system the site does not have is not
    applicable by itself (not asked, not scored)."""
    return [item for item in inspection.template.live_items if item.applies_to(inspection.site)]


def scored_answers(inspection: Inspection) -> list[Answer]:
    """The answers that count: those of applicable items (an answer kept for an item that is
    not applicable, e.g. sent from a phone before the site's systems changed, does not)."""
    applicable = {item.id for item in applicable_items(inspection)}
    return [a for a in inspection.answers if a.item_id in applicable]


@dataclass
class Missing:
    item: ChecklistItem
    problem: str  # "unanswered", "note", "photo"


def missing_for_submit(inspection: Inspection) -> list[Missing]:
    """What stops submission: required items unanswered, failures without note or photo."""
    answers = answers_by_item(inspection)
    missing = []
    for item in applicable_items(inspection):
        answer = answers.get(item.id)
        if answer is None or answer.value == "":
            if item.is_required:
                missing.append(Missing(item, "unanswered"))
            continue
        if answer.is_pass is False:
            if item.note_on_fail and not answer.note:
                missing.append(Missing(item, "note"))
            if item.photo_on_fail and not answer.photos:
                missing.append(Missing(item, "photo"))
    return missing


def decode_signature(data_url: str) -> bytes | None:
    """The PNG bytes of a canvas signature sent as a data: URL, or None."""
    prefix = "data:image/png;base64,"
    if not data_url or not data_url.startswith(prefix) or len(data_url) > MAX_SIGNATURE_BYTES * 2:
        return None
    try:
        return base64.b64decode(data_url[len(prefix) :], validate=True)
    except (binascii.Error, ValueError):
        return None


def submit(
    inspection: Inspection,
    *,
    user,
    signer_name: str,
    signature_png: bytes | None,
    contact_name: str = "",
    contact_signature_png: bytes | None = None,
) -> Inspection:
    """Sign and submit: computes the score and freezes the inspection. Twice is once."""
    if not inspection.is_draft:
        return inspection
    if missing_for_submit(inspection):
        raise InspectionError("incomplete")
    if not signer_name.strip() or not signature_png:
        raise InspectionError("signature_required")
    # Claim the draft in one conditional write: of two taps racing, only one submits.
    now = utcnow()
    claimed = db.session.execute(
        update(Inspection)
        .where(Inspection.id == inspection.id, Inspection.status == "draft")
        .values(status="submitted", submitted_at=now),
        execution_options={"synchronize_session": False},
    ).rowcount
    if not claimed:
        db.session.refresh(inspection)
        return inspection
    signature = photos.store_photo(
        signature_png, owner=user, site_id=inspection.site_id, kind="signature"
    )
    inspection.signature_photo_id = signature.id
    inspection.signer_name = signer_name.strip()[:120]
    if contact_name.strip() and contact_signature_png:
        contact = photos.store_photo(
            contact_signature_png, owner=user, site_id=inspection.site_id, kind="signature"
        )
        inspection.contact_signature_photo_id = contact.id
        inspection.contact_name = contact_name.strip()[:120]
    inspection.score, inspection.failed_count = score(scored_answers(inspection))
    inspection.status = "submitted"
    inspection.submitted_at = now
    db.session.flush()
    audit.record(
        "inspection.submitted",
        actor=user,
        target=f"inspection:{inspection.id}",
        detail={"score": inspection.score, "failed": inspection.failed_count},
    )
    return inspection


def amend(
    inspection: Inspection, item: ChecklistItem, *, user, value: str, note: str, reason: str
) -> Amendment:
    """Correct one answer of a submitted inspection; the reason and the old answer are kept."""
    if inspection.is_draft:
        raise InspectionError("not_submitted")
    if not reason.strip():
        raise InspectionError("reason_required")
    if item.template_id != inspection.template_id:
        raise InspectionError("bad_value")
    check_value(item, value)
    if evaluate(item, value) is False and item.note_on_fail and not note.strip():
        raise InspectionError("note_required")
    answer = answers_by_item(inspection).get(item.id)
    if answer is None:
        answer = Answer(inspection_id=inspection.id, item_id=item.id, value="")
        answer.item = item
        db.session.add(answer)
        inspection.answers.append(answer)
    amendment = Amendment(
        inspection_id=inspection.id,
        item_id=item.id,
        old_value=answer.value,
        new_value=value.strip(),
        old_note=answer.note,
        new_note=note.strip(),
        reason=reason.strip()[:2000],
        amended_by_id=user.id,
        amended_at=utcnow(),
    )
    answer.value = value.strip()
    answer.is_pass = evaluate(item, answer.value)
    answer.note = note.strip()[:2000]
    db.session.add(amendment)
    inspection.score, inspection.failed_count = score(scored_answers(inspection))
    inspection.status = "amended"
    db.session.flush()
    audit.record(
        "inspection.amended",
        actor=user,
        target=f"inspection:{inspection.id}",
        detail={"item": item.id, "amendment": amendment.id},
    )
    return amendment


# ---------------------------------------------------------------- reading them


def inspections_query(user) -> Select:
    """Inspections the user may read: managers all; supervisors their sites' (an unassigned
    inspector loses his too, as can_view_inspection says)."""
    return site_services.scope_to_sites(select(Inspection), Inspection.site_id, user)


def list_inspections(
    user,
    *,
    site_id: int | None = None,
    inspector_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    max_score: float | None = None,
    with_failures: bool = False,
    failed_item_id: int | None = None,
    include_drafts: bool = False,
    page: int = 1,
    per_page: int = 25,
) -> Page:
    stmt = inspections_query(user)
    if not include_drafts:
        stmt = stmt.where(Inspection.status != "draft")
    if site_id:
        stmt = stmt.where(Inspection.site_id == site_id)
    if inspector_id:
        stmt = stmt.where(Inspection.inspector_id == inspector_id)
    if since:
        stmt = stmt.where(Inspection.submitted_at >= since)
    if until:
        stmt = stmt.where(Inspection.submitted_at < until)
    if max_score is not None:
        stmt = stmt.where(Inspection.score <= max_score)
    if with_failures:
        stmt = stmt.where(Inspection.failed_count > 0)
    if failed_item_id:
        # The dashboard's most failed items link here: the inspections that failed this item.
        failed = select(Answer.inspection_id).where(
            Answer.item_id == failed_item_id, Answer.is_pass.is_(False)
        )
        stmt = stmt.where(Inspection.id.in_(failed))
    order = Inspection.submitted_at.desc() if not include_drafts else Inspection.started_at.desc()
    return paginate(stmt.order_by(order, Inspection.id.desc()), page=page, per_page=per_page)


def inspectors(user) -> list:
    """People who have inspections the user may read, for the list's filter."""
    from app.auth.models import User

    ids = inspections_query(user).with_only_columns(Inspection.inspector_id).distinct()
    return list(
        db.session.scalars(select(User).where(User.id.in_(ids)).order_by(User.display_name))
    )


def last_inspection(site: Site) -> Inspection | None:
    return db.session.scalar(
        select(Inspection)
        .where(Inspection.site_id == site.id, Inspection.status != "draft")
        .order_by(Inspection.submitted_at.desc())
        .limit(1)
    )


@dataclass
class Due:
    site: Site
    last_submitted_at: datetime | None
    due_on: date | None  # None: never inspected


class _hours_before(FunctionElement):
    """SQL for `instant` minus `hours` hours, an instant again (stored as UTC on both databases)."""

    type = UTCDateTime()
    inherit_cache = True
    name = "hours_before"


@compiles(_hours_before)
def _hours_before_default(element, compiler, **kw):
    # PostgreSQL's form; hours, not days, so a session time zone with daylight saving
    # cannot shift it.
    instant, hours = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"({instant} - make_interval(hours => {hours}))"


@compiles(_hours_before, "sqlite")
def _hours_before_sqlite(element, compiler, **kw):
    # SQLite keeps "YYYY-MM-DD HH:MM:SS.ffffff" in UTC; datetime() answers the same form
    # without the fraction, which still compares in order (the cut-off is a whole second).
    instant, hours = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"datetime({instant}, '-' || ({hours}) || ' hours')"


def inspections_due(user, *, today: date) -> list[Due]:
    """The user's sites not inspected within their interval, most overdue first.

    One query: each visible site's last submission comes from the (site_id, submitted_at)
    index (drafts have no submitted_at), and only the sites that are due come back. A site
    is due when its last inspection's Taiwan day plus the interval is today or earlier, that
    is, when it was submitted before the start of tomorrow in Taipei less the interval
    (Taiwan keeps no daylight saving, so a day is always 24 hours).
    """
    last = (
        select(func.max(Inspection.submitted_at))
        .where(Inspection.site_id == Site.id)
        .correlate(Site)
        .scalar_subquery()
    )
    tomorrow = datetime.combine(today + timedelta(days=1), time(), tzinfo=TAIPEI).astimezone(UTC)
    cutoff = _hours_before(
        literal(tomorrow, UTCDateTime()), Site.inspection_interval_days * literal(24)
    )
    rows = db.session.execute(
        site_services.visible_sites_query(user)
        .add_columns(last.label("last"))
        .where(or_(last.is_(None), last < cutoff))
        .order_by(Site.code)
    ).all()
    due = []
    for site, last_at in rows:
        if last_at is None:
            due.append(Due(site, None, None))
            continue
        # Days are Taiwan's days: an inspection at 07:30 Taipei is still that day's.
        due_on = (last_at.astimezone(TAIPEI) + timedelta(days=site.inspection_interval_days)).date()
        due.append(Due(site, last_at, due_on))
    due.sort(key=lambda d: (d.due_on is not None, d.due_on or date.min))
    return due

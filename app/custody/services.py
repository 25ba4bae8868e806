"""Key custody: register bags, take keys out, put them back, check seals. Flush, never commit.

A bag's status changes only through a conditional UPDATE (`... WHERE status = 'in'`), so two
phones taking the same bag at the same moment cannot both succeed: the database lets one
UPDATE match and the other finds the bag already out (on PostgreSQL the second waits for the
first's row lock and then re-reads the row; SQLite has one writer at a time).

Every take-out, return and seal check writes a vault access row (action "custody") in the same
transaction: keys open a client's premises, so their use is confidential access (issue 12).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ClassVar

from flask import current_app, has_app_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased, joinedload

from app import audit
from app.custody.models import KeyBag, KeyMovement
from app.db import utcnow
from app.errors import DomainError
from app.extensions import db
from app.notifications import services as notifications
from app.sites.models import Site
from app.uow import begin_before_savepoint
from app.vault.access import log_access
from app.vault.models import PURPOSES

#: Hours a take-out may last unless the taker chooses otherwise (config KEY_CUSTODY_DUE_HOURS).
DEFAULT_DUE_HOURS = 4
#: The longest take-out one may choose, in hours.
MAX_DUE_HOURS = 72

# The bell's message for an overdue key: registered with the notifications hub (which knows
# nothing of custody), in the reader's language.
notifications.MESSAGES.setdefault("key_overdue", _l("Key bag not returned on time: %(subject)s"))


class CustodyError(DomainError):
    messages: ClassVar = {
        "number_required": _l("Enter the bag number."),
        "duplicate_number": _l("This site already has a bag with this number."),
        "contents_required": _l("Say what is in the bag."),
        "seal_required": _l("Enter the seal number."),
        "already_out": _l("This bag is already out: someone took it a moment ago."),
        "not_out": _l("This bag is not out, so it cannot be returned."),
        "not_in": _l("This bag is not in the safe."),
        "purpose_required": _l("Choose a purpose."),
        "purpose_text_required": _l("Describe the purpose."),
        "bad_due": _l("Choose a return time between 1 and 72 hours."),
        "bad_status": _l("A bag that is out cannot be handed back to the client."),
        "uuid_reused": _l("This form was already used for something else. Reload the page."),
        "not_draft": _l("This inspection is already submitted."),
        "choose_seal": _l("Choose whether the seal is intact."),
    }


def due_hours() -> int:
    """The default length of a take-out, in hours."""
    if has_app_context():
        return int(current_app.config.get("KEY_CUSTODY_DUE_HOURS", DEFAULT_DUE_HOURS))
    return DEFAULT_DUE_HOURS


def _clean(text: str | None, limit: int) -> str:
    return (text or "").strip()[:limit]


# ---------------------------------------------------------------- bags


def _check_number_free(site_id: int, number: str, *, except_id: int | None = None) -> None:
    clash = select(KeyBag.id).where(KeyBag.site_id == site_id, KeyBag.bag_number == number)
    if except_id is not None:
        clash = clash.where(KeyBag.id != except_id)
    if db.session.scalar(clash) is not None:
        raise CustodyError("duplicate_number", field="bag_number")


def _flush_unique() -> None:
    """Flush; a concurrent bag with the same number (the unique constraint) is a refusal."""
    begin_before_savepoint()
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as exc:
        raise CustodyError("duplicate_number", field="bag_number") from exc


def create_bag(
    site: Site, *, user, bag_number: str, contents: str, stored_at: str, seal_number: str
) -> KeyBag:
    """Register a bag a client deposited at the site, sealed with `seal_number`."""
    number = _clean(bag_number, 40)
    if not number:
        raise CustodyError("number_required", field="bag_number")
    if not _clean(contents, 500):
        raise CustodyError("contents_required", field="contents")
    if not _clean(seal_number, 60):
        raise CustodyError("seal_required", field="seal_number")
    _check_number_free(site.id, number)
    bag = KeyBag(
        site_id=site.id,
        bag_number=number,
        contents=_clean(contents, 500),
        stored_at=_clean(stored_at, 200),
        seal_number=_clean(seal_number, 60),
        status="in",
        created_by_id=user.id,
    )
    db.session.add(bag)
    _flush_unique()
    audit.record(
        "custody.bag_create",
        actor=user,
        target=f"key_bag:{bag.uuid}",
        detail={"site_id": site.id, "bag_number": number},
    )
    log_access(user, "create", site_id=site.id, purpose_text=f"key bag {number}")
    return bag


def update_bag(
    bag: KeyBag, *, user, bag_number: str, contents: str, stored_at: str, status: str
) -> KeyBag:
    """Change a bag's number, contents or place; or mark it handed back to the client (or
    back in the safe). The seal number changes only by a return or a seal check."""
    number = _clean(bag_number, 40)
    if not number:
        raise CustodyError("number_required", field="bag_number")
    if not _clean(contents, 500):
        raise CustodyError("contents_required", field="contents")
    if status not in ("in", "returned_to_client"):
        raise CustodyError("bad_status", field="status")
    if bag.is_out:
        # The form offers "in" for a bag that is out: its details change, its state stays.
        if status == "returned_to_client":
            raise CustodyError("bad_status", field="status")
        status = bag.status
    _check_number_free(bag.site_id, number, except_id=bag.id)
    if status != bag.status:
        # Conditional, like a take-out: a bag taken out meanwhile is not handed over.
        changed = db.session.execute(
            update(KeyBag)
            .where(KeyBag.id == bag.id, KeyBag.status == bag.status, KeyBag.status != "out")
            .values(status=status),
            execution_options={"synchronize_session": False},
        ).rowcount
        if changed != 1:
            raise CustodyError("bad_status", field="status")
        db.session.expire(bag, ["status"])
    before = {"bag_number": bag.bag_number, "stored_at": bag.stored_at}
    bag.bag_number = number
    bag.contents = _clean(contents, 500)
    bag.stored_at = _clean(stored_at, 200)
    bag.updated_at = utcnow()
    _flush_unique()
    audit.record(
        "custody.bag_change",
        actor=user,
        target=f"key_bag:{bag.uuid}",
        detail={"before": before, "bag_number": number, "status": status},
    )
    log_access(user, "change", site_id=bag.site_id, purpose_text=f"key bag {number}")
    return bag


# ---------------------------------------------------------------- movements


def _replayed(uuid: str | None, bag: KeyBag, kind: str) -> KeyMovement | None:
    """The movement this form already made (the same submission again), if any."""
    if not uuid:
        return None
    seen = db.session.scalar(select(KeyMovement).where(KeyMovement.uuid == uuid))
    if seen is None:
        return None
    if seen.bag_id != bag.id or seen.kind != kind:
        raise CustodyError("uuid_reused")
    return seen


def _set_status(bag: KeyBag, *, was: str, to: str, **values) -> bool:
    """The one place a bag changes state: only if it is still `was` (see the module doc)."""
    result = db.session.execute(
        update(KeyBag)
        .where(KeyBag.id == bag.id, KeyBag.status == was)
        .values(status=to, updated_at=utcnow(), **values),
        execution_options={"synchronize_session": False},
    )
    db.session.expire(bag)
    return result.rowcount == 1


def take_out(
    bag: KeyBag,
    *,
    user,
    uuid: str | None,
    purpose: str,
    purpose_text: str = "",
    hours: int | None = None,
    note: str = "",
    now: datetime | None = None,
) -> KeyMovement:
    """Take a bag out of the safe for `purpose`, due back in `hours` (default: due_hours())."""
    now = now or utcnow()
    replay = _replayed(uuid, bag, "out")
    if replay is not None:
        return replay
    if purpose not in PURPOSES:
        raise CustodyError("purpose_required", field="purpose")
    purpose_text = _clean(purpose_text, 500)
    if purpose == "other" and not purpose_text:
        raise CustodyError("purpose_text_required", field="purpose_text")
    hours = due_hours() if hours is None else hours
    if not 1 <= hours <= MAX_DUE_HOURS:
        raise CustodyError("bad_due", field="hours")
    seal = bag.seal_number
    if not _set_status(bag, was="in", to="out"):
        raise CustodyError("already_out" if bag.status == "out" else "not_in")
    movement = KeyMovement(
        bag_id=bag.id,
        kind="out",
        user_id=user.id,
        at=now,
        purpose=purpose,
        purpose_text=purpose_text,
        due_back_at=now + timedelta(hours=hours),
        seal_number_before=seal,
        note=_clean(note, 2000),
        **({"uuid": uuid} if uuid else {}),
    )
    db.session.add(movement)
    db.session.flush()
    log_access(user, "custody", site_id=bag.site_id, purpose=purpose, purpose_text=purpose_text)
    return movement


def open_take_out(bag: KeyBag) -> KeyMovement | None:
    """The take-out a bag that is out is out on."""
    return db.session.scalar(
        select(KeyMovement)
        .where(
            KeyMovement.bag_id == bag.id,
            KeyMovement.kind == "out",
            KeyMovement.closed_at.is_(None),
        )
        .order_by(KeyMovement.at.desc(), KeyMovement.id.desc())
        .limit(1)
    )


def put_back(
    bag: KeyBag,
    *,
    user,
    uuid: str | None,
    seal_number: str,
    note: str = "",
    now: datetime | None = None,
) -> KeyMovement:
    """Return a bag that is out, resealed with `seal_number` (flagged when it changed)."""
    now = now or utcnow()
    replay = _replayed(uuid, bag, "return")
    if replay is not None:
        return replay
    seal = _clean(seal_number, 60)
    if not seal:
        raise CustodyError("seal_required", field="seal_number")
    before = bag.seal_number
    if not _set_status(bag, was="out", to="in", seal_number=seal):
        raise CustodyError("not_out")
    taken = open_take_out(bag)
    if taken is not None:
        taken.closed_at = now
    movement = KeyMovement(
        bag_id=bag.id,
        kind="return",
        user_id=user.id,
        at=now,
        purpose=taken.purpose if taken else "",
        purpose_text=taken.purpose_text if taken else "",
        seal_number_before=before,
        seal_number_after=seal,
        is_seal_changed=seal != before,
        note=_clean(note, 2000),
        **({"uuid": uuid} if uuid else {}),
    )
    db.session.add(movement)
    db.session.flush()
    log_access(
        user,
        "custody",
        site_id=bag.site_id,
        purpose=taken.purpose if taken else "",
        purpose_text=taken.purpose_text if taken else "",
    )
    return movement


def check_seal(
    bag: KeyBag,
    *,
    user,
    inspection,
    is_intact: bool,
    seal_number: str = "",
    note: str = "",
    now: datetime | None = None,
) -> KeyMovement:
    """During an inspection: the bag's seal is intact, or shows another number (flagged, and
    the bag's seal number becomes the one seen)."""
    now = now or utcnow()
    if not inspection.is_draft:
        raise CustodyError("not_draft")
    if bag.status != "in":
        raise CustodyError("not_in")
    before = bag.seal_number
    seen = before if is_intact else _clean(seal_number, 60)
    if not seen:
        raise CustodyError("seal_required", field="seal_number")
    changed = seen != before
    if changed and not _set_status(bag, was="in", to="in", seal_number=seen):
        raise CustodyError("not_in")
    movement = KeyMovement(
        bag_id=bag.id,
        kind="seal_check",
        user_id=user.id,
        at=now,
        purpose="audit",
        seal_number_before=before,
        seal_number_after=seen,
        is_seal_changed=changed,
        note=_clean(note, 2000),
        inspection_id=inspection.id,
    )
    db.session.add(movement)
    db.session.flush()
    log_access(
        user,
        "custody",
        site_id=bag.site_id,
        purpose="audit",
        purpose_text=f"seal check, inspection {inspection.uuid}",
    )
    return movement


# ---------------------------------------------------------------- reading


@dataclass(frozen=True)
class BagRow:
    bag: KeyBag
    #: The take-out it is out on (None when in).
    out: KeyMovement | None

    def is_overdue(self, now: datetime) -> bool:
        return self.out is not None and self.out.is_overdue(now)


def site_bags(site_id: int) -> list[BagRow]:
    """A site's bags by number, each with its open take-out and its taker (two queries)."""
    Out = aliased(KeyMovement)
    rows = db.session.execute(
        select(KeyBag, Out)
        .outerjoin(Out, and_(Out.bag_id == KeyBag.id, Out.kind == "out", Out.closed_at.is_(None)))
        .options(joinedload(Out.user))
        .where(KeyBag.site_id == site_id)
        .order_by(KeyBag.status == "returned_to_client", KeyBag.bag_number, Out.at.desc())
    ).all()
    seen: dict[int, BagRow] = {}
    for bag, out in rows:
        seen.setdefault(bag.id, BagRow(bag, out))
    return list(seen.values())


def bag_history(bag: KeyBag) -> list[KeyMovement]:
    """Every movement of a bag, newest first, with who made it."""
    return list(
        db.session.scalars(
            select(KeyMovement)
            .options(joinedload(KeyMovement.user))
            .where(KeyMovement.bag_id == bag.id)
            .order_by(KeyMovement.at.desc(), KeyMovement.id.desc())
        )
    )


@dataclass(frozen=True)
class Summary:
    bags: int
    out: int
    overdue: int


def site_summary(site_id: int, now: datetime) -> Summary:
    """How many bags the site keeps, how many are out, how many of those are overdue."""
    bags = db.session.scalar(
        select(func.count(KeyBag.id)).where(
            KeyBag.site_id == site_id, KeyBag.status != "returned_to_client"
        )
    )
    out, overdue = db.session.execute(
        select(
            func.count(KeyMovement.id),
            func.count(KeyMovement.id).filter(KeyMovement.due_back_at < now),
        )
        .join(KeyBag, KeyBag.id == KeyMovement.bag_id)
        .where(
            KeyBag.site_id == site_id,
            KeyMovement.kind == "out",
            KeyMovement.closed_at.is_(None),
        )
    ).one()
    return Summary(bags=bags or 0, out=out or 0, overdue=overdue or 0)


def seal_checks(inspection_id: int) -> dict[int, KeyMovement]:
    """The latest seal check of each bag made during an inspection, by bag id."""
    found: dict[int, KeyMovement] = {}
    for movement in db.session.scalars(
        select(KeyMovement)
        .where(KeyMovement.inspection_id == inspection_id, KeyMovement.kind == "seal_check")
        .order_by(KeyMovement.at, KeyMovement.id)
    ):
        found[movement.bag_id] = movement
    return found


# ---------------------------------------------------------------- the overdue job


def notify_overdue_keys(now: datetime) -> int:
    """Take-outs past their due time notify the taker and the site's supervisors and managers,
    once per take-out (marked on the row, and deduplicated by the notifications too)."""
    count = 0
    overdue = db.session.scalars(
        select(KeyMovement)
        .options(joinedload(KeyMovement.bag).joinedload(KeyBag.site), joinedload(KeyMovement.user))
        .where(
            KeyMovement.kind == "out",
            KeyMovement.closed_at.is_(None),
            KeyMovement.overdue_notified_at.is_(None),
            KeyMovement.due_back_at < now,
        )
        .order_by(KeyMovement.id)
    ).all()
    for movement in overdue:
        bag = movement.bag
        people = {u.id: u for u in notifications.site_watchers(bag.site_id)}
        if movement.user.is_active:
            people.setdefault(movement.user.id, movement.user)
        count += len(
            notifications.notify(
                list(people.values()),
                kind="key_overdue",
                dedupe_key=f"custody:{movement.id}:overdue",
                subject=f"{bag.site.name} · {bag.bag_number}",
                link=f"/keys/{bag.uuid}",
            )
        )
        movement.overdue_notified_at = now
    db.session.flush()
    return count

"""The sheet's workflow: prepare (remarks) → approve (figures frozen) or return with a
comment → release to the client → the client signs for it (簽收); a correction is a new
version with a reason. Every step is audited and notified; services flush, never commit."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import ClassVar

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, func, or_, select

from app import audit
from app.auth import policy
from app.auth.models import User
from app.company.models import SETTING_ID, CompanyImage, CompanySetting
from app.db import utcnow
from app.errors import DomainError
from app.extensions import db
from app.notifications import services as notifications
from app.pagination import Page, paginate
from app.records import figures
from app.records.models import SHEET_STATUSES, ControlRecordSheet
from app.sites.models import Client, Site

notifications.MESSAGES.setdefault(
    "sheet_prepared", _l("Control-record sheet awaiting approval: %(subject)s")
)
notifications.MESSAGES.setdefault(
    "sheet_returned", _l("Control-record sheet returned to you: %(subject)s")
)
notifications.MESSAGES.setdefault(
    "sheet_approved", _l("Control-record sheet approved: %(subject)s")
)
notifications.MESSAGES.setdefault(
    "sheet_released", _l("A control-record sheet was released to you: %(subject)s")
)
notifications.MESSAGES.setdefault(
    "sheet_acknowledged", _l("The client signed for the control-record sheet: %(subject)s")
)

#: Longest remarks, return comment or correction reason.
TEXT_MAX = 4000


class SheetError(DomainError):
    messages: ClassVar = {
        "state": _l("This sheet has moved on in the meantime; reload the page."),
        "comment_required": _l("Say what should be changed before returning the sheet."),
        "reason_required": _l("Give the reason for the correction."),
        "future_month": _l("A month that has not begun has no sheet yet."),
        "no_sites": _l("This client has no active sites."),
        "too_long": _l("The text is too long."),
        "site_required": _l("Choose a site."),
    }


def _text(value: str, field: str) -> str:
    value = (value or "").strip()
    if len(value) > TEXT_MAX:
        raise SheetError("too_long", field=field)
    return value


def subject_of(sheet: ControlRecordSheet) -> str:
    """Who the sheet is about and which month, for notifications: "TPE-0001 2026-10"."""
    name = sheet.site.code if sheet.site_id else sheet.client.name
    return f"{name} {sheet.month:%Y-%m}"


def _target(sheet: ControlRecordSheet) -> str:
    return f"sheet:{sheet.id}"


def _detail(sheet: ControlRecordSheet, **extra) -> dict:
    return {
        "subject": sheet.subject,
        "month": sheet.month.isoformat(),
        "version": sheet.version,
        "status": sheet.status,
        **extra,
    }


def _managers() -> list[User]:
    return list(db.session.scalars(select(User).where(policy.all_sites_staff_clause(User))))


def _client_users(client_id: int) -> list[User]:
    return list(db.session.scalars(select(User).where(policy.client_users_clause(User, client_id))))


def _notify(users, sheet: ControlRecordSheet, kind: str) -> None:
    notifications.notify(
        [u for u in users if u is not None],
        kind=kind,
        dedupe_key=f"sheet:{sheet.id}:{kind}:{utcnow().isoformat()}",
        subject=subject_of(sheet),
        link=f"/records/{sheet.id}",
    )


# ---------------------------------------------------------------- reading


def sites_of(sheet: ControlRecordSheet) -> list[Site]:
    """The sites a sheet covers: its site, or every active site of its client."""
    if sheet.site_id is not None:
        return [sheet.site]
    return list(
        db.session.scalars(
            select(Site)
            .where(Site.client_id == sheet.client_id, Site.is_active.is_(True))
            .order_by(Site.code)
        )
    )


def figures_of(sheet: ControlRecordSheet) -> dict:
    """The sheet's figures: frozen at approval, else computed now from the records."""
    if sheet.snapshot:
        data = json.loads(sheet.snapshot)
    else:
        data = figures.compute(
            client=sheet.client, sites=sites_of(sheet), first=sheet.month, scope=sheet.scope
        )
    return figures.hydrate(data)


def sheet_images(sheet: ControlRecordSheet) -> tuple[CompanyImage | None, CompanyImage | None]:
    """(logo, seal) printed on the sheet: those frozen at approval, else the company's current
    logo; the seal only while the sheet stands approved (approved, released, acknowledged)."""
    if sheet.is_frozen:
        logo = sheet.logo_image
    else:
        setting = db.session.get(CompanySetting, SETTING_ID)
        logo = setting.logo_image if setting else None
    return logo, sheet.seal_image if sheet.is_sealed else None


def visible_query(user) -> Select:
    return select(ControlRecordSheet).where(policy.visible_sheets_clause(user))


@dataclass
class SheetFilter:
    month: date | None = None
    site_id: int | None = None
    status: str | None = None


def list_sheets(user, filters: SheetFilter, *, page: int, per_page: int) -> Page:
    """The sheets the user may see, newest month first (two statements and the pager's)."""
    stmt = visible_query(user)
    if filters.month:
        stmt = stmt.where(ControlRecordSheet.month == filters.month)
    if filters.site_id:
        stmt = stmt.where(ControlRecordSheet.site_id == filters.site_id)
    if filters.status in SHEET_STATUSES:
        stmt = stmt.where(ControlRecordSheet.status == filters.status)
    stmt = stmt.order_by(
        ControlRecordSheet.month.desc(),
        ControlRecordSheet.subject,
        ControlRecordSheet.version.desc(),
    )
    result = paginate(stmt, page=page, per_page=per_page)
    _load_names(result.items)
    return result


def _load_names(sheets: list[ControlRecordSheet]) -> None:
    """The sites and clients the listed sheets name, in two statements for the whole page."""
    site_ids = {s.site_id for s in sheets if s.site_id}
    client_ids = {s.client_id for s in sheets}
    if site_ids:
        db.session.scalars(select(Site).where(Site.id.in_(site_ids))).all()
    if client_ids:
        db.session.scalars(select(Client).where(Client.id.in_(client_ids))).all()


def released_sheets_for_client(client_id: int) -> list[ControlRecordSheet]:
    """The sheets released to a client (the portal's list), newest month first."""
    sheets = list(
        db.session.scalars(
            select(ControlRecordSheet)
            .where(
                ControlRecordSheet.client_id == client_id,
                ControlRecordSheet.released_at.is_not(None),
            )
            .order_by(
                ControlRecordSheet.month.desc(),
                ControlRecordSheet.subject,
                ControlRecordSheet.version.desc(),
            )
        )
    )
    _load_names(sheets)
    return sheets


def released_sheets_for_site(site: Site, *, limit: int = 24) -> list[ControlRecordSheet]:
    """The portal's list on a site's page: the sheets released for this site and the client's
    roll-ups over all its sites, newest month first (the last two years at most)."""
    return list(
        db.session.scalars(
            select(ControlRecordSheet)
            .where(
                ControlRecordSheet.client_id == site.client_id,
                ControlRecordSheet.released_at.is_not(None),
                or_(ControlRecordSheet.site_id == site.id, ControlRecordSheet.site_id.is_(None)),
            )
            .order_by(ControlRecordSheet.month.desc(), ControlRecordSheet.version.desc())
            .limit(limit)
        )
    )


def awaiting_acknowledgement_count(client_id: int) -> int:
    """Released sheets a client has not signed for yet (the portal's badge)."""
    return db.session.scalar(
        select(func.count(ControlRecordSheet.id)).where(
            ControlRecordSheet.client_id == client_id, ControlRecordSheet.status == "released"
        )
    )


def latest_version(subject: str, month: date) -> ControlRecordSheet | None:
    return db.session.scalar(
        select(ControlRecordSheet)
        .where(ControlRecordSheet.subject == subject, ControlRecordSheet.month == month)
        .order_by(ControlRecordSheet.version.desc())
        .limit(1)
    )


def record_download(sheet: ControlRecordSheet, *, user) -> None:
    """The PDF left the system: who took which version, audited."""
    audit.record("sheet.downloaded", actor=user, target=_target(sheet), detail=_detail(sheet))


# ---------------------------------------------------------------- the workflow


def prepare(
    *, user, month: date, today: date, remarks: str, site: Site | None = None, client=None
) -> ControlRecordSheet:
    """Prepare a month's sheet for a site (or a client's roll-up): the supervisor's remarks,
    sent to the managers for approval. Preparing a month that has a sheet opens that one."""
    first = month.replace(day=1)
    if first > today:
        raise SheetError("future_month", field="month")
    remarks = _text(remarks, "remarks")
    if site is not None:
        subject, client_id, scope = f"site:{site.id}", site.client_id, "site"
    else:
        subject, client_id, scope = f"client:{client.id}", client.id, "client"
        if not db.session.scalar(
            select(func.count(Site.id)).where(Site.client_id == client.id, Site.is_active)
        ):
            raise SheetError("no_sites")
    existing = latest_version(subject, first)
    if existing is not None:
        if existing.is_open and remarks:
            return save_remarks(existing, user=user, remarks=remarks)
        return existing
    sheet = ControlRecordSheet(
        scope=scope,
        subject=subject,
        site_id=site.id if site is not None else None,
        client_id=client_id,
        month=first,
        version=1,
        status="prepared",
        remarks=remarks,
        prepared_by_id=user.id,
        prepared_at=utcnow(),
    )
    db.session.add(sheet)
    db.session.flush()
    audit.record("sheet.prepared", actor=user, target=_target(sheet), detail=_detail(sheet))
    _notify(_managers(), sheet, "sheet_prepared")
    return sheet


def save_remarks(sheet: ControlRecordSheet, *, user, remarks: str) -> ControlRecordSheet:
    """Change the remarks of an open sheet; a returned sheet goes back for approval."""
    if not sheet.is_open:
        raise SheetError("state")
    was = sheet.status
    sheet.remarks = _text(remarks, "remarks")
    sheet.status = "prepared"
    sheet.prepared_by_id = user.id
    sheet.prepared_at = utcnow()
    db.session.flush()
    audit.record("sheet.remarks", actor=user, target=_target(sheet), detail=_detail(sheet, was=was))
    if was == "returned":
        _notify(_managers(), sheet, "sheet_prepared")
    return sheet


def approve(sheet: ControlRecordSheet, *, user) -> ControlRecordSheet:
    """Approve: the figures are frozen in the snapshot; later records do not change them."""
    if sheet.status != "prepared":
        raise SheetError("state")
    data = figures.compute(
        client=sheet.client, sites=sites_of(sheet), first=sheet.month, scope=sheet.scope
    )
    sheet.snapshot = json.dumps(data, ensure_ascii=False, sort_keys=True)
    # The logo and seal are frozen with the figures: a later upload changes no approved sheet.
    setting = db.session.get(CompanySetting, SETTING_ID)
    sheet.logo_image_id = setting.logo_image_id if setting else None
    sheet.seal_image_id = setting.seal_image_id if setting else None
    sheet.status = "approved"
    sheet.approved_by_id = user.id
    sheet.approved_at = utcnow()
    db.session.flush()
    audit.record("sheet.approved", actor=user, target=_target(sheet), detail=_detail(sheet))
    _notify([sheet.prepared_by], sheet, "sheet_approved")
    return sheet


def return_sheet(sheet: ControlRecordSheet, *, user, comment: str) -> ControlRecordSheet:
    """Return to the supervisor with what to change (required)."""
    if sheet.status != "prepared":
        raise SheetError("state")
    comment = _text(comment, "comment")
    if not comment:
        raise SheetError("comment_required", field="comment")
    sheet.status = "returned"
    sheet.return_comment = comment
    sheet.returned_by_id = user.id
    sheet.returned_at = utcnow()
    db.session.flush()
    audit.record("sheet.returned", actor=user, target=_target(sheet), detail=_detail(sheet))
    _notify([sheet.prepared_by], sheet, "sheet_returned")
    return sheet


def release(sheet: ControlRecordSheet, *, user) -> ControlRecordSheet:
    """Release to the client; an earlier released version of the month is superseded."""
    if sheet.status != "approved":
        raise SheetError("state")
    sheet.status = "released"
    sheet.released_by_id = user.id
    sheet.released_at = utcnow()
    for older in db.session.scalars(
        select(ControlRecordSheet).where(
            ControlRecordSheet.subject == sheet.subject,
            ControlRecordSheet.month == sheet.month,
            ControlRecordSheet.version < sheet.version,
            ControlRecordSheet.status.in_(("released", "acknowledged")),
        )
    ):
        older.status = "superseded"
    db.session.flush()
    audit.record("sheet.released", actor=user, target=_target(sheet), detail=_detail(sheet))
    _notify(_client_users(sheet.client_id), sheet, "sheet_released")
    return sheet


def acknowledge(sheet: ControlRecordSheet, *, user) -> ControlRecordSheet:
    """The client signs for the sheet (簽收): name and time recorded, the company told."""
    if sheet.status != "released":
        raise SheetError("state")
    sheet.status = "acknowledged"
    sheet.acknowledged_by_id = user.id
    sheet.acknowledged_at = utcnow()
    db.session.flush()
    audit.record("sheet.acknowledged", actor=user, target=_target(sheet), detail=_detail(sheet))
    _notify([sheet.prepared_by, sheet.released_by], sheet, "sheet_acknowledged")
    return sheet


def correct(sheet: ControlRecordSheet, *, user, reason: str) -> ControlRecordSheet:
    """A frozen sheet is not edited: a new version (figures live again) with the reason; the
    released one stays with the client until the new one is released."""
    if sheet.status not in ("approved", "released", "acknowledged"):
        raise SheetError("state")
    reason = _text(reason, "reason")
    if not reason:
        raise SheetError("reason_required", field="reason")
    latest = latest_version(sheet.subject, sheet.month)
    if latest is not None and latest.id != sheet.id:
        raise SheetError("state")
    new = ControlRecordSheet(
        scope=sheet.scope,
        subject=sheet.subject,
        site_id=sheet.site_id,
        client_id=sheet.client_id,
        month=sheet.month,
        version=sheet.version + 1,
        previous_id=sheet.id,
        correction_reason=reason,
        status="prepared",
        remarks=sheet.remarks,
        prepared_by_id=user.id,
        prepared_at=utcnow(),
    )
    db.session.add(new)
    if sheet.status == "approved":  # never reached the client: the new version replaces it
        sheet.status = "superseded"
    db.session.flush()
    audit.record(
        "sheet.corrected",
        actor=user,
        target=_target(new),
        detail=_detail(new, previous=sheet.id),
    )
    _notify(_managers(), new, "sheet_prepared")
    return new

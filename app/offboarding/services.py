"""Offboarding a departing client: count, export for handover, purge. Flush, never commit.

The export decrypts every record of the client and of its sites; its access rows ("export",
one per record) and its audit event are flushed here, and the route commits them before the
file is built and sent (SECURITY.md decision 7: no value leaves without its trace). The purge
needs an export made in the same offboarding, after which no record changed, and the client's
name typed as confirmation.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select

from app import audit, spreadsheet
from app.db import utcnow
from app.errors import DomainError
from app.extensions import db
from app.i18n import TAIPEI
from app.offboarding.models import ClientOffboarding
from app.sites.models import Client, Site
from app.vault import crypto
from app.vault import services as vault
from app.vault.access import log_access
from app.vault.labels import CATEGORY_LABELS, SENSITIVITY_LABELS
from app.vault.models import CATEGORIES, ConfidentialRecord
from app.vault.retention import purge_record

#: The languages of the handover files, Traditional Chinese first.
LOCALES = ("zh_Hant_TW", "en")


class OffboardingError(DomainError):
    messages: ClassVar = {
        "export_first": _l(
            "Export the records for handover first: the purge deletes only what was exported."
        ),
        "changed_since_export": _l(
            "Records were added or changed after the export. Export again, then purge."
        ),
        "confirmation": _l("Type the client's name exactly as shown to confirm the purge."),
    }


# ---------------------------------------------------------------- what the client holds


def _records_clause(client: Client):
    sites = select(Site.id).where(Site.client_id == client.id).scalar_subquery()
    return or_(ConfidentialRecord.client_id == client.id, ConfidentialRecord.site_id.in_(sites))


@dataclass
class Inventory:
    """How many records a client holds, per category and per site (never a value)."""

    total: int = 0
    #: (category, count) in CATEGORIES order, only those held.
    by_category: list[tuple[str, int]] = field(default_factory=list)
    #: (site or None for the client's own records, count), by site code.
    by_site: list[tuple[Site | None, int]] = field(default_factory=list)
    #: Records without a retention day (the job never deletes them).
    without_retention: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "by_category": dict(self.by_category),
            "by_site": {(site.code if site else ""): n for site, n in self.by_site},
            "without_retention": self.without_retention,
        }


def inventory(client: Client) -> Inventory:
    """Counts by category and by owner: two grouped queries and one for the sites, whatever
    the number of records."""
    clause = _records_clause(client)
    per_category = dict(
        db.session.execute(
            select(ConfidentialRecord.category, func.count())
            .where(clause)
            .group_by(ConfidentialRecord.category)
        ).all()
    )
    per_site = dict(
        db.session.execute(
            select(ConfidentialRecord.site_id, func.count())
            .where(clause)
            .group_by(ConfidentialRecord.site_id)
        ).all()
    )
    undated = db.session.scalar(
        select(func.count()).where(clause, ConfidentialRecord.retain_until.is_(None))
    )
    site_ids = [site_id for site_id in per_site if site_id is not None]
    sites = (
        db.session.scalars(select(Site).where(Site.id.in_(site_ids)).order_by(Site.code)).all()
        if site_ids
        else []
    )
    by_site: list[tuple[Site | None, int]] = [(None, per_site[None])] if None in per_site else []
    by_site += [(site, per_site[site.id]) for site in sites]
    return Inventory(
        total=sum(per_category.values()),
        by_category=[(c, per_category[c]) for c in CATEGORIES if c in per_category],
        by_site=by_site,
        without_retention=undated or 0,
    )


def open_offboarding(client: Client) -> ClientOffboarding | None:
    """The client's offboarding not yet purged, if any."""
    return db.session.scalar(
        select(ClientOffboarding)
        .where(ClientOffboarding.client_id == client.id, ClientOffboarding.purged_at.is_(None))
        .order_by(ClientOffboarding.id.desc())
        .limit(1)
    )


def offboardings(client: Client, *, limit: int = 10) -> list[ClientOffboarding]:
    """The client's offboardings, newest first (with who did each step)."""
    return list(
        db.session.scalars(
            select(ClientOffboarding)
            .where(ClientOffboarding.client_id == client.id)
            .order_by(ClientOffboarding.id.desc())
            .limit(limit)
        )
    )


def _open_or_start(client: Client, *, user) -> ClientOffboarding:
    offboarding = open_offboarding(client)
    if offboarding is None:
        offboarding = ClientOffboarding(client_id=client.id, started_by_id=user.id)
        db.session.add(offboarding)
        db.session.flush()
        audit.record(
            "client.offboarding_started", actor=user, target=f"client:{client.id}", detail={}
        )
    return offboarding


# ---------------------------------------------------------------- the export


@dataclass(frozen=True)
class ExportedRecord:
    uuid: str
    category: str
    sensitivity: str
    label: str
    site_code: str
    site_name: str
    retain_until: str
    created_at: str
    #: The decrypted value: text, or a key holder's structure; None when it did not decrypt.
    value: str | dict[str, Any] | None


@dataclass
class Export:
    offboarding: ClientOffboarding
    client: Client
    records: list[ExportedRecord]
    exported_at: datetime
    exported_by: str

    @property
    def failed(self) -> int:
        return sum(1 for r in self.records if r.value is None)


def export_records(client: Client, *, user) -> Export:
    """Decrypt every record of the client and its sites for handover. One "export" access row
    per record (outcome "error" for a value that does not decrypt, which is exported as
    missing) and an audit event are flushed; the caller commits before anything is sent."""
    offboarding = _open_or_start(client, user=user)
    records = db.session.scalars(
        select(ConfidentialRecord)
        .where(_records_clause(client))
        .order_by(ConfidentialRecord.site_id.is_not(None), ConfidentialRecord.id)
    ).all()
    sites = {s.id: s for s in db.session.scalars(select(Site).where(Site.client_id == client.id))}
    exported = []
    for record in records:
        try:
            value = vault.read_value(record)
        except crypto.DecryptionError:
            value = None
        log_access(
            user,
            "export",
            record=record,
            purpose="client_request",
            purpose_text="offboarding handover",
            outcome="success" if value is not None else "error",
            reason="offboarding" if value is not None else "decrypt",
        )
        site = sites.get(record.site_id) if record.site_id else None
        exported.append(
            ExportedRecord(
                uuid=record.uuid,
                category=record.category,
                sensitivity=record.sensitivity,
                label=record.label,
                site_code=site.code if site else "",
                site_name=site.name if site else "",
                retain_until=record.retain_until.isoformat() if record.retain_until else "",
                created_at=record.created_at.astimezone(TAIPEI).isoformat(timespec="seconds"),
                value=value,
            )
        )
    now = utcnow()
    counts = inventory(client).as_dict()
    offboarding.exported_at = now
    offboarding.exported_by_id = user.id
    offboarding.exported_count = len(exported)
    offboarding.counts_json = json.dumps(counts, ensure_ascii=False, sort_keys=True)
    db.session.flush()
    audit.record(
        "client.offboarding_exported",
        actor=user,
        target=f"client:{client.id}",
        detail={
            "offboarding": offboarding.uuid,
            "count": len(exported),
            "failed": sum(1 for r in exported if r.value is None),
            "by_category": counts["by_category"],
        },
    )
    return Export(offboarding, client, exported, now, user.username)


def _value_text(value: str | dict[str, Any] | None) -> str:
    """A value as one line of text for the CSV (a key holder's fields joined)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    phones = ", ".join(value.get("phones") or [])
    parts = [value.get("name", ""), phones, value.get("relation", "")]
    order = value.get("calling_order")
    return " / ".join(p for p in parts if p) + (f" / #{order}" if order else "")


def _both(message) -> str:
    """A message in both languages, 「中文 / English」, for the handover files."""
    texts = []
    for locale in LOCALES:
        with force_locale(locale):
            texts.append(str(message))
    return texts[0] if texts[0] == texts[1] else " / ".join(texts)


def _csv(export: Export) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            _both(_l("Site code")),
            _both(_l("Site")),
            _both(_l("Category")),
            _both(_l("Sensitivity")),
            _both(_l("Label")),
            _both(_l("Value")),
            _both(_l("Keep until")),
            _both(_l("Record ID")),
        ]
    )
    for r in export.records:
        writer.writerow(
            [
                r.site_code,
                r.site_name,
                _both(CATEGORY_LABELS[r.category]),
                _both(SENSITIVITY_LABELS.get(r.sensitivity, r.sensitivity)),
                _csv_safe(r.label),
                _csv_safe(_value_text(r.value))
                if r.value is not None
                else _both(_l("(could not be decrypted)")),
                r.retain_until,
                r.uuid,
            ]
        )
    # Excel reads UTF-8 only with the byte-order mark.
    return ("\ufeff" + out.getvalue()).encode()


def _csv_safe(text: str) -> str:
    """A typed text that a spreadsheet would run as a formula is prefixed with a quote."""
    return spreadsheet.csv_cell(text)


def _json(export: Export) -> bytes:
    body = {
        "client": {"name": export.client.name, "tax_id": export.client.tax_id or ""},
        "offboarding": export.offboarding.uuid,
        "exported_at": export.exported_at.astimezone(TAIPEI).isoformat(timespec="seconds"),
        "exported_by": export.exported_by,
        "count": len(export.records),
        "records": [
            {
                "uuid": r.uuid,
                "site_code": r.site_code,
                "site_name": r.site_name,
                "category": r.category,
                "sensitivity": r.sensitivity,
                "label": r.label,
                "value": r.value,
                "decrypted": r.value is not None,
                "retain_until": r.retain_until,
                "created_at": r.created_at,
            }
            for r in export.records
        ],
    }
    return json.dumps(body, ensure_ascii=False, indent=2).encode()


def _readme(export: Export) -> bytes:
    lines = []
    for locale in LOCALES:
        with force_locale(locale):
            lines += [
                _(
                    "Confidential records of %(client)s, exported for handover",
                    client=export.client.name,
                ),
                "",
                _(
                    "Exported %(at)s (Taipei time) by %(user)s: %(count)d records.",
                    at=export.exported_at.astimezone(TAIPEI).strftime("%Y-%m-%d %H:%M"),
                    user=export.exported_by,
                    count=len(export.records),
                ),
                _(
                    "records.csv opens in a spreadsheet (UTF-8); records.json holds the same "
                    "records, a key holder's fields separately."
                ),
                _(
                    "These files hold alarm codes, passwords and personal data in clear. Hand "
                    "them over in person or over an encrypted channel, keep no copy, and delete "
                    "them once the client has confirmed receipt."
                ),
                "",
            ]
            if export.failed:
                lines.insert(
                    -1,
                    _(
                        "%(num)d records could not be decrypted and are listed without a value.",
                        num=export.failed,
                    ),
                )
    return "\r\n".join(lines).encode()


def handover_zip(export: Export) -> bytes:
    """The handover file: records.json, records.csv (bilingual, UTF-8 with BOM), README.txt."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("README.txt", _readme(export))
        archive.writestr("records.json", _json(export))
        archive.writestr("records.csv", _csv(export))
    return buffer.getvalue()


# ---------------------------------------------------------------- the purge


def purge_client(client: Client, *, user, confirmation: str) -> int:
    """Delete every confidential record of the client and its sites, after the handover
    export of this offboarding and the client's name typed as confirmation; the count."""
    offboarding = open_offboarding(client)
    if offboarding is None or offboarding.exported_at is None:
        raise OffboardingError("export_first")
    if (confirmation or "").strip() != client.name.strip():
        raise OffboardingError("confirmation", field="confirmation")
    clause = _records_clause(client)
    changed = db.session.scalar(
        select(func.count()).where(
            clause,
            or_(
                ConfidentialRecord.created_at > offboarding.exported_at,
                ConfidentialRecord.updated_at > offboarding.exported_at,
            ),
        )
    )
    if changed:
        raise OffboardingError("changed_since_export")
    records = db.session.scalars(select(ConfidentialRecord).where(clause)).all()
    by_category = Counter(r.category for r in records)
    for record in records:
        purge_record(record, user=user, reason="offboarding")
    offboarding.purged_at = utcnow()
    offboarding.purged_by_id = user.id
    offboarding.purged_count = len(records)
    db.session.flush()
    audit.record(
        "client.offboarding_purged",
        actor=user,
        target=f"client:{client.id}",
        detail={
            "offboarding": offboarding.uuid,
            "count": len(records),
            "by_category": dict(by_category),
        },
    )
    return len(records)


def counts_of(offboarding: ClientOffboarding) -> dict[str, Any]:
    try:
        return json.loads(offboarding.counts_json or "{}")
    except ValueError:
        return {}

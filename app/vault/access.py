"""The vault's access log: one row per access, chained into the audit log. Flush, never commit.

Whoever shows a value calls `log_access(...)`, then commits, and only then renders the value:
when the write (or the commit) fails, no value is shown (SECURITY.md decision 7).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime

from flask import has_request_context, request
from sqlalchemy import Select, select
from sqlalchemy.orm import selectinload

from app import audit, spreadsheet
from app.extensions import db
from app.vault.models import (
    ACCESS_ACTIONS,
    ACCESS_OUTCOMES,
    PURPOSES,
    ConfidentialRecord,
    VaultAccess,
)


def log_access(
    user,
    action: str,
    *,
    record: ConfidentialRecord | None = None,
    site_id: int | None = None,
    client_id: int | None = None,
    purpose: str = "",
    purpose_text: str = "",
    outcome: str = "success",
    reason: str = "",
) -> VaultAccess:
    """Append one access row and its audit-chain event in the caller's transaction."""
    if action not in ACCESS_ACTIONS:
        raise ValueError(f"unknown vault action {action!r}")
    if outcome not in ACCESS_OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r}")
    if purpose and purpose not in PURPOSES:
        raise ValueError(f"unknown purpose {purpose!r}")
    if record is not None:
        site_id = record.site_id if site_id is None else site_id
        client_id = record.client_id if client_id is None else client_id
    ip = ua = ""
    if has_request_context():
        ip = (request.remote_addr or "")[:64]
        ua = (request.user_agent.string or "")[:255]
    event = audit.record(
        f"vault.{action}",
        actor=user,
        target=f"confidential_record:{record.uuid}"
        if record is not None
        else (f"site:{site_id}" if site_id else f"client:{client_id}" if client_id else ""),
        outcome=outcome,
        detail={
            "purpose": purpose,
            "reason": reason,
            "site_id": site_id,
            "client_id": client_id,
        },
    )
    row = VaultAccess(
        user_id=getattr(user, "id", None),
        user_name=(getattr(user, "username", "") or "")[:120],
        role=(getattr(user, "role", "") or "")[:20],
        record_id=record.id if record is not None else None,
        record_uuid=record.uuid if record is not None else "",
        record_label=record.label if record is not None else "",
        site_id=site_id,
        client_id=client_id,
        action=action,
        purpose=purpose,
        purpose_text=purpose_text[:500],
        outcome=outcome,
        reason=reason[:40],
        ip=ip,
        user_agent=ua,
        audit_seq=event.seq,
    )
    db.session.add(row)
    db.session.flush()
    return row


# ---------------------------------------------------------------- reading the log


@dataclass(frozen=True)
class LogFilter:
    """What an access-log page shows: its scope (one record, site, client or user) and the
    filters of its form. Every row is also within what the reader may see (`scope`)."""

    record_id: int | None = None
    site_id: int | None = None
    client_id: int | None = None
    user_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    action: str = ""
    outcome: str = ""
    #: A username (part of one) typed in the filter form.
    who: str = ""


def access_query(scope, filters: LogFilter) -> Select:
    """VaultAccess rows, newest first, within `scope` (policy.access_log_scope_clause) and the
    filters. Sites come in one extra statement per page (selectinload), whatever the rows."""
    stmt = (
        select(VaultAccess)
        .where(scope)
        .options(selectinload(VaultAccess.site), selectinload(VaultAccess.client))
        .order_by(VaultAccess.at.desc(), VaultAccess.id.desc())
    )
    if filters.record_id is not None:
        stmt = stmt.where(VaultAccess.record_id == filters.record_id)
    if filters.site_id is not None:
        stmt = stmt.where(VaultAccess.site_id == filters.site_id)
    if filters.client_id is not None:
        stmt = stmt.where(VaultAccess.client_id == filters.client_id)
    if filters.user_id is not None:
        stmt = stmt.where(VaultAccess.user_id == filters.user_id)
    if filters.since is not None:
        stmt = stmt.where(VaultAccess.at >= filters.since)
    if filters.until is not None:
        stmt = stmt.where(VaultAccess.at < filters.until)
    if filters.action in ACCESS_ACTIONS:
        stmt = stmt.where(VaultAccess.action == filters.action)
    if filters.outcome in ACCESS_OUTCOMES:
        stmt = stmt.where(VaultAccess.outcome == filters.outcome)
    if filters.who:
        stmt = stmt.where(VaultAccess.user_name.contains(filters.who[:60], autoescape=True))
    return stmt


#: Rows one CSV export holds at most (a data subject's request, a client's: far fewer).
CSV_MAX_ROWS = 50_000
CSV_COLUMNS = [
    "at_utc",
    "user",
    "role",
    "action",
    "outcome",
    "reason",
    "purpose",
    "purpose_text",
    "record_uuid",
    "record_label",
    "site_code",
    "client",
    "ip",
    "user_agent",
    "audit_seq",
]


def access_csv(scope, filters: LogFilter) -> str:
    """The rows as CSV for a spreadsheet: UTF-8 with a byte-order mark (Excel then reads the
    Chinese), no formula cells, never a value (the log holds none)."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    rows = db.session.scalars(access_query(scope, filters).limit(CSV_MAX_ROWS))
    for row in rows:
        cells = [
            row.at.isoformat(timespec="seconds"),
            row.user_name,
            row.role,
            row.action,
            row.outcome,
            row.reason,
            row.purpose,
            row.purpose_text,
            row.record_uuid,
            row.record_label,
            row.site.code if row.site is not None else "",
            row.client.name if row.client is not None else "",
            row.ip,
            row.user_agent,
            row.audit_seq if row.audit_seq is not None else "",
        ]
        writer.writerow([_csv_cell(c) for c in cells])
    return out.getvalue()


def _csv_cell(value) -> str:
    """A cell a spreadsheet will not run as a formula (labels and purposes are typed)."""
    return spreadsheet.csv_cell(value)

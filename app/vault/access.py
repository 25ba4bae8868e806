"""The vault's access log: one row per access, chained into the audit log. Flush, never commit.

Whoever shows a value calls `log_access(...)`, then commits, and only then renders the value:
when the write (or the commit) fails, no value is shown (SECURITY.md decision 7).
"""

from __future__ import annotations

from flask import has_request_context, request

from app import audit
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

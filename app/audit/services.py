"""record() appends to the audit chain in the caller's transaction; verify_chain() checks it."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from flask import current_app, has_request_context, request
from sqlalchemy import select, text

from app.audit.models import AuditEvent
from app.db import utcnow
from app.extensions import db

GENESIS = "0" * 64
#: Keys never written to an audit detail, whatever a caller passes.
FORBIDDEN_DETAIL_KEYS = {"password", "new_password", "temporary_password", "value", "secret"}


def _canonical(event: AuditEvent) -> bytes:
    at = event.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    fields = [
        str(event.seq),
        at,
        "" if event.actor_id is None else str(event.actor_id),
        event.actor_name,
        event.action,
        event.target,
        event.outcome,
        event.ip,
        event.detail,
        event.prev_hash,
    ]
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode()


def compute_hash(key: bytes, event: AuditEvent) -> str:
    """The HMAC of one row over its canonical form (which includes prev_hash)."""
    return hmac.new(key, _canonical(event), hashlib.sha256).hexdigest()


def _key() -> bytes:
    return current_app.config["AUDIT_KEY"].encode()


def _lock_chain() -> None:
    """Serialise appends so two writers never chain onto the same previous row."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(7261001)"))
    else:
        # A write that touches no row still takes SQLite's write lock now, before the read
        # below; busy_timeout then queues concurrent writers instead of failing them.
        db.session.execute(text("UPDATE audit_event SET seq = seq WHERE 0"))


def record(
    action: str,
    *,
    actor=None,
    actor_name: str = "",
    target: str = "",
    outcome: str = "success",
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event in the current transaction; the caller commits (or it never happened)."""
    clean = {k: v for k, v in (detail or {}).items() if k not in FORBIDDEN_DETAIL_KEYS}
    ip = (request.remote_addr or "") if has_request_context() else ""
    actor_id = getattr(actor, "id", None)
    name = actor_name or getattr(actor, "username", "") or ""
    _lock_chain()
    last = db.session.execute(
        select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
    ).first()
    event = AuditEvent(
        seq=(last.seq + 1) if last else 1,
        at=utcnow(),
        actor_id=actor_id,
        actor_name=name[:120],
        action=action,
        target=target[:120],
        outcome=outcome,
        ip=ip[:64],
        detail=json.dumps(clean, ensure_ascii=False, sort_keys=True, default=str),
        prev_hash=last.hash if last else GENESIS,
    )
    event.hash = compute_hash(_key(), event)
    db.session.add(event)
    db.session.flush()
    return event


@dataclass
class ChainResult:
    count: int
    first_bad_seq: int | None = None
    reason: str = ""

    @property
    def is_intact(self) -> bool:
        return self.first_bad_seq is None


def _rows(batch: int = 1000) -> Iterator[AuditEvent]:
    after = 0
    while True:
        rows = db.session.scalars(
            select(AuditEvent).where(AuditEvent.seq > after).order_by(AuditEvent.seq).limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        after = rows[-1].seq
        db.session.expunge_all()


def verify_chain(key: bytes | None = None) -> ChainResult:
    """Walk the chain in order; report the first row whose link or HMAC does not hold."""
    key = key or _key()
    prev = GENESIS
    expected_seq = 1
    count = 0
    for event in _rows():
        count += 1
        if event.seq != expected_seq:
            return ChainResult(count, expected_seq, "row missing")
        if event.prev_hash != prev:
            return ChainResult(count, event.seq, "link to previous row broken")
        if not hmac.compare_digest(compute_hash(key, event), event.hash):
            return ChainResult(count, event.seq, "row altered")
        prev = event.hash
        expected_seq += 1
    return ChainResult(count)

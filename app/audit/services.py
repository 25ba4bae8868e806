"""record() appends to the audit chain in the caller's transaction; verify_chain() checks it."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
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


@dataclass(frozen=True)
class Anchor:
    """The chain head as it was once written down outside the database."""

    seq: int
    hash: str
    at: datetime

    @property
    def when(self) -> str:
        return self.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


@dataclass
class ChainResult:
    count: int
    first_bad_seq: int | None = None
    reason: str = ""
    #: The last anchor the chain was compared with (None: no anchor written yet).
    anchor: Anchor | None = None

    @property
    def is_intact(self) -> bool:
        return self.first_bad_seq is None


def _rows(session, batch: int = 1000) -> Iterator[AuditEvent]:
    after = 0
    while True:
        rows = session.scalars(
            select(AuditEvent).where(AuditEvent.seq > after).order_by(AuditEvent.seq).limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        after = rows[-1].seq
        session.expunge_all()


def verify_chain(
    key: bytes | None = None, *, anchor: Anchor | None = None, session=None
) -> ChainResult:
    """Walk the chain in order; report the first row whose link or HMAC does not hold.

    With an anchor (the chain head written down outside the database), the chain must also
    reach the anchored row and that row must be the one anchored: deleting the newest rows
    leaves every link intact, and only the anchor still knows they were there.

    `session`: another database's (a backup being checked); the app's own by default.
    """
    key = key or _key()
    prev = GENESIS
    expected_seq = 1
    count = 0
    for event in _rows(db.session if session is None else session):
        count += 1
        if event.seq != expected_seq:
            return ChainResult(count, expected_seq, "row missing", anchor)
        if event.prev_hash != prev:
            return ChainResult(count, event.seq, "link to previous row broken", anchor)
        if not hmac.compare_digest(compute_hash(key, event), event.hash):
            return ChainResult(count, event.seq, "row altered", anchor)
        if anchor is not None and event.seq == anchor.seq and event.hash != anchor.hash:
            reason = f"row differs from the anchor of {anchor.when}: the chain was rewritten"
            return ChainResult(count, event.seq, reason, anchor)
        prev = event.hash
        expected_seq += 1
    end = expected_seq - 1
    if anchor is not None and end < anchor.seq:
        missing = anchor.seq - end
        reason = (
            f"the chain ends at {end} but the anchor of {anchor.when} recorded {anchor.seq}: "
            f"{missing} newest row{'s' if missing != 1 else ''} missing"
        )
        return ChainResult(count, end + 1, reason, anchor)
    return ChainResult(count, anchor=anchor)


# ---------------------------------------------------------------- anchors outside the database

ANCHOR_FILE = "anchors.jsonl"


def anchor_path() -> Path:
    """The append-only file of anchors (AUDIT_ANCHOR_DIR, default instance/audit-anchors)."""
    folder = current_app.config.get("AUDIT_ANCHOR_DIR") or os.path.join(
        current_app.instance_path, "audit-anchors"
    )
    return Path(folder) / ANCHOR_FILE


def chain_head() -> tuple[int, str]:
    """The newest row's sequence number and hash ((0, GENESIS) for an empty chain)."""
    last = db.session.execute(
        select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
    ).first()
    return (last.seq, last.hash) if last else (0, GENESIS)


def write_anchor(now: datetime | None = None) -> Anchor:
    """Append the chain head (committed rows only) to the anchor file, owner-only, synced.

    Only appended, never rewritten: an intruder who deletes the newest rows must also edit
    a file on another path (ideally another disk or a write-once share) to hide it.
    """
    seq, digest = chain_head()
    anchor = Anchor(seq=seq, hash=digest, at=now or utcnow())
    path = anchor_path()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    line = json.dumps(
        {"seq": anchor.seq, "hash": anchor.hash, "at": anchor.at.astimezone(UTC).isoformat()},
        separators=(",", ":"),
    )
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, (line + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    return anchor


class AnchorFileError(Exception):
    """The anchor file exists but its last line cannot be read."""


def last_anchor() -> Anchor | None:
    """The newest anchor in the file, or None when none has been written."""
    path = anchor_path()
    if not path.exists():
        return None
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not lines:
        return None
    try:
        data = json.loads(lines[-1])
        at = datetime.fromisoformat(data["at"])
        return Anchor(seq=int(data["seq"]), hash=str(data["hash"]), at=at)
    except (ValueError, KeyError, TypeError) as exc:
        raise AnchorFileError(f"{path}: last line unreadable ({type(exc).__name__})") from exc

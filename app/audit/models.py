"""AuditEvent: one row per security-relevant action, chained by HMAC."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow


class AuditEvent(Base):
    __tablename__ = "audit_event"

    #: Position in the chain; the chain is verified in this order.
    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    #: When it happened (UTC).
    at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Who acted; null for anonymous requests and the system.
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    #: Name as typed or known at the time, kept even for unknown users (failed logins).
    actor_name: Mapped[str] = mapped_column(String(120), default="")
    #: Dotted verb, e.g. "auth.login", "user.role_changed".
    action: Mapped[str] = mapped_column(String(80), index=True)
    #: What it acted on, e.g. "user:12".
    target: Mapped[str] = mapped_column(String(120), default="")
    #: "success", "failure" or "denied".
    outcome: Mapped[str] = mapped_column(String(20), default="success")
    #: Client address of the request, if any.
    ip: Mapped[str] = mapped_column(String(64), default="")
    #: Canonical JSON with details; never a secret or a confidential value.
    detail: Mapped[str] = mapped_column(Text, default="{}")
    #: Hash of the previous row (64 zeros for the first).
    prev_hash: Mapped[str] = mapped_column(String(64))
    #: HMAC-SHA256(AUDIT_KEY, prev_hash || canonical row).
    hash: Mapped[str] = mapped_column(String(64), unique=True)

"""ConfidentialRecord: one secret of a client or a site, its value encrypted at rest."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, new_uuid, utcnow

CATEGORIES = (
    "alarm_code",
    "callback_password",  # 通話密語: the word the client gives when the control room calls
    "key_holder",
    "access_instructions",
    "client_personnel",
    "other",
)
SENSITIVITIES = ("operational", "restricted")
#: A category's sensitivity unless the record says otherwise (DESIGN.md §5): alarm codes, the
#: call-back password and client personnel's personal data need purpose and step-up.
DEFAULT_SENSITIVITY = {
    "alarm_code": "restricted",
    "callback_password": "restricted",
    "client_personnel": "restricted",
    "key_holder": "operational",
    "access_instructions": "operational",
    "other": "operational",
}
#: Categories whose value is a structure (a JSON object inside the ciphertext), not text.
STRUCTURED = frozenset({"key_holder"})


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


class ConfidentialRecord(Base):
    __tablename__ = "confidential_record"
    __table_args__ = (
        # Exactly one owner: a record of a site, or of the client as a whole.
        CheckConstraint("(site_id IS NULL) <> (client_id IS NULL)", name="one_owner"),
        CheckConstraint(f"category IN {_in(CATEGORIES)}", name="category"),
        CheckConstraint(f"sensitivity IN {_in(SENSITIVITIES)}", name="sensitivity"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Part of the ciphertext's associated data: the value decrypts only in this record.
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    site_id: Mapped[int | None] = mapped_column(
        ForeignKey("site.id", ondelete="RESTRICT"), index=True
    )
    client_id: Mapped[int | None] = mapped_column(
        ForeignKey("client.id", ondelete="RESTRICT"), index=True
    )
    #: One of CATEGORIES.
    category: Mapped[str] = mapped_column(String(30))
    #: One of SENSITIVITIES; DEFAULT_SENSITIVITY[category] unless chosen.
    sensitivity: Mapped[str] = mapped_column(String(12))
    #: What the value is, shown masked beside it ("後門鑰匙 第一順位"): never the secret itself.
    label: Mapped[str] = mapped_column(String(200))
    #: The value, encrypted (app/vault/crypto.py): text, or for STRUCTURED categories a JSON
    #: object; both as JSON inside the ciphertext, never in clear columns.
    value_ciphertext: Mapped[str] = mapped_column(Text)
    #: The key id the value is encrypted under (also inside the ciphertext), in clear so that
    #: rotation and the start-up check find what each key protects without decrypting.
    key_id: Mapped[str] = mapped_column(String(32), index=True)
    #: Delete after this day (the retention job); None: kept until someone decides.
    retain_until: Mapped[date | None]
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    site = relationship("Site")
    client = relationship("Client")
    created_by = relationship("User")


#: What a person did with the vault (issue 12 item 6). "list" is a page showing masked records.
ACCESS_ACTIONS = (
    "list",
    "reveal",
    "create",
    "change",
    "delete",
    "export",
    "purge",
    "custody",
)
#: Why a value was revealed (the purpose prompt); "other" needs a text.
PURPOSES = ("alarm_response", "maintenance", "client_request", "audit", "other")
#: "success"; "denied" (not allowed, not assigned, pledge or step-up missing); "error"
#: (the value did not decrypt).
ACCESS_OUTCOMES = ("success", "denied", "error")


class VaultAccess(Base):
    """One access to the vault, by whom, to what, why, with what outcome — never the value.

    Written in the same transaction as an audit-chain row (`audit_seq`), and committed before a
    revealed value is sent (SECURITY.md decision 7). Kept when its record is purged: the
    record's uuid and label stay here so a data subject's request can still be answered.
    """

    __tablename__ = "vault_access"
    __table_args__ = (
        CheckConstraint(f"action IN {_in(ACCESS_ACTIONS)}", name="action"),
        CheckConstraint(f"outcome IN {_in(ACCESS_OUTCOMES)}", name="outcome"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), index=True
    )
    #: Copied at the time: a renamed or deleted user's rows still say who it was.
    user_name: Mapped[str] = mapped_column(String(120), default="")
    role: Mapped[str] = mapped_column(String(20), default="")
    record_id: Mapped[int | None] = mapped_column(
        ForeignKey("confidential_record.id", ondelete="SET NULL"), index=True
    )
    record_uuid: Mapped[str] = mapped_column(String(36), default="")
    #: The record's label at the time (never its value).
    record_label: Mapped[str] = mapped_column(String(200), default="")
    site_id: Mapped[int | None] = mapped_column(
        ForeignKey("site.id", ondelete="SET NULL"), index=True
    )
    client_id: Mapped[int | None] = mapped_column(
        ForeignKey("client.id", ondelete="SET NULL"), index=True
    )
    #: One of ACCESS_ACTIONS.
    action: Mapped[str] = mapped_column(String(12))
    #: One of PURPOSES, or "" where none is asked (a list, a create).
    purpose: Mapped[str] = mapped_column(String(20), default="")
    #: The words of an "other" purpose, or a note.
    purpose_text: Mapped[str] = mapped_column(String(500), default="")
    #: One of ACCESS_OUTCOMES.
    outcome: Mapped[str] = mapped_column(String(10), default="success")
    #: Why a denial or error happened: not_assigned, role, pledge, step_up, decrypt, ...
    reason: Mapped[str] = mapped_column(String(40), default="")
    ip: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(255), default="")
    #: The audit-chain row written with this one (its seq): the log is provable.
    audit_seq: Mapped[int | None]

    user = relationship("User")
    record = relationship("ConfidentialRecord")
    site = relationship("Site")
    client = relationship("Client")

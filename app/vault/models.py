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

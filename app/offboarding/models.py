"""ClientOffboarding: one handover of a departing client's confidential records."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, new_uuid, utcnow


class ClientOffboarding(Base):
    """Who offboarded a client, when, what it held, when it was exported and purged.

    Kept after the purge: it is the evidence that the client's records were handed over and
    deleted (PDPA Art. 11: personal data no longer needed is deleted). An offboarding is open
    until its purge; a purge needs an export made in the same open offboarding.
    """

    __tablename__ = "client_offboarding"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="RESTRICT"), index=True)
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: The counts when the export was made: {"total": n, "by_category": {...}, "by_site": {...}}
    #: (site codes, "" for the client's own records). Never a value or a label.
    counts_json: Mapped[str] = mapped_column(Text, default="{}", server_default="{}")
    exported_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    exported_at: Mapped[datetime | None]
    #: Records in the last export of this offboarding.
    exported_count: Mapped[int] = mapped_column(default=0, server_default="0")
    purged_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    purged_at: Mapped[datetime | None]
    purged_count: Mapped[int] = mapped_column(default=0, server_default="0")

    client = relationship("Client")
    started_by = relationship("User", foreign_keys=[started_by_id])
    exported_by = relationship("User", foreign_keys=[exported_by_id])
    purged_by = relationship("User", foreign_keys=[purged_by_id])

    @property
    def is_open(self) -> bool:
        return self.purged_at is None

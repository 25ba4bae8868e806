"""Key custody (鑰匙寄存): the sealed key bags a client deposits at a site, and their movements."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, new_uuid, utcnow

#: in: in the safe; out: taken out by someone; returned_to_client: handed back for good.
BAG_STATUSES = ("in", "out", "returned_to_client")
#: out: taken out; return: put back (with the seal number after); seal_check: the seal looked
#: at during an inspection.
MOVEMENT_KINDS = ("out", "return", "seal_check")


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


class KeyBag(Base):
    """A sealed bag of a client's keys kept for a site (its number is unique at the site)."""

    __tablename__ = "key_bag"
    __table_args__ = (
        UniqueConstraint("site_id", "bag_number", name="site_bag_number"),
        CheckConstraint(f"status IN {_in(BAG_STATUSES)}", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id", ondelete="RESTRICT"), index=True)
    #: The number written on the bag (袋號), unique at its site.
    bag_number: Mapped[str] = mapped_column(String(40))
    #: What is inside, as the client listed it: "後門鑰匙 ×2, 鐵捲門遙控器".
    contents: Mapped[str] = mapped_column(String(500))
    #: Where the bag is kept ("公司保管箱 B-3").
    stored_at: Mapped[str] = mapped_column(String(200), default="")
    #: The number of the seal on the bag now (changes at each return and reseal).
    seal_number: Mapped[str] = mapped_column(String(60))
    #: One of BAG_STATUSES; changed only by conditional UPDATEs (services.take_out / put_back).
    status: Mapped[str] = mapped_column(String(20), default="in", server_default="in")
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    site = relationship("Site")
    created_by = relationship("User")

    @property
    def is_out(self) -> bool:
        return self.status == "out"


class KeyMovement(Base):
    """One take-out, return or seal check of a bag: who, when, why, the seal number after."""

    __tablename__ = "key_movement"
    __table_args__ = (
        CheckConstraint(f"kind IN {_in(MOVEMENT_KINDS)}", name="kind"),
        # The overdue job and the lists look for open take-outs.
        Index("ix_key_movement_open_out", "kind", "closed_at", "due_back_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Made by the page (or phone): the same form sent twice makes one movement.
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    bag_id: Mapped[int] = mapped_column(ForeignKey("key_bag.id", ondelete="CASCADE"), index=True)
    #: One of MOVEMENT_KINDS.
    kind: Mapped[str] = mapped_column(String(12))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    #: One of app.vault.models.PURPOSES for a take-out; "" otherwise.
    purpose: Mapped[str] = mapped_column(String(20), default="")
    purpose_text: Mapped[str] = mapped_column(String(500), default="")
    #: A take-out: when the keys must be back.
    due_back_at: Mapped[datetime | None]
    #: A take-out: when it was returned (its return movement's time); None while out.
    closed_at: Mapped[datetime | None]
    #: The seal number on the bag before this movement.
    seal_number_before: Mapped[str] = mapped_column(String(60), default="")
    #: A return: the new seal's number; a seal check: the number seen on the bag.
    seal_number_after: Mapped[str] = mapped_column(String(60), default="")
    #: The seal number after differs from before: shown flagged in the history.
    is_seal_changed: Mapped[bool] = mapped_column(default=False, server_default=false())
    note: Mapped[str] = mapped_column(String(2000), default="")
    #: A seal check made during this inspection.
    inspection_id: Mapped[int | None] = mapped_column(
        ForeignKey("inspection.id", ondelete="SET NULL"), index=True
    )
    #: A take-out past its due time was notified then (once per take-out).
    overdue_notified_at: Mapped[datetime | None]

    bag = relationship("KeyBag")
    user = relationship("User")

    def is_overdue(self, now: datetime) -> bool:
        return (
            self.kind == "out"
            and self.closed_at is None
            and self.due_back_at is not None
            and self.due_back_at < now
        )

"""ChecklistTemplate → ChecklistItem; Inspection → Answer, InspectionPhoto, Amendment."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, utcnow

ITEM_KINDS = ("pass_fail", "pass_fail_na", "number", "text", "choice")
#: Kinds whose answers count towards the score.
SCORED_KINDS = ("pass_fail", "pass_fail_na", "number")
INDICATORS = (
    "P3.1.1",
    "P3.1.2",
    "P3.2.1",
    "P3.2.2",
    "P3.2.3",
    "P3.3.1",
    "P3.3.2",
    "P3.3.3",
    "P3.3.4",
    "T3.1",
)
#: Where a hint beside an item comes from: the site's guards' training records (first aid and
#: fire safety current), their pledge acknowledgements, this month's training hours.
HINT_SOURCES = ("training", "pledges", "training_hours")


class ChecklistTemplate(Base):
    """One version of a checklist. Versions of the same checklist share a `key`."""

    __tablename__ = "checklist_template"
    __table_args__ = (UniqueConstraint("key", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Stable name of the checklist across its versions, e.g. "default".
    key: Mapped[str] = mapped_column(String(40))
    version: Mapped[int] = mapped_column(default=1)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    #: The version new inspections use; older versions stay for the inspections run with them.
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    items: Mapped[list[ChecklistItem]] = relationship(
        back_populates="template", order_by="ChecklistItem.position", cascade="all, delete-orphan"
    )

    @property
    def live_items(self) -> list[ChecklistItem]:
        return [item for item in self.items if not item.is_retired]


class ChecklistItem(Base):
    __tablename__ = "checklist_item"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('pass_fail', 'pass_fail_na', 'number', 'text', 'choice')", name="kind"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(
        ForeignKey("checklist_template.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int]
    #: The behaviour indicator it serves (P3.2.1 … P3.3.4, T3.1): findings roll up by it.
    indicator: Mapped[str] = mapped_column(String(10))
    #: Knowledge codes of the standard, e.g. "K13 K14".
    knowledge: Mapped[str] = mapped_column(String(40), default="")
    text_zh: Mapped[str] = mapped_column(String(300))
    text_en: Mapped[str] = mapped_column(String(300))
    #: One of ITEM_KINDS.
    kind: Mapped[str] = mapped_column(String(20), default="pass_fail")
    min_value: Mapped[float | None]
    max_value: Mapped[float | None]
    #: For "number": the readings that can be typed at all (a meter's range), wider than the
    #: passing range; anything outside is refused as a typing error, not scored as a failure.
    input_min: Mapped[float | None]
    input_max: Mapped[float | None]
    unit: Mapped[str] = mapped_column(String(20), default="")
    #: For "choice": one option a line, "中文|English".
    choices: Mapped[str] = mapped_column(Text, default="")
    is_required: Mapped[bool] = mapped_column(default=True)
    note_on_fail: Mapped[bool] = mapped_column(default=True)
    photo_on_fail: Mapped[bool] = mapped_column(default=False)
    weight: Mapped[float] = mapped_column(default=1.0)
    #: The equipment kind it concerns (sites.models.EQUIPMENT_KINDS), if any.
    equipment_kind: Mapped[str | None] = mapped_column(String(30))
    #: The system type it concerns (sites.models.SYSTEM_TYPES); None: every site. An item
    #: for a system the site does not have is not applicable: not asked, not scored.
    system_type: Mapped[str | None] = mapped_column(String(20))
    #: One of HINT_SOURCES: a hint from the records shown beside the item (not an answer).
    hint_source: Mapped[str | None] = mapped_column(String(20))
    is_retired: Mapped[bool] = mapped_column(default=False)

    template: Mapped[ChecklistTemplate] = relationship(back_populates="items")

    def applies_to(self, site) -> bool:
        """Whether the site has the system this item concerns (always, without one)."""
        return self.system_type is None or self.system_type in site.system_type_list

    def text(self, locale: str) -> str:
        return self.text_en if locale == "en" else self.text_zh

    def choice_options(self, locale: str) -> list[tuple[str, str]]:
        """[(value, label)] — the value is the Chinese text, the label in the locale."""
        options = []
        for line in self.choices.splitlines():
            zh, _, en = line.partition("|")
            if zh.strip():
                options.append(
                    (zh.strip(), (en.strip() or zh.strip()) if locale == "en" else zh.strip())
                )
        return options


class Inspection(Base):
    """A supervisor's visit: the checklist answered at a site, signed and submitted."""

    __tablename__ = "inspection"
    __table_args__ = (
        CheckConstraint("status IN ('draft', 'submitted', 'amended')", name="status"),
        # A site's inspections newest first: the lists, the last inspection, inspections due.
        # Status, score and failures ride along so the dashboard's coverage, score trend and
        # failing inspections over a year read the index alone.
        Index(
            "ix_inspection_site_submitted_figures",
            "site_id",
            "submitted_at",
            "status",
            "score",
            "failed_count",
        ),
        Index("ix_inspection_inspector_id_submitted_at", "inspector_id", "submitted_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Made on the device: the idempotency key of the whole visit.
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id", ondelete="RESTRICT"))
    template_id: Mapped[int] = mapped_column(
        ForeignKey("checklist_template.id", ondelete="RESTRICT"), index=True
    )
    inspector_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    check_in_id: Mapped[int | None] = mapped_column(ForeignKey("check_in.id", ondelete="SET NULL"))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(index=True)
    #: draft, submitted or amended (submitted, then corrected).
    status: Mapped[str] = mapped_column(String(10), default="draft")
    #: Weighted share of passes, 0–100, n.a. excluded; set at submission.
    score: Mapped[float | None]
    failed_count: Mapped[int] = mapped_column(default=0)
    signer_name: Mapped[str] = mapped_column(String(120), default="")
    signature_photo_id: Mapped[int | None] = mapped_column(
        ForeignKey("photo.id", ondelete="RESTRICT")
    )
    contact_name: Mapped[str] = mapped_column(String(120), default="")
    contact_signature_photo_id: Mapped[int | None] = mapped_column(
        ForeignKey("photo.id", ondelete="RESTRICT")
    )

    site = relationship("Site")
    template: Mapped[ChecklistTemplate] = relationship()
    inspector = relationship("User")
    answers: Mapped[list[Answer]] = relationship(back_populates="inspection")
    amendments: Mapped[list[Amendment]] = relationship(
        back_populates="inspection", order_by="Amendment.amended_at"
    )
    signature = relationship("Photo", foreign_keys=[signature_photo_id])
    contact_signature = relationship("Photo", foreign_keys=[contact_signature_photo_id])

    @property
    def is_draft(self) -> bool:
        return self.status == "draft"


class Answer(Base):
    __tablename__ = "answer"
    __table_args__ = (
        # Its index also serves every lookup by inspection (no separate inspection_id index).
        UniqueConstraint("inspection_id", "item_id"),
        # Failed answers only (3 % of a year's 1.15 million): the most failed items.
        Index(
            "ix_answer_failed",
            "inspection_id",
            "item_id",
            sqlite_where=sql_text("is_pass IS 0"),
            postgresql_where=sql_text("is_pass IS false"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    inspection_id: Mapped[int] = mapped_column(ForeignKey("inspection.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("checklist_item.id", ondelete="RESTRICT"))
    #: "pass", "fail", "na", a number, a text or a choice.
    value: Mapped[str] = mapped_column(Text, default="")
    #: Derived from value and the item: True pass, False fail, None not scored (n.a., text).
    is_pass: Mapped[bool | None]
    note: Mapped[str] = mapped_column(Text, default="")
    #: The unit of the item's equipment kind that failed, if the supervisor picked one.
    equipment_id: Mapped[int | None] = mapped_column(
        ForeignKey("equipment.id", ondelete="SET NULL")
    )
    answered_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: When the answer was given on the phone (the server's time for one given online): a
    #: late-arriving answer given before it never overwrites it.
    answered_at_device: Mapped[datetime | None]

    inspection: Mapped[Inspection] = relationship(back_populates="answers")
    item: Mapped[ChecklistItem] = relationship()
    equipment = relationship("Equipment")
    photos: Mapped[list[AnswerPhoto]] = relationship(
        back_populates="answer", order_by="AnswerPhoto.id", cascade="all, delete-orphan"
    )


class AnswerPhoto(Base):
    """A photo attached to an answer (a fault)."""

    __tablename__ = "answer_photo"

    id: Mapped[int] = mapped_column(primary_key=True)
    answer_id: Mapped[int] = mapped_column(ForeignKey("answer.id", ondelete="CASCADE"), index=True)
    photo_id: Mapped[int] = mapped_column(ForeignKey("photo.id", ondelete="RESTRICT"), unique=True)

    answer: Mapped[Answer] = relationship(back_populates="photos")
    photo = relationship("Photo")


class Amendment(Base):
    """A correction of a submitted inspection: what changed, why, by whom."""

    __tablename__ = "amendment"

    id: Mapped[int] = mapped_column(primary_key=True)
    inspection_id: Mapped[int] = mapped_column(
        ForeignKey("inspection.id", ondelete="CASCADE"), index=True
    )
    item_id: Mapped[int] = mapped_column(ForeignKey("checklist_item.id", ondelete="RESTRICT"))
    old_value: Mapped[str] = mapped_column(Text, default="")
    new_value: Mapped[str] = mapped_column(Text, default="")
    old_note: Mapped[str] = mapped_column(Text, default="")
    new_note: Mapped[str] = mapped_column(Text, default="")
    reason: Mapped[str] = mapped_column(Text)
    amended_by_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    amended_at: Mapped[datetime] = mapped_column(default=utcnow)

    inspection: Mapped[Inspection] = relationship(back_populates="amendments")
    item: Mapped[ChecklistItem] = relationship()
    amended_by = relationship("User")

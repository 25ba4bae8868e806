"""CompanySetting: one row, edited by the administrator."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base

#: Gregorian (2026-11-25) or the ROC calendar of Taiwan's official papers (民國 115 年 11 月 25 日).
CALENDARS = ("gregorian", "roc")
#: The one row's id: the table never holds another.
SETTING_ID = 1


class CompanySetting(Base):
    __tablename__ = "company_setting"
    __table_args__ = (
        CheckConstraint("id = 1", name="single_row"),
        CheckConstraint("date_calendar IN ('gregorian', 'roc')", name="date_calendar"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The security company's name, printed at the head of reports; empty: not printed.
    company_name: Mapped[str] = mapped_column(String(200), server_default="", default="")
    #: How printed reports and sheets write dates: one of CALENDARS.
    date_calendar: Mapped[str] = mapped_column(
        String(10), server_default="gregorian", default="gregorian"
    )
    updated_at: Mapped[datetime | None] = mapped_column(nullable=True)
    updated_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), nullable=True
    )

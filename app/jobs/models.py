"""JobState: when each scheduled job runs next, and how its last run went."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base


class JobState(Base):
    """One row per job. A runner takes a job's turn by moving next_run_at forward in one
    conditional UPDATE, so with several runners (PostgreSQL) each turn runs once."""

    __tablename__ = "job_state"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    next_run_at: Mapped[datetime]
    last_started_at: Mapped[datetime | None]
    last_finished_at: Mapped[datetime | None]
    #: What the last successful run did (e.g. notifications created, mails sent).
    last_result: Mapped[int | None]
    #: The last run's exception (type and message), empty when it succeeded.
    last_error: Mapped[str] = mapped_column(String(500), default="")

"""Run registered jobs when they are due, each in its own transaction.

Why a loop and not a scheduler library: the jobs are a handful of fixed intervals, and the
hard parts are ones a library does not solve here. APScheduler 3 (the maintained release)
keeps its schedule per process and its documentation says a job store must never be shared
between schedulers, so two runners would run every job twice; `schedule` is in-process only
too; Celery beat needs a broker. Keeping each job's next turn in the `job_state` table gives
one behaviour for the loop and for cron's `--once`, survives restarts, and lets any number of
runners share the work on PostgreSQL: a runner takes a turn with one conditional UPDATE.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from app.db import utcnow
from app.extensions import db
from app.jobs.models import JobState

log = logging.getLogger(__name__)

#: The loop wakes at every full minute.
TICK_SECONDS = 60


@dataclass(frozen=True)
class Job:
    name: str
    #: How often it runs; turns fall on whole minutes.
    every: timedelta
    #: The work: takes the instant of this turn, returns a count for the log (e.g. mails
    #: sent). It flushes and never commits; the runner commits once when it returns.
    run: Callable[[datetime], int]

    @property
    def description(self) -> str:
        return (self.run.__doc__ or "").strip().splitlines()[0] if self.run.__doc__ else ""


@dataclass(frozen=True)
class Outcome:
    job: str
    result: int | None = None
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error


def _minute(now: datetime) -> datetime:
    return now.replace(second=0, microsecond=0)


def ensure_states(jobs: Sequence[Job], now: datetime) -> None:
    """A job_state row for each job, due at once the first time."""
    known = set(db.session.scalars(select(JobState.name)))
    missing = [job for job in jobs if job.name not in known]
    if not missing:
        return
    db.session.add_all(JobState(name=job.name, next_run_at=now) for job in missing)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()  # another runner created them a moment ago


def take_turn(job: Job, now: datetime) -> bool:
    """Claim this job's due turn for this runner (committed at once); False if not due yet
    or another runner has taken it."""
    result = db.session.execute(
        update(JobState)
        .where(JobState.name == job.name, JobState.next_run_at <= now)
        .values(next_run_at=_minute(now) + job.every, last_started_at=now),
        execution_options={"synchronize_session": False},
    )
    db.session.commit()
    return result.rowcount == 1


def _error_text(exc: BaseException) -> str:
    """Type and first line only: SQL errors carry their statement and parameters after it."""
    first = (str(exc).splitlines() or [""])[0]
    return f"{type(exc).__name__}: {first}"[:500]


def _finish(job: Job, *, result: int | None, error: str) -> None:
    db.session.execute(
        update(JobState)
        .where(JobState.name == job.name)
        .values(last_finished_at=utcnow(), last_result=result, last_error=error),
        execution_options={"synchronize_session": False},
    )
    db.session.commit()


def run_job(job: Job, now: datetime) -> Outcome:
    """Run one job in its own transaction: commit when it returns; roll back and log when it
    raises (the next job still runs)."""
    started = time.monotonic()
    try:
        result = job.run(now)
        db.session.commit()
    except Exception as exc:  # any failure of one job must not stop the others
        db.session.rollback()
        log.exception("job=%s failed", job.name)
        outcome = Outcome(job.name, error=_error_text(exc))
    else:
        outcome = Outcome(job.name, result=result)
        log.info(
            "job=%s result=%s duration_ms=%d",
            job.name,
            result,
            (time.monotonic() - started) * 1000,
        )
    _finish(job, result=outcome.result, error=outcome.error)
    return outcome


def run_due(
    jobs: Sequence[Job],
    now: datetime | None = None,
    *,
    force: bool = False,
    should_stop: Callable[[], bool] | None = None,
) -> list[Outcome]:
    """Run every job whose turn has come (all of them with force); returns what each did."""
    now = now or utcnow()
    ensure_states(jobs, now)
    outcomes = []
    for job in jobs:
        if should_stop and should_stop():
            break
        if take_turn(job, now) or force:
            outcomes.append(run_job(job, now))
    return outcomes


def run_forever(jobs: Sequence[Job], stop: threading.Event) -> None:
    """Run the due jobs at every full minute until `stop` is set (SIGTERM / SIGINT).

    A stop request lets the running job finish and commit; the jobs after it wait for the
    next start. A failed pass (say, the database restarting) is logged and retried.
    """
    log.info("jobs runner started: %s", ", ".join(job.name for job in jobs))
    while not stop.is_set():
        try:
            run_due(jobs, utcnow(), should_stop=stop.is_set)
        except Exception:
            log.exception("jobs pass failed")
        finally:
            db.session.remove()  # a fresh session (and connection check) each minute
        stop.wait(TICK_SECONDS - time.time() % TICK_SECONDS)
    log.info("jobs runner stopped")

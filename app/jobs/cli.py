"""`flask jobs run [--once]` and `flask jobs list`."""

from __future__ import annotations

import logging
import signal
import threading

import click
from flask.cli import AppGroup
from sqlalchemy import select

from app.extensions import db
from app.jobs.models import JobState
from app.jobs.runner import run_due, run_forever
from app.jobs.tasks import JOBS

jobs_cli = AppGroup(
    "jobs",
    help="Scheduled work: late alarms, overdue repairs, maintenance due, reminders, mail, push.",
)


def _configure_logging(level: int) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("app").setLevel(level)


@jobs_cli.command("run")
@click.option("--once", is_flag=True, help="Run the due jobs once and exit (for cron).")
@click.option(
    "--job",
    "names",
    multiple=True,
    type=click.Choice([job.name for job in JOBS]),
    help="Only this job (repeatable).",
)
@click.option("--force", is_flag=True, help="Run the jobs even if their turn has not come.")
@click.option("-v", "--verbose", is_flag=True, help="With --once: say what each job did.")
def run_command(once: bool, names: tuple[str, ...], force: bool, verbose: bool) -> None:
    """Run the due jobs every minute until SIGTERM or Ctrl-C (or once, with --once)."""
    jobs = [job for job in JOBS if not names or job.name in names]
    if once:
        # Quiet when all is well, so that cron mails only failures.
        _configure_logging(logging.INFO if verbose else logging.WARNING)
        outcomes = run_due(jobs, force=force)
        if verbose:
            for outcome in outcomes:
                click.echo(f"{outcome.job}: {outcome.result if outcome.ok else outcome.error}")
            if not outcomes:
                click.echo("no job due")
        if any(not outcome.ok for outcome in outcomes):
            raise SystemExit(1)
        return
    _configure_logging(logging.INFO)
    stop = threading.Event()

    def request_stop(signum, _frame) -> None:
        logging.getLogger(__name__).info("signal %s: stopping after the running job", signum)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    click.echo("jobs runner started; stop with Ctrl-C or SIGTERM", err=True)
    run_forever(jobs, stop)


@jobs_cli.command("list")
def list_command() -> None:
    """Each job: how often it runs, when next, and how its last run went."""
    states = {state.name: state for state in db.session.scalars(select(JobState))}

    def when(value) -> str:
        return value.strftime("%Y-%m-%d %H:%M UTC") if value else "-"

    for job in JOBS:
        state = states.get(job.name)
        minutes = int(job.every.total_seconds() // 60)
        line = f"{job.name:<20} every {minutes:>3} min"
        if state is None:
            line += "  never run"
        else:
            last = state.last_error or f"result {state.last_result}"
            line += f"  next {when(state.next_run_at)}  last {when(state.last_started_at)}: {last}"
        click.echo(line)
        click.echo(f"{'':<20} {job.description}")

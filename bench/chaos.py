"""Faults under load: gunicorn killed, the database's connections cut, Redis stopped (issue 15).

    .venv/bin/python bench/chaos.py --db both                   # 2 min of load per database
    .venv/bin/python bench/chaos.py --db sqlite --users 20 --duration 30

The load of bench/load.py (supervisors, guards, managers; --users, --think) runs for
--duration seconds against gunicorn, every user retrying as the offline outbox does: a request
that got no answer or a 5xx is sent again with the same device uuid and body, for up to
--retry seconds. Meanwhile, at fixed shares of the duration:

1. at 20 %: `kill -9` of gunicorn's master and workers, then a new gunicorn on the same port;
2. at 45 % (PostgreSQL): every connection of the bench's database is ended with
   `pg_terminate_backend` (what a server restart does to the app; the cluster is shared with
   other work on this machine, so it is not restarted itself); SQLite: a second `kill -9`;
3. at 65 %: the Redis that holds the rate limits is stopped (a redis-server of the bench's own
   on a free port, so no other user of the machine's Redis is touched); a sign-in and a wrong
   password are tried while it is down; it is started again at 85 %.

Afterwards: every submission, check-in and photo that was ever answered 2xx is in the database
exactly once (inspections submitted), `flask audit verify` passes, no answer that reached a
user said `database is locked`, and no request ended in an error after its retries.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from common import (
    ROOT,
    AsyncUser,
    Server,
    add_harness_args,
    databases,
    ensure_year,
    free_port,
    kill_gunicorn,
    machine,
)
from load import Run, drive, make_plan, sign_in, summary, table


class Redis:
    """A redis-server of the bench's own (no disk), so stopping it disturbs no one else."""

    def __init__(self) -> None:
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise SystemExit("redis-server is not installed")
        self.proc = subprocess.Popen(  # noqa: S603
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", *("--save", "")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                import redis

                if redis.Redis(port=self.port, socket_timeout=1).ping():
                    return
            except Exception:
                time.sleep(0.1)
                continue
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=10)


def cut_connections(url: str) -> int:
    """pg_terminate_backend of every other connection to this database; how many."""
    import psycopg
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    with psycopg.connect(
        host=parsed.host,
        port=parsed.port or 5432,
        user=parsed.username,
        dbname="postgres",
        autocommit=True,
    ) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (parsed.database,),
        ).fetchall()
    return len(rows)


async def faults(server: Server, redis: Redis, run: Run, label: str, url: str, log, username):
    """The faults at their shares of the run, each logged with what it found."""

    async def at(share: float) -> None:
        await asyncio.sleep(max(0.0, run.start + share * run.duration - time.monotonic()))

    async def kill_and_restart(what: str) -> None:
        began = time.monotonic()
        kill_gunicorn(server.proc)
        await asyncio.sleep(1.0)
        await asyncio.to_thread(server.start)
        log.append(
            f"{what}: kill -9 of gunicorn, new one answering after {time.monotonic() - began:.1f} s"
        )

    await at(0.20)
    await kill_and_restart("20 %")
    await at(0.45)
    if label == "PostgreSQL":
        cut = await asyncio.to_thread(cut_connections, url)
        log.append(f"45 %: pg_terminate_backend of {cut} connections of the database")
    else:
        await kill_and_restart("45 %")
    await at(0.65)
    redis.stop()
    log.append("65 %: Redis stopped")
    await asyncio.sleep(1.0)
    log.append("   with Redis down: " + await limited_logins(server.base, username))
    await at(0.85)
    await asyncio.to_thread(redis.start)
    log.append("85 %: Redis started again")


async def limited_logins(base: str, username: str) -> str:
    """A sign-in and a wrong password while the rate limits' store is down."""
    user = AsyncUser(base, username)
    try:
        await user.login()
        good = "sign-in 303"
    except RuntimeError as exc:
        good = f"sign-in FAILED ({exc})"
    finally:
        await user.close()
    stranger = AsyncUser(base, username)
    try:
        wrong = await stranger.wrong_password()
    finally:
        await stranger.close()
    return f"{good}, wrong password answered {wrong}"


def unhandled(log: str) -> list[str]:
    """Each kind of unhandled error in gunicorn's log, counted: the app's error page (500, or
    503 for a passing database condition) by route and exception, and gunicorn's own bare 500
    for an error the app's handler did not catch, by the exception's last line."""
    found: dict[str, int] = {}
    lines = log.splitlines()
    for number, line in enumerate(lines):
        if "unhandled error" in line:
            status = re.search(r'"status": ?(\d+)', line)
            route = re.search(r'"route": ?"([^"]*)"', line)
            error = re.search(r'"error": ?"([^"]*)"', line)
            locked = " (database is locked)" if "database is locked" in line else ""
            kind = (
                f"{status.group(1) if status else 500} at {route.group(1) if route else '?'}: "
                f"{error.group(1) if error else '?'}{locked}"
            )
        elif "Error handling request" in line or "Exception on " in line:
            # A traceback follows; its last line names the exception.
            tail = next(
                (
                    later
                    for later in lines[number + 1 : number + 200]
                    if later and not later.startswith((" ", "Traceback", "During", "The above"))
                ),
                "?",
            )
            kind = f"bare 500 from gunicorn at {line.split()[-1]}: {tail[:160]}"
        else:
            continue
        found[kind] = found.get(kind, 0) + 1
    return [f"{kind} ×{n}" for kind, n in sorted(found.items(), key=lambda kv: -kv[1])]


def check(url: str, run: Run) -> list[tuple[str, bool, str]]:
    """(what, passed, detail) of every check after the run."""
    from pages import make_app
    from sqlalchemy import func, select

    from app.extensions import db
    from app.inspections.models import Inspection
    from app.photos.models import Photo
    from app.sites.models import CheckIn

    results = []
    app = make_app(url)
    with app.app_context():
        for label, model, keys in (
            ("submissions", Inspection, run.submitted),
            ("check-ins", CheckIn, run.check_ins),
            ("photos", Photo, run.photos),
        ):
            found = (
                dict(
                    db.session.execute(
                        select(model.uuid, func.count())
                        .where(model.uuid.in_(keys))
                        .group_by(model.uuid)
                    ).all()
                )
                if keys
                else {}
            )
            wrong = [k for k in keys if found.get(k) != 1]
            if model is Inspection and keys:
                drafts = db.session.scalar(
                    select(func.count())
                    .select_from(Inspection)
                    .where(Inspection.uuid.in_(keys), Inspection.status == "draft")
                )
                wrong += ["draft"] * drafts
            results.append(
                (
                    f"every {label[:-1]} answered 2xx is there exactly once",
                    not wrong and len(set(keys)) == len(keys),
                    f"{len(keys)} answered 2xx, {len(wrong)} missing, doubled or still drafts",
                )
            )
        db.session.remove()
    verify = subprocess.run(  # noqa: S603
        [str(ROOT / ".venv" / "bin" / "flask"), "--app", "app", "audit", "verify"],
        cwd=ROOT,
        env=dict(os.environ, DATABASE_URL=url),
        capture_output=True,
        text=True,
        check=False,
    )
    said = (verify.stdout + verify.stderr).strip().splitlines()
    results.append(("`flask audit verify`", verify.returncode == 0, said[-1] if said else ""))
    return results


async def chaos_run(server: Server, redis: Redis, plan, label: str, url: str, args):
    signed = await sign_in(server.base, plan, args.users, retry=args.retry)
    run = Run(args.think, 0.0, args.duration)
    log: list[str] = []
    username = signed[0][1].username
    try:
        await asyncio.gather(
            drive(signed, run), faults(server, redis, run, label, url, log, username)
        )
    finally:
        await asyncio.gather(*(user.close() for _, user, _ in signed))
    locked = sum(len(user.locked) for _, user, _ in signed)
    return run, log, locked


def run_database(label: str, url: str, args) -> str:
    if not args.no_load:
        ensure_year(url)
    plan = make_plan(url)
    redis = Redis()
    redis.start()
    before = machine()
    try:
        with Server(url, args.model, {"RATELIMIT_STORAGE_URI": redis.url}) as server:
            run, log, locked = asyncio.run(chaos_run(server, redis, plan, label, url, args))
            server_log = server.log_text()
    finally:
        redis.stop()
    if args.server_log:
        Path(f"{args.server_log}-{label}").write_text(server_log)
    s = summary(run)
    final_5xx = sum(
        n for step in run.steps.values() for k, n in step.errors.items() if k.startswith("5")
    )
    why: dict[str, int] = {}
    for step in run.steps.values():
        for reason, n in step.retried.items():
            why[reason] = why.get(reason, 0) + n
    retried = ", ".join(f"{k} {v}" for k, v in sorted(why.items())) or "none"
    checks = check(url, run)
    checks += [
        (
            "no answer that reached a user said `database is locked`",
            locked == 0,
            f"{locked} answers; {server_log.count('database is locked')} in gunicorn's log"
            + "".join(f"; {line}" for line in unhandled(server_log)),
        ),
        (
            "no request ended in an error after its retries",
            s["errors"] == 0,
            f"{s['errors']} errors ({final_5xx} of them 5xx); retried on the way: {retried}",
        ),
    ]
    lines = [
        f"### {label}: {args.users} users, one action per {args.think:g} s, {args.duration:g} s "
        f"with faults\n",
        f"gunicorn {args.model}; {before} before, {machine()} after.\n",
        *[f"- {entry}" for entry in log],
        "",
        "| check | result | detail |",
        "|---|---|---|",
        *[f"| {what} | {'pass' if ok else '**FAIL**'} | {detail} |" for what, ok, detail in checks],
        "",
        table(run),
    ]
    text = "\n".join(lines)
    print(text + "\n", file=sys.stderr, flush=True)
    return text, all(ok for _, ok, _ in checks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_harness_args(parser)
    parser.add_argument("--users", type=int, default=50, help="virtual users")
    # Faster than bench/load.py's users and longer, so that supervisors (about 47 actions per
    # inspection) submit a few times each across the faults.
    parser.add_argument("--think", type=float, default=0.5, help="mean seconds between actions")
    parser.add_argument("--duration", type=float, default=120.0, help="seconds of load")
    parser.add_argument("--retry", type=float, default=60.0, help="seconds a client retries")
    parser.add_argument("--server-log", help="keep gunicorn's log in PATH-SQLite / PATH-PostgreSQL")
    args = parser.parse_args()
    sections, passed = [], True
    for label, url in databases(args):
        text, ok = run_database(label, url, args)
        sections.append(text)
        passed &= ok
    print("\n\n".join(sections))
    sys.exit(0 if passed else 1)


if __name__ == "__main__":
    main()

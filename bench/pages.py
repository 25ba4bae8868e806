"""Server time and SQL statements per page on a year of data (issue 9).

    .venv/bin/python bench/pages.py --db sqlite      # instance/bench-large.db
    .venv/bin/python bench/pages.py --db postgres    # $BENCH_POSTGRES_URL or h_bench_large
    .venv/bin/python bench/pages.py --db both

Each page is requested in-process through the Flask test client (no network, no WSGI
server), signed in as the role shown: a few warm-up requests, then --runs timed ones. The
time is the median wall time of the whole request (routing, queries, templates); the
statement count comes from a SQLAlchemy `before_cursor_execute` listener. A database
without the year-scale demo is migrated and loaded first (`flask demo --scale large`).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import statistics
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# Its neighbours (common.py) also when imported as `bench.pages` (tests/test_bench.py).
sys.path.insert(0, str(ROOT / "bench"))

from common import DEFAULT_POSTGRES, DEFAULT_SQLITE  # noqa: E402
from flask import Flask  # noqa: E402
from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import event, func, select  # noqa: E402

from app import create_app  # noqa: E402
from app.demo import DEMO_PASSWORD as PASSWORD  # noqa: E402
from app.extensions import db  # noqa: E402

#: The bench's own draft inspection (the same one every run: answers overwrite answers).
BENCH_DRAFT = str(uuid.uuid5(uuid.NAMESPACE_URL, "guardpost-bench-draft"))


@dataclass
class Result:
    page: str
    role: str
    status: int
    median_ms: float
    statements: int
    #: CPU time of this process and, on PostgreSQL, of the server process serving it (read
    #: from /proc/<pid>/schedstat): steadier than wall time on a busy machine.
    cpu_ms: float


def make_app(url: str) -> Flask:
    # The demo's instance/ secrets (same AUDIT_KEY: logins append to a chain that verifies).
    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "RATELIMIT_ENABLED": False,
            "WTF_CSRF_ENABLED": False,
            # The demo's manager and admin have no second factor: without this the gate would
            # answer their pages with a redirect to /account/security.
            "SECOND_FACTOR_ROLES": (),
        }
    )


def ensure_data(app: Flask, factor: float) -> None:
    """Migrate and load the year-scale demo if this database lacks it."""
    from app import demo_large

    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        if not demo_large.is_loaded():
            _load(factor)
        if db.engine.dialect.name == "postgresql":
            # A live database's autovacuum keeps the visibility map current; a freshly bulk
            # loaded (or migrated) one may have none yet, and then every index-only scan
            # fetches its heap rows too. Quick once done.
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM (ANALYZE)")


def _load(factor: float) -> None:
    from app import demo_large
    from app.demo import load_demo

    print("Loading the year-scale demo (once per database) ...", flush=True)
    started = time.perf_counter()
    load_demo()
    db.session.commit()
    counts = demo_large.load_large(factor=factor)
    db.session.commit()
    took = demo_large.elapsed(time.perf_counter() - started)
    print(f"  loaded {sum(counts.values()):,} rows in {took}", flush=True)


def row_counts(app: Flask) -> dict[str, int]:
    from app.auth.models import User
    from app.briefings.models import Acknowledgement, Briefing
    from app.incidents.models import AlarmResponse, Incident
    from app.inspections.models import Answer, Inspection
    from app.sites.models import CheckIn, Site

    models = {
        "sites": Site,
        "guards": User,
        "supervisors": User,
        "inspections": Inspection,
        "answers": Answer,
        "incidents": Incident,
        "alarm responses": AlarmResponse,
        "check-ins": CheckIn,
        "briefings": Briefing,
        "acknowledgements": Acknowledgement,
    }
    counts = {}
    with app.app_context():
        for label, model in models.items():
            stmt = select(func.count()).select_from(model)
            if label in ("guards", "supervisors"):
                stmt = stmt.where(User.role == label[:-1])
            counts[label] = db.session.scalar(stmt)
        db.session.remove()
    return counts


def targets(app: Flask) -> dict[str, object]:
    """Ids the pages need: the demo users' sites, a QR token, a checklist item."""
    from app.auth.models import User
    from app.inspections.models import ChecklistItem, ChecklistTemplate
    from app.sites.models import Site, SiteAssignment

    with app.app_context():
        users = {u.username: u for u in db.session.scalars(select(User))}

        def first_site(username: str) -> Site:
            return db.session.scalar(
                select(Site)
                .join(SiteAssignment, SiteAssignment.site_id == Site.id)
                .where(SiteAssignment.user_id == users[username].id, Site.is_active.is_(True))
                .order_by(Site.code)
                .limit(1)
            )

        guard_site, supervisor_site = first_site("guard"), first_site("supervisor")
        item = db.session.scalar(
            select(ChecklistItem)
            .join(ChecklistTemplate)
            .where(ChecklistTemplate.is_active.is_(True), ChecklistItem.kind == "pass_fail")
            .order_by(ChecklistItem.position)
            .limit(1)
        )
        site_sheet, roll_up = _sheets(users["manager"], supervisor_site)
        found = {
            "guard_site": guard_site.id,
            "guard_token": guard_site.qr_token,
            "supervisor_site": supervisor_site.id,
            "item": item.id,
            "site_sheet": site_sheet,
            "roll_up": roll_up,
        }
        db.session.remove()
    return found


def _sheets(manager, site) -> tuple[int, int]:
    """Last month's control-record sheets (live figures, not yet approved) of the supervisor's
    site and of its client: prepared once, found again on later runs."""
    from app.i18n import taipei_today
    from app.records import services as records

    today = taipei_today()
    month = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    site_sheet = records.prepare(user=manager, month=month, today=today, remarks="", site=site)
    roll_up = records.prepare(
        user=manager, month=month, today=today, remarks="", client=site.client
    )
    db.session.commit()
    return site_sheet.id, roll_up.id


def pages(t: dict) -> list[tuple[str, str, str, str]]:
    """(page, role, method, path) in the order of issue 9's list."""
    draft = f"/inspections/{BENCH_DRAFT}"
    rows = [(f"home ({role})", role, "GET", "/") for role in ROLES]
    rows += [
        ("site card", "supervisor", "GET", f"/sites/{t['supervisor_site']}"),
        ("site card", "guard", "GET", f"/sites/{t['guard_site']}"),
        ("scan landing /s/<token>", "guard", "GET", f"/s/{t['guard_token']}"),
        ("inspection run page", "supervisor", "GET", draft),
        ("answer save (POST, htmx)", "supervisor", "POST", f"{draft}/items/{t['item']}"),
    ]
    lists = [
        ("inspections", "/inspections", ("supervisor", "manager")),
        ("incidents", "/incidents", ("supervisor", "manager")),
        ("alarms", "/alarms", ("guard", "supervisor", "manager")),
        ("repairs", "/repairs", ("supervisor", "manager")),
        ("maintenance", "/maintenance", ("supervisor", "manager")),
        ("check-ins", "/check-ins", ("guard", "supervisor", "manager")),
        ("briefings", "/briefings", ("guard", "supervisor", "manager")),
        ("training", "/training", ("guard", "supervisor", "manager")),
        ("notifications", "/notifications", ("supervisor", "manager")),
        ("account", "/account", ("guard", "supervisor", "manager")),
        ("dashboard, 30 days", "/dashboard", ("supervisor", "manager")),
        ("dashboard, 12 months", "/dashboard?preset=12_months", ("supervisor", "manager")),
    ]
    for name, path, roles in lists:
        rows += [(name, role, "GET", path) for role in roles]
    rows += [
        ("sheet, a site's month", "supervisor", "GET", f"/records/{t['site_sheet']}"),
        ("sheet, a client's month", "manager", "GET", f"/records/{t['roll_up']}"),
        ("sheet PDF, a site's month", "supervisor", "GET", f"/records/{t['site_sheet']}.pdf"),
    ]
    return rows


#: The year's export of answers: streamed once (it is over a million rows), not timed per run.
CSV_PATH = "/exports/answers.csv?preset=12_months"
#: Rows read before the first memory reading.
CSV_EARLY_ROWS = 10_000


ROLES = ("guard", "supervisor", "manager", "admin", "client")


class _BackendCpu:
    """The CPU time of the PostgreSQL server processes behind the pool's connections (their
    pid asked once per connection, at check-out); nothing on SQLite, which runs in-process."""

    def __init__(self, engine):
        self.engine, self.pids = engine, set()
        if engine.dialect.name == "postgresql":
            event.listen(engine, "checkout", self._checkout)
            engine.dispose()  # connections opened from now on are checked out here

    def _checkout(self, dbapi_connection, record, _proxy) -> None:
        if "pid" not in record.info:
            cursor = dbapi_connection.cursor()
            cursor.execute("SELECT pg_backend_pid()")
            record.info["pid"] = cursor.fetchone()[0]
            cursor.close()
        self.pids.add(record.info["pid"])

    def nanoseconds(self) -> int:
        total = 0
        for pid in self.pids:
            with contextlib.suppress(OSError, ValueError):
                total += int(Path(f"/proc/{pid}/schedstat").read_text().split()[0])
        return total

    def close(self) -> None:
        if self.engine.dialect.name == "postgresql":
            event.remove(self.engine, "checkout", self._checkout)


def measure(app: Flask, runs: int, warmup: int) -> list[Result]:
    t = targets(app)
    clients = {}
    for role in ROLES:
        client = app.test_client()
        response = client.post("/login", data={"username": role, "password": PASSWORD})
        if response.status_code != 303:
            raise SystemExit(f"login as {role} failed ({response.status_code})")
        clients[role] = client
    # The bench's draft at one of the supervisor's sites (idempotent by its uuid).
    start = clients["supervisor"].post(
        f"/sites/{t['supervisor_site']}/inspections", data={"uuid": BENCH_DRAFT}
    )
    if start.status_code != 303:
        raise SystemExit(f"could not start the bench inspection ({start.status_code})")

    counter = {"n": 0}

    def count(*_args):
        counter["n"] += 1

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    backends = _BackendCpu(engine)
    results = []
    try:
        for page, role, method, path in pages(t):
            client = clients[role]

            def request(client=client, method=method, path=path):
                if method == "POST":
                    return client.post(path, data={"value": "pass"}, headers={"HX-Request": "true"})
                return client.get(path)

            for _ in range(warmup):
                request()
            times, cpu, statements, status = [], [], [], 0
            for _ in range(runs):
                counter["n"] = 0
                started, cpu_started = time.perf_counter(), time.process_time()
                server_started = backends.nanoseconds()
                response = request()
                times.append((time.perf_counter() - started) * 1000)
                cpu.append(
                    (time.process_time() - cpu_started) * 1000
                    + (backends.nanoseconds() - server_started) / 1e6
                )
                statements.append(counter["n"])
                status = response.status_code
            results.append(
                Result(
                    page,
                    role,
                    status,
                    statistics.median(times),
                    round(statistics.median(statements)),
                    statistics.median(cpu),
                )
            )
            print(f"  {page:<26} {role:<10} {results[-1].median_ms:7.1f} ms", file=sys.stderr)
    finally:
        event.remove(engine, "before_cursor_execute", count)
        backends.close()
    return results


def _rss_kib(field: str = "VmRSS") -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


@dataclass
class Stream:
    rows: int
    seconds: float
    cpu_seconds: float
    megabytes: float
    #: Resident memory after the first CSV_EARLY_ROWS rows, and its peak over the whole stream.
    rss_early_mib: float
    rss_peak_mib: float


def measure_csv(app: Flask) -> Stream:
    """The year's answers as CSV, read chunk by chunk as a browser would: rows, time, and this
    process's resident memory after the first rows against its peak over the whole stream (the
    kernel's high-water mark is reset first, /proc/self/clear_refs)."""
    client = app.test_client()
    client.post("/login", data={"username": "manager", "password": PASSWORD})
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")
    started, cpu_started = time.perf_counter(), time.process_time()
    response = client.get(CSV_PATH, buffered=False)
    if response.status_code != 200:
        raise SystemExit(f"the answers CSV answered {response.status_code}")
    lines, size, early = 0, 0, 0.0
    for chunk in response.response:
        size += len(chunk)
        lines += chunk.count(b"\n")
        if not early and lines > CSV_EARLY_ROWS:
            early = _rss_kib() / 1024
    response.close()
    return Stream(
        rows=lines - 1,  # the header
        seconds=time.perf_counter() - started,
        cpu_seconds=time.process_time() - cpu_started,
        megabytes=size / 1e6,
        rss_early_mib=early,
        rss_peak_mib=_rss_kib("VmHWM") / 1024,
    )


def run(kind: str, url: str, args) -> tuple[dict[str, int], list[Result]]:
    print(f"{kind}: {url.split('@')[-1]}", file=sys.stderr)
    app = make_app(url)
    ensure_data(app, args.factor)
    counts = row_counts(app)
    results = measure(app, args.runs, args.warmup)
    if args.csv:
        print("  the year's answers CSV ...", file=sys.stderr)
        streams[kind] = measure_csv(app)
    return counts, results


#: The CSV figures of each database (filled by run()).
streams: dict[str, Stream] = {}


def table(results: dict[str, list[Result]], target_ms: float, cpu: bool) -> str:
    kinds = list(results)
    cpu_head = {k: f" {k} CPU ms |" if cpu else "" for k in kinds}
    head = "| page | as |" + "".join(f" {k} ms |{cpu_head[k]} {k} SQL |" for k in kinds)
    lines = [head, "|" + "---|" * (2 + (3 if cpu else 2) * len(kinds))]
    for i, first in enumerate(results[kinds[0]]):
        cells = []
        for k in kinds:
            r = results[k][i]
            mark = "" if r.median_ms <= target_ms else " ⚠"
            status = "" if r.status in (200,) else f" ({r.status})"
            cpu_cell = f" {r.cpu_ms:.1f} |" if cpu else ""
            cells.append(f" {r.median_ms:.1f}{mark}{status} |{cpu_cell} {r.statements} |")
        lines.append(f"| {first.page} | {first.role} |" + "".join(cells))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="sqlite")
    parser.add_argument("--sqlite-url", default=DEFAULT_SQLITE)
    parser.add_argument(
        "--postgres-url", default=os.environ.get("BENCH_POSTGRES_URL", DEFAULT_POSTGRES)
    )
    parser.add_argument("--runs", type=int, default=15, help="timed requests per page")
    parser.add_argument("--warmup", type=int, default=3, help="untimed requests per page first")
    parser.add_argument("--target-ms", type=float, default=60.0, help="marks slower pages ⚠")
    parser.add_argument("--log", action="store_true", help="keep the per-request log lines")
    parser.add_argument("--factor", type=float, default=1.0, help="size of a data set loaded here")
    parser.add_argument("--cpu", action="store_true", help="also this process's CPU time")
    parser.add_argument(
        "--no-csv", dest="csv", action="store_false", help="skip the year's answers CSV"
    )
    args = parser.parse_args()
    if not args.log:  # one JSON line per request would drown the table
        logging.getLogger("guardpost.request").setLevel(logging.WARNING)

    urls = {"SQLite": args.sqlite_url, "PostgreSQL": args.postgres_url}
    kinds = {"sqlite": ["SQLite"], "postgres": ["PostgreSQL"], "both": ["SQLite", "PostgreSQL"]}
    results, counts = {}, {}
    load_before = os.getloadavg()[0]
    for kind in kinds[args.db]:
        counts[kind], results[kind] = run(kind, urls[kind], args)
    print(
        f"Median server time of {args.runs} requests (in-process, Flask test client) and SQL "
        f"statements per request; ⚠ over {args.target_ms:g} ms. {os.cpu_count()} CPUs, load "
        f"average {load_before:.1f} before and {os.getloadavg()[0]:.1f} after.\n"
    )
    for kind, numbers in counts.items():
        print(f"{kind} data: " + ", ".join(f"{v:,} {k}" for k, v in numbers.items()))
    print()
    print(table(results, args.target_ms, args.cpu))
    for kind, s in streams.items():
        print(
            f"\n{kind}: the year's answers CSV ({CSV_PATH}, manager): {s.rows:,} rows, "
            f"{s.megabytes:.0f} MB in {s.seconds:.1f} s ({s.cpu_seconds:.1f} s CPU); resident "
            f"memory {s.rss_early_mib:.0f} MiB after {CSV_EARLY_ROWS:,} rows, peak "
            f"{s.rss_peak_mib:.0f} MiB over the whole stream "
            f"({s.rss_peak_mib - s.rss_early_mib:+.0f} MiB)."
        )


if __name__ == "__main__":
    main()

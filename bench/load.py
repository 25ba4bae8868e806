"""Virtual supervisors, guards and managers against a real gunicorn on a year of data (issue 15).

    .venv/bin/python bench/load.py --db both                      # target run, then capacity
    .venv/bin/python bench/load.py --db sqlite --users 50 --duration 60 --no-capacity
    .venv/bin/python bench/load.py --db postgres --capacity-only --steps 5 10 20 40

Each virtual user signs in as its own demo account and then acts in a loop:

- a supervisor: scans a site's label (GET /s/<token>), checks in, starts an inspection,
  opens it, answers every item, attaches a photo and submits with a signature;
- a guard: checks in at one of its sites, acknowledges a briefing, in turn;
- a manager: the dashboard, then a month's control-record sheet, in turn.

Writes go as the offline outbox sends them (JSON, a device uuid in X-Object-UUID). Between two
actions a user pauses --think seconds on average (0.5-1.5 of it, at random); --think 0 is a
closed loop. First --warmup seconds untimed, then --duration seconds timed: requests/s, p50 /
p95 / p99 per step and errors. The capacity search then runs the same mix without pauses at
rising numbers of users (--steps) until p95 passes --capacity-ms.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import random
import sys
import time
import uuid as uuid_lib
from dataclasses import dataclass, field

from common import (
    AsyncUser,
    Server,
    Step,
    add_harness_args,
    databases,
    ensure_year,
    machine,
    median,
    percentile,
)

#: Steps in the order a user meets them, for the tables.
STEPS = (
    "scan",
    "check-in",
    "start",
    "inspection page",
    "answer",
    "photo",
    "submit",
    "guard check-in",
    "acknowledge",
    "dashboard",
    "sheet",
)
#: Roles of ten users in turn: 4 supervisors, 5 guards, 1 manager.
MIX = ("supervisor", "guard", "supervisor", "guard", "guard", "supervisor", "guard", "supervisor")
MIX = (*MIX, "guard", "manager")


@dataclass
class SiteWork:
    site_id: int
    token: str
    #: (item id, value) for every item the site answers.
    items: list[tuple[int, str]]


@dataclass
class Plan:
    supervisors: list[tuple[str, list[SiteWork]]]
    guards: list[tuple[str, str, list[int]]]  # username, a site's QR token, briefing ids
    managers: list[tuple[str, list[int]]]  # username, sheet ids
    counts: dict[str, int] = field(default_factory=dict)


def _value(item) -> str:
    if item.kind == "number":
        low = item.min_value if item.min_value is not None else 0.0
        high = item.max_value if item.max_value is not None else low + 10
        return f"{(low + high) / 2:g}"
    if item.kind == "choice":
        return item.choices.splitlines()[0].split("|")[0].strip()
    if item.kind == "text":
        return "正常"
    return "pass"


def sheet_ids() -> list[int]:
    """Control-record sheets (in an app context): the demo's one is made when there is none
    (`flask demo` makes it; the year's loader does not)."""
    from sqlalchemy import func, select

    from app.demo import load_demo_sheets
    from app.extensions import db
    from app.records.models import ControlRecordSheet

    if db.session.scalar(select(func.count()).select_from(ControlRecordSheet)) == 0:
        load_demo_sheets()
        db.session.commit()
    return list(db.session.scalars(select(ControlRecordSheet.id).order_by(ControlRecordSheet.id)))


def make_plan(url: str) -> Plan:
    """Who signs in and what each one works on, read from the database once."""
    from pages import make_app
    from sqlalchemy import func, select

    from app.auth.models import User
    from app.briefings import services as briefings
    from app.briefings.models import Briefing
    from app.extensions import db
    from app.inspections.models import ChecklistTemplate, Inspection
    from app.sites.models import Site, SiteAssignment

    app = make_app(url)
    with app.app_context():
        template = db.session.scalar(
            select(ChecklistTemplate).where(ChecklistTemplate.is_active.is_(True)).limit(1)
        )
        users = list(
            db.session.scalars(select(User).where(User.is_active.is_(True)).order_by(User.id))
        )

        def sites_of(user, limit):
            return list(
                db.session.scalars(
                    select(Site)
                    .join(SiteAssignment, SiteAssignment.site_id == Site.id)
                    .where(SiteAssignment.user_id == user.id, Site.is_active.is_(True))
                    .order_by(Site.code)
                    .limit(limit)
                )
            )

        supervisors = []
        for user in (u for u in users if u.role == "supervisor"):
            work = [
                SiteWork(
                    site.id,
                    site.qr_token,
                    [(i.id, _value(i)) for i in template.live_items if i.applies_to(site)],
                )
                for site in sites_of(user, 3)
            ]
            if work:
                supervisors.append((user.username, work))
        published = list(
            db.session.scalars(
                select(Briefing)
                .where(Briefing.status == "published", Briefing.requires_ack.is_(True))
                .order_by(Briefing.id.desc())
                .limit(40)
            )
        )
        guards = []
        for user in (u for u in users if u.role == "guard"):
            sites = sites_of(user, 1)
            if not sites:
                continue
            mine = [b.id for b in published if briefings.is_in_audience(b, user)][:3]
            guards.append((user.username, sites[0].qr_token, mine))
        sheets = sheet_ids()
        managers = [(u.username, sheets[:3]) for u in users if u.role == "manager"]
        counts = {
            "inspections": db.session.scalar(select(func.count()).select_from(Inspection)),
            "sites": db.session.scalar(select(func.count()).select_from(Site)),
        }
        db.session.remove()
    return Plan(supervisors, guards, managers, counts)


def photo_bytes(seed: int) -> bytes:
    """A small JPEG, different for every seed (a phone's downscaled photo is about this)."""
    from PIL import Image

    rng = random.Random(seed)  # noqa: S311 (pictures, not secrets)
    image = Image.new("RGB", (320, 240), (rng.randrange(256), 40, 40))
    for _ in range(20):
        x, y = rng.randrange(300), rng.randrange(220)
        image.paste((rng.randrange(256), rng.randrange(256), 90), (x, y, x + 20, y + 20))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=80)
    return buffer.getvalue()


SIGNATURE = ""


def signature() -> str:
    global SIGNATURE
    if not SIGNATURE:
        import base64

        from PIL import Image

        buffer = io.BytesIO()
        Image.new("RGB", (300, 100), (255, 255, 255)).save(buffer, format="PNG")
        SIGNATURE = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
    return SIGNATURE


class Run:
    """Shared state of one run: the steps' figures, the timed window, what was acknowledged."""

    def __init__(self, think: float, warmup: float, duration: float) -> None:
        self.steps = {name: Step() for name in STEPS}
        self.think = think
        now = time.monotonic()
        self.start, self.end = now + warmup, now + warmup + duration
        self.duration = duration
        #: uuids answered 2xx (chaos checks each is in the database exactly once).
        self.submitted: list[str] = []
        self.check_ins: list[str] = []
        self.photos: list[str] = []
        self.rng = random.Random(15)  # noqa: S311 (pauses, not secrets)

    def over(self) -> bool:
        return time.monotonic() >= self.end

    def step(self, name: str) -> Step:
        """The step's figures inside the timed window, a throwaway one during the warm-up."""
        return self.steps[name] if time.monotonic() >= self.start else Step()

    async def pause(self) -> None:
        if self.think > 0:
            await asyncio.sleep(self.think * (0.5 + self.rng.random()))
        else:
            await asyncio.sleep(0)


def _ok(response) -> bool:
    return response is not None and (response.status_code < 300 or response.status_code == 303)


async def check_in(user: AsyncUser, run: Run, token: str, step: str) -> None:
    key = str(uuid_lib.uuid4())
    response = await user.send(
        run.step(step), "POST", f"/s/{token}/check-in", key=key, data={"uuid": key}
    )
    if _ok(response):
        run.check_ins.append(key)


async def supervisor(user: AsyncUser, run: Run, work: list[SiteWork], seed: int) -> None:
    n = 0
    while not run.over():
        site = work[n % len(work)]
        n += 1
        await user.send(run.step("scan"), "GET", f"/s/{site.token}")
        await run.pause()
        if run.over():
            return
        await check_in(user, run, site.token, "check-in")
        await run.pause()
        key = str(uuid_lib.uuid4())
        started = await user.send(
            run.step("start"),
            "POST",
            f"/sites/{site.site_id}/inspections",
            key=key,
            data={"uuid": key},
        )
        if not _ok(started):
            await run.pause()
            continue
        await run.pause()
        await user.send(run.step("inspection page"), "GET", f"/inspections/{key}")
        for item_id, value in site.items:
            await run.pause()
            if run.over():
                return
            await user.send(
                run.step("answer"),
                "POST",
                f"/inspections/{key}/items/{item_id}",
                key=str(uuid_lib.uuid5(uuid_lib.NAMESPACE_URL, f"{key}/{item_id}")),
                data={"value": value},
            )
        await run.pause()
        photo = str(uuid_lib.uuid4())
        response = await user.send(
            run.step("photo"),
            "POST",
            f"/inspections/{key}/items/{site.items[0][0]}/photos",
            key=photo,
            data={"photo_uuid": photo},
            files={"photo": ("photo.jpg", photo_bytes(seed * 7919 + n), "image/jpeg")},
        )
        if _ok(response):
            run.photos.append(photo)
        await run.pause()
        response = await user.send(
            run.step("submit"),
            "POST",
            f"/inspections/{key}/submit",
            key=str(uuid_lib.uuid5(uuid_lib.NAMESPACE_URL, f"{key}/submit")),
            data={"signer_name": user.username, "signature": signature()},
        )
        if _ok(response):
            run.submitted.append(key)
        await run.pause()


async def guard(user: AsyncUser, run: Run, token: str, briefings: list[int]) -> None:
    n = 0
    while not run.over():
        if n % 2 == 0 or not briefings:
            await check_in(user, run, token, "guard check-in")
        else:
            briefing = briefings[(n // 2) % len(briefings)]
            await user.send(
                run.step("acknowledge"),
                "POST",
                f"/briefings/{briefing}/ack",
                key=str(uuid_lib.uuid4()),
            )
        n += 1
        await run.pause()


async def manager(user: AsyncUser, run: Run, sheets: list[int]) -> None:
    n = 0
    while not run.over():
        if n % 2 == 0 or not sheets:
            await user.send(run.step("dashboard"), "GET", "/dashboard")
        else:
            await user.send(run.step("sheet"), "GET", f"/records/{sheets[(n // 2) % len(sheets)]}")
        n += 1
        await run.pause()


def cast(plan: Plan, users: int) -> list[tuple[str, str, tuple]]:
    """(role, username, work) of each virtual user: the mix in turn, each its own account
    (managers are few: theirs are shared, one session each)."""
    taken = {"supervisor": 0, "guard": 0, "manager": 0}
    cast_list = []
    for i in range(users):
        role = MIX[i % len(MIX)]
        n = taken[role]
        taken[role] += 1
        if role == "supervisor":
            name, work = plan.supervisors[n % len(plan.supervisors)]
            cast_list.append((role, name, (work,)))
        elif role == "guard":
            name, token, briefings = plan.guards[n % len(plan.guards)]
            cast_list.append((role, name, (token, briefings)))
        else:
            name, sheets = plan.managers[n % len(plan.managers)]
            cast_list.append((role, name, (sheets,)))
    return cast_list


async def sign_in(base: str, plan: Plan, users: int, retry: float = 0.0) -> list:
    """Every virtual user signed in (four logins at a time: each costs an Argon2 hash)."""
    gate = asyncio.Semaphore(4)
    signed = []

    async def one(role, name, work):
        user = AsyncUser(base, name, retry=retry)
        async with gate:
            await user.login()
        signed.append((role, user, work))

    await asyncio.gather(*(one(*c) for c in cast(plan, users)))
    return signed


async def drive(signed: list, run: Run) -> None:
    """Every user's loop, each begun after a pause of its own (people do not start together)."""

    async def staggered(seed, role, user, work):
        await asyncio.sleep(run.think * 5 * run.rng.random())
        if role == "supervisor":
            await supervisor(user, run, *work, seed)
        elif role == "guard":
            await guard(user, run, *work)
        else:
            await manager(user, run, *work)

    await asyncio.gather(*(staggered(seed, *each) for seed, each in enumerate(signed)))


def summary(run: Run) -> dict:
    every = [ms for s in run.steps.values() for ms in s.latencies]
    return {
        "requests": len(every),
        "rate": len(every) / run.duration,
        "p50": median(every),
        "p95": percentile(every, 95),
        "p99": percentile(every, 99),
        "errors": sum(sum(s.errors.values()) for s in run.steps.values()),
        "retries": sum(s.retries for s in run.steps.values()),
    }


def table(run: Run) -> str:
    lines = [
        "| step | requests | req/s | p50 ms | p95 ms | p99 ms | errors |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for name, step in run.steps.items():
        if not step.latencies and not step.errors:
            continue
        errors = ", ".join(f"{k}: {v}" for k, v in step.errors.items()) or "0"
        lines.append(
            f"| {name} | {len(step.latencies)} | {len(step.latencies) / run.duration:.1f} "
            f"| {median(step.latencies):.0f} | {percentile(step.latencies, 95):.0f} "
            f"| {percentile(step.latencies, 99):.0f} | {errors} |"
        )
    s = summary(run)
    lines.append(
        f"| **all** | {s['requests']} | {s['rate']:.1f} | {s['p50']:.0f} | {s['p95']:.0f} "
        f"| {s['p99']:.0f} | {s['errors']} |"
    )
    return "\n".join(lines)


async def measure(base: str, plan: Plan, users: int, think: float, warmup: float, duration: float):
    signed = await sign_in(base, plan, users)
    run = Run(think, warmup, duration)
    try:
        await drive(signed, run)
    finally:
        await asyncio.gather(*(user.close() for _, user, _ in signed))
    return run


def run_database(label: str, url: str, args) -> list[str]:
    out = []
    if not args.no_load:
        ensure_year(url)
    plan = make_plan(url)
    print(
        f"{label}: {len(plan.supervisors)} supervisors, {len(plan.guards)} guards, "
        f"{len(plan.managers)} managers to cast; {plan.counts}",
        file=sys.stderr,
    )
    with Server(url, args.model) as server:
        if not args.capacity_only:
            before = machine()
            run = asyncio.run(
                measure(server.base, plan, args.users, args.think, args.warmup, args.duration)
            )
            s = summary(run)
            verdict = "met" if s["errors"] == 0 and s["p95"] <= args.target_ms else "missed"
            out.append(
                f"### {label}: {args.users} users, one action per {args.think:g} s on average, "
                f"{args.duration:g} s timed after {args.warmup:g} s warm-up\n\n"
                f"gunicorn {args.model}; {before} before, {machine()} after. "
                f"Target (0 errors, p95 <= {args.target_ms:g} ms): **{verdict}** "
                f"({s['rate']:.1f} req/s, p95 {s['p95']:.0f} ms, {s['errors']} errors).\n\n"
                + table(run)
            )
            print(out[-1] + "\n", file=sys.stderr, flush=True)
        if not args.no_capacity:
            rows = [
                "| users | req/s | p50 ms | p95 ms | p99 ms | errors | load average |",
                "|---:|---:|---:|---:|---:|---:|---:|",
            ]
            found = None
            for users in args.steps:
                run = asyncio.run(measure(server.base, plan, users, 0.0, 3.0, args.step_duration))
                s = summary(run)
                rows.append(
                    f"| {users} | {s['rate']:.1f} | {s['p50']:.0f} | {s['p95']:.0f} "
                    f"| {s['p99']:.0f} | {s['errors']} | {machine().split('average ')[1]} |"
                )
                print(rows[-1], file=sys.stderr, flush=True)
                if s["p95"] > args.capacity_ms:
                    found = users
                    break
            figure = (
                f"p95 passed {args.capacity_ms:g} ms at **{found} users**"
                if found
                else f"p95 stayed under {args.capacity_ms:g} ms up to {args.steps[-1]} users"
            )
            out.append(
                f"### {label}: capacity (no pauses, {args.step_duration:g} s per step)\n\n"
                f"{figure}.\n\n" + "\n".join(rows)
            )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_harness_args(parser)
    parser.add_argument("--users", type=int, default=50, help="virtual users of the target run")
    parser.add_argument("--think", type=float, default=1.0, help="mean seconds between actions")
    parser.add_argument("--warmup", type=float, default=5.0, help="untimed seconds first")
    parser.add_argument("--duration", type=float, default=60.0, help="timed seconds")
    parser.add_argument("--target-ms", type=float, default=200.0, help="p95 target")
    parser.add_argument("--capacity-ms", type=float, default=500.0, help="p95 of the capacity")
    parser.add_argument(
        "--steps",
        type=int,
        nargs="+",
        default=[5, 10, 20, 30, 40, 50, 75, 100],
        help="users of the capacity search, in order",
    )
    parser.add_argument("--step-duration", type=float, default=20.0, help="seconds per step")
    parser.add_argument("--no-capacity", action="store_true", help="only the target run")
    parser.add_argument("--capacity-only", action="store_true", help="only the capacity search")
    args = parser.parse_args()
    sections = []
    for label, url in databases(args):
        sections += run_database(label, url, args)
    print("\n\n".join(sections))


if __name__ == "__main__":
    main()

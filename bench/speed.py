"""Requests per second of the field pages as ratios to two floors, and the inspection page's
weight (issue 15).

    .venv/bin/python bench/speed.py --db both
    .venv/bin/python bench/speed.py --db sqlite --duration 5 --rounds 1

One gunicorn (the harnesses' worker model) against the year-scale database. Each endpoint in
turn gets --clients closed-loop clients (next request when the last is answered, `Connection:
close` as from nginx) for --warmup untimed and --duration timed seconds; requests/s counts the
answers with the expected status. The figures to compare are ratios to two floors measured in
the same run and stack:

- `/healthz`: no session, one `SELECT 1`, JSON;
- the signed-in floor, `/notifications/unread`: the session lookup and the sign-in gates, one
  indexed count, a template of a few lines.

Rounds alternate the order of the endpoints, and each round's ratios are to that round's
floors, so a machine that gets busier in the middle favours no page; the table gives the
median over rounds. Page weight: the inspection page's HTML as sent (`Accept-Encoding: br,
gzip`), plus the CSS and the app's own scripts it links (vendored libraries not counted),
each as sent compressed.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import sys
import time

from common import (
    AsyncUser,
    Client,
    Server,
    add_harness_args,
    databases,
    ensure_year,
    machine,
)
from load import sheet_ids

#: (name, role or None for signed out, method, path template, expected status)
ENDPOINTS = [
    ("/healthz (floor)", None, "GET", "/healthz", 200),
    ("signed-in floor", "supervisor", "GET", "/notifications/unread", 200),
    ("scan landing", "guard", "GET", "/s/{token}", 200),
    ("inspection page", "supervisor", "GET", "/inspections/{draft}", 200),
    ("answer save", "supervisor", "POST", "/inspections/{draft}/items/{item}", 200),
    ("dashboard", "manager", "GET", "/dashboard", 200),
    ("monthly sheet", "manager", "GET", "/records/{sheet}", 200),
]
FLOORS = ("/healthz (floor)", "signed-in floor")
WEIGHT_LIMIT, FIRST_HTML_LIMIT = 30 * 1024, 14 * 1024


def targets(url: str) -> dict:
    """The guard's QR token, the supervisor's site and answerable items, a sheet."""
    from pages import make_app
    from pages import targets as page_targets
    from sqlalchemy import select

    from app.extensions import db
    from app.inspections.models import ChecklistItem, ChecklistTemplate

    app = make_app(url)
    found = page_targets(app)
    with app.app_context():
        found["items"] = list(
            db.session.scalars(
                select(ChecklistItem.id)
                .join(ChecklistTemplate)
                .where(ChecklistTemplate.is_active.is_(True), ChecklistItem.kind == "pass_fail")
                .order_by(ChecklistItem.position)
            )
        )
        found["sheet"] = sheet_ids()[0]
        db.session.remove()
    return found


async def loop(user, method, path, expected, stop, counts, data, headers):
    while time.monotonic() < stop:
        began = time.monotonic()
        try:
            response = await user.request(method, path, data=data, headers=headers)
            good = response.status_code == expected
        except Exception:
            good = False
        if began >= counts["from"] and time.monotonic() <= stop:
            counts["ok" if good else "errors"] += 1


async def one(users: dict, t: dict, endpoint, args) -> tuple[float, int]:
    """requests/s with the expected status, and the errors, of one endpoint."""
    _name, role, method, path, expected = endpoint
    user = users[role]
    start = time.monotonic()
    counts = {"ok": 0, "errors": 0, "from": start + args.warmup}
    stop = counts["from"] + args.duration
    tasks = []
    for n in range(args.clients):
        item = t["items"][n % len(t["items"])]
        target = path.format(token=t["guard_token"], draft=t["draft"], item=item, sheet=t["sheet"])
        data = headers = None
        if method == "POST":  # the page's own save: htmx, its fragment back
            data = {"value": "pass", "csrf_token": users["supervisor_token"]}
            headers = {"HX-Request": "true"}
        tasks.append(loop(user, method, target, expected, stop, counts, data, headers))
    await asyncio.gather(*tasks)
    return counts["ok"] / args.duration, counts["errors"]


async def measure(base: str, t: dict, args) -> list[dict[str, tuple[float, int]]]:
    import httpx

    signed = {}
    for role in ("guard", "supervisor", "manager"):
        user = AsyncUser(base, role)
        await user.login()
        signed[role] = user
    draft = await signed["supervisor"].client.post(
        f"/sites/{t['supervisor_site']}/inspections",
        data={"uuid": t["draft"], "csrf_token": signed["supervisor"].token},
    )
    if draft.status_code != 303:
        raise SystemExit(f"could not open the bench's draft ({draft.status_code})")
    clients = {role: user.client for role, user in signed.items()}
    clients[None] = httpx.AsyncClient(base_url=base, headers={"Connection": "close"})
    clients["supervisor_token"] = signed["supervisor"].token
    rounds = []
    try:
        for number in range(args.rounds):
            order = ENDPOINTS if number % 2 == 0 else ENDPOINTS[::-1]
            found = {}
            for endpoint in order:
                found[endpoint[0]] = await one(clients, t, endpoint, args)
                rate, errors = found[endpoint[0]]
                print(
                    f"  round {number + 1} {endpoint[0]:<18} {rate:7.1f} req/s, {errors} errors",
                    file=sys.stderr,
                    flush=True,
                )
            rounds.append(found)
    finally:
        await clients[None].aclose()
        for user in signed.values():
            await user.close()
    return rounds


def weight(port: int, draft: str) -> list[tuple[str, int, str]]:
    """(file, bytes as sent, encoding) of the inspection page and its own CSS and scripts."""
    client = Client(port)
    client.login("supervisor")
    accept = {"Accept-Encoding": "br, gzip"}
    status, html = client.request("GET", f"/inspections/{draft}", extra=accept)
    if status != 200:
        raise SystemExit(f"inspection page: {status}")
    rows = [("inspection page (HTML)", len(html), client.headers.get("Content-Encoding", "none"))]
    plain = Client(port)
    plain.cookies = client.cookies
    _status, decoded = plain.request("GET", f"/inspections/{draft}")
    links = re.findall(r'<link rel="stylesheet" href="([^"]+)"', decoded.decode())
    links += re.findall(r'<script src="([^"]+)"', decoded.decode())
    for link in dict.fromkeys(links):  # each file once, as a browser fetches it
        if not link.startswith("/static/") or "/vendor/" in link:
            continue  # third-party libraries (CDN or their local copies) are not the app's own
        status, body = plain.request("GET", link, extra=accept)
        rows.append((link.split("?")[0], len(body), plain.headers.get("Content-Encoding", "none")))
    return rows


def report(label: str, rounds: list, rows: list, args, before: str) -> str:
    lines = [
        f"### {label}: {args.clients} closed-loop clients per endpoint, {args.duration:g} s "
        f"each, {args.rounds} round(s)\n",
        f"gunicorn {args.model}; {before} before, {machine()} after.\n",
        "| endpoint | req/s | × /healthz | × signed-in floor | errors |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, *_ in ENDPOINTS:
        rates = [r[name][0] for r in rounds]
        to_health = [r[name][0] / r[FLOORS[0]][0] for r in rounds if r[FLOORS[0]][0]]
        to_signed = [r[name][0] / r[FLOORS[1]][0] for r in rounds if r[FLOORS[1]][0]]
        lines.append(
            f"| {name} | {statistics.median(rates):.1f} "
            f"| {statistics.median(to_health):.2f}× | {statistics.median(to_signed):.2f}× "
            f"| {sum(r[name][1] for r in rounds)} |"
        )
    total = sum(size for _, size, _ in rows)
    html = rows[0][1]
    lines += [
        "",
        f"Inspection page weight: **{total / 1024:.1f} KB** compressed (limit "
        f"{WEIGHT_LIMIT // 1024} KB: {'met' if total <= WEIGHT_LIMIT else 'MISSED'}); first "
        f"HTML **{html / 1024:.1f} KB** (limit {FIRST_HTML_LIMIT // 1024} KB: "
        f"{'met' if html <= FIRST_HTML_LIMIT else 'MISSED'}).\n",
        "| file | bytes sent | encoding |",
        "|---|---:|---|",
        *[f"| {name} | {size:,} | {encoding} |" for name, size, encoding in rows],
    ]
    return "\n".join(lines)


def run_database(label: str, url: str, args) -> str:
    if not args.no_load:
        ensure_year(url)
    t = targets(url)
    from pages import BENCH_DRAFT

    t["draft"] = BENCH_DRAFT
    before = machine()
    with Server(url, args.model) as server:
        rounds = asyncio.run(measure(server.base, t, args))
        rows = weight(server.port, BENCH_DRAFT)
    text = report(label, rounds, rows, args, before)
    print(text + "\n", file=sys.stderr, flush=True)
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_harness_args(parser)
    parser.add_argument("--clients", type=int, default=4, help="closed-loop clients per endpoint")
    parser.add_argument("--warmup", type=float, default=2.0, help="untimed seconds per endpoint")
    parser.add_argument("--duration", type=float, default=10.0, help="timed seconds per endpoint")
    parser.add_argument("--rounds", type=int, default=2, help="every endpoint this many times")
    args = parser.parse_args()
    print("\n\n".join(run_database(label, url, args) for label, url in databases(args)))


if __name__ == "__main__":
    main()

"""Lighthouse (mobile preset, the system Chromium) on five pages of the demo (issue 15, item 4).

    .venv/bin/python bench/lighthouse.py              # 3 runs a page, the median reported
    .venv/bin/python bench/lighthouse.py --keep DIR   # also keeps each page's JSON report

Lighthouse 12.2.3 is installed once with npm into bench/.lighthouse (ignored by git; 13 wants
Node 22). The app runs in this process on 127.0.0.1 (a threaded WSGI server, as the browser
tests run it) on a fresh SQLite database in instance/ with the small demo (`flask demo`), with
its own compression and static files (WhiteNoise, Flask-Compress) as in production. Pages
behind a sign-in get the session cookie through `--extra-headers`. Not part of `make test`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LIGHTHOUSE_VERSION = "12.2.3"
PREFIX = ROOT / "bench" / ".lighthouse"
CLI = PREFIX / "node_modules" / "lighthouse" / "cli" / "index.js"
CATEGORIES = ("performance", "accessibility", "best-practices")
DRAFT = str(uuid.uuid5(uuid.NAMESPACE_URL, "guardpost-lighthouse-draft"))


def install() -> None:
    if CLI.exists():
        return
    npm = shutil.which("npm")
    if npm is None:
        sys.exit("lighthouse: npm is needed (install Node.js 18 or 20 and npm)")
    PREFIX.mkdir(parents=True, exist_ok=True)
    print(f"Installing lighthouse {LIGHTHOUSE_VERSION} into {PREFIX} ...", flush=True)
    subprocess.run(
        [npm, "i", "-E", "--no-audit", "--no-fund", f"lighthouse@{LIGHTHOUSE_VERSION}"],
        cwd=PREFIX,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def serve(db_path: Path) -> tuple[str, object]:
    from flask_migrate import upgrade
    from werkzeug.serving import make_server

    from app import create_app
    from app.demo import load_demo, load_demo_alarms, load_demo_portal, load_demo_sheets
    from app.extensions import db

    db_path.unlink(missing_ok=True)
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{db_path}",
            "RATELIMIT_ENABLED": False,
            # The demo's manager has no second factor: the gate would send the dashboard to
            # /account/security (as in bench/pages.py).
            "SECOND_FACTOR_ROLES": (),
        }
    )
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        load_demo()
        load_demo_alarms()
        load_demo_portal()
        load_demo_sheets()
        db.session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}", app


def sign_in(base: str, username: str):
    import re

    import requests

    from app.demo import DEMO_PASSWORD

    session = requests.Session()
    form = session.get(f"{base}/login").text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form)
    data = {"username": username, "password": DEMO_PASSWORD}
    if token:
        data["csrf_token"] = token.group(1)
    answer = session.post(f"{base}/login", data=data, allow_redirects=False)
    if answer.status_code != 303:
        sys.exit(f"lighthouse: signing in as {username} failed ({answer.status_code})")
    return session


def csrf(session, url: str) -> dict:
    import re

    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', session.get(url).text)
    return {"csrf_token": found.group(1)} if found else {}


def targets(base: str, app) -> list[tuple[str, str, str | None]]:
    """(page, url, the Cookie header or None)."""
    from sqlalchemy import select

    from app.auth.models import User
    from app.extensions import db
    from app.records.models import ControlRecordSheet as Sheet
    from app.sites.models import Site, SiteAssignment

    with app.app_context():
        supervisor = db.session.scalar(select(User).where(User.username == "supervisor"))
        site_id = db.session.scalar(
            select(Site.id)
            .join(SiteAssignment, SiteAssignment.site_id == Site.id)
            .where(SiteAssignment.user_id == supervisor.id)
            .order_by(Site.code)
            .limit(1)
        )
        sheet_id = db.session.scalar(select(Sheet.id).order_by(Sheet.id).limit(1))
    sup, man = sign_in(base, "supervisor"), sign_in(base, "manager")
    start = f"{base}/sites/{site_id}/inspections"
    answer = sup.post(
        start, data={"uuid": DRAFT, **csrf(sup, f"{base}/sites/{site_id}")}, allow_redirects=False
    )
    if answer.status_code != 303:
        sys.exit(f"lighthouse: could not start an inspection ({answer.status_code})")

    def cookie(session) -> str:
        return "; ".join(f"{c.name}={c.value}" for c in session.cookies)

    return [
        ("login", f"{base}/login", None),
        ("home (supervisor)", f"{base}/", cookie(sup)),
        ("inspection", f"{base}/inspections/{DRAFT}", cookie(sup)),
        ("dashboard (manager)", f"{base}/dashboard", cookie(man)),
        ("sheet (manager)", f"{base}/records/{sheet_id}", cookie(man)),
    ]


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    sys.exit("lighthouse: no Chromium found (apt-get install chromium)")


def audit(url: str, cookie: str | None, out: Path) -> dict:
    command = [
        "node",
        str(CLI),
        url,
        "--quiet",
        "--output=json",
        f"--output-path={out}",
        f"--only-categories={','.join(CATEGORIES)}",
        "--chrome-flags=--headless=new --no-sandbox --disable-gpu",
    ]
    if cookie:
        command.append("--extra-headers=" + json.dumps({"Cookie": cookie}))
    subprocess.run(command, check=True, env={**os.environ, "CHROME_PATH": chromium()})
    return json.loads(out.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--keep", type=Path, help="a folder to keep each page's JSON report in")
    parser.add_argument("--target", type=int, default=95)
    parser.add_argument(
        "--runs", type=int, default=3, help="runs per page; the median run is reported (3)"
    )
    args = parser.parse_args()
    install()
    base, app = serve(ROOT / "instance" / "bench-lighthouse.db")
    rows = []
    failing: dict[str, list[str]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        pages = targets(base, app)
        runs: dict[str, list[dict]] = {name: [] for name, _url, _cookie in pages}
        for run in range(1, args.runs + 1):
            for name, url, cookie in pages:
                slug = name.split(" ")[0]
                report = audit(url, cookie, folder / f"{slug}-{run}.json")
                if report.get("finalDisplayedUrl", url).split("?")[0] != url:
                    sys.exit(f"lighthouse: {url} ended at {report.get('finalDisplayedUrl')}")
                runs[name].append(report)
                scores = {c: round(report["categories"][c]["score"] * 100) for c in CATEGORIES}
                print(
                    f"run {run} {name:<22}" + "".join(f"{scores[c]:>16}" for c in CATEGORIES),
                    flush=True,
                )
        for name, reports in runs.items():
            # The median run by performance (TBT varies most on a shared machine).
            reports.sort(key=lambda r: r["categories"]["performance"]["score"])
            report = reports[len(reports) // 2]
            scores = {c: round(report["categories"][c]["score"] * 100) for c in CATEGORIES}
            each = [round(r["categories"]["performance"]["score"] * 100) for r in reports]
            rows.append((name, scores, each))
            for c in CATEGORIES:
                if scores[c] < args.target:
                    refs = report["categories"][c]["auditRefs"]
                    failing[f"{name} {c}"] = [
                        f"{r['id']} ({report['audits'][r['id']]['score']})"
                        for r in refs
                        if r.get("weight")
                        and report["audits"][r["id"]].get("score") is not None
                        and report["audits"][r["id"]]["score"] < 0.9
                    ]
    print()
    print("| page | " + " | ".join(CATEGORIES) + " | performance of each run |")
    print("| --- |" + " ---: |" * len(CATEGORIES) + " --- |")
    for name, scores, each in rows:
        print(
            f"| {name} | "
            + " | ".join(str(scores[c]) for c in CATEGORIES)
            + f" | {', '.join(map(str, each))} |"
        )
    for what, audits in failing.items():
        print(f"under {args.target}: {what}: {', '.join(audits)}")
    sys.exit(1 if failing else 0)


if __name__ == "__main__":
    main()

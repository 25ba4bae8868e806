"""A manager opens the dashboard from the More page on his phone, in Chinese and English;
a figure leads to the rows behind it; the exports page offers CSV and XLSX."""

from __future__ import annotations

import re
import shutil
from datetime import timedelta
from pathlib import Path

from playwright.sync_api import expect
from sqlalchemy import select

from app.auth.models import User
from app.db import new_uuid, utcnow
from app.extensions import db
from app.incidents.models import AlarmResponse
from app.sites.models import Site
from tests import factories
from tests.e2e.conftest import shot
from tests.e2e.test_briefings import new_phone
from tests.e2e.test_shell import sign_in

OUT = Path("/tmp/dash-shots")  # noqa: S108 (where the review of this change looks)


def _keep(page, name):
    OUT.mkdir(exist_ok=True)
    shutil.copy(shot(page, name), OUT / f"{name}.png")


def _some_months_of_work() -> None:
    """Inspections, incidents and alarms over the last months at the demo's first sites."""
    sites = list(db.session.scalars(select(Site).order_by(Site.code).limit(3)))
    supervisor = db.session.scalar(select(User).where(User.username == "supervisor"))
    now = utcnow()
    for n in range(12):
        at = now - timedelta(days=9 * n + 1)
        site = sites[n % len(sites)]
        factories.gen_inspection(
            site, supervisor, status="submitted", submitted_at=at, score=70 + 2 * n
        )
        factories.gen_incident(
            site, supervisor, occurred_at=at, category=("theft", "fire", "intrusion")[n % 3]
        )
        db.session.add(
            AlarmResponse(
                uuid=new_uuid(),
                site_id=site.id,
                created_by_id=supervisor.id,
                received_at=at,
                arrived_at=at + timedelta(minutes=6 + n),
                cleared_at=at + timedelta(hours=1),
                cause=("user_error", "intrusion", "environment")[n % 3],
            )
        )
    db.session.commit()


def test_manager_reads_the_dashboard_and_follows_a_figure(browser, live_server):
    _some_months_of_work()
    context, phone = new_phone(browser, live_server, "zh-TW")
    phone.goto(live_server + "/login")
    sign_in(phone, "manager", "zh")
    phone.goto(live_server + "/account")
    phone.get_by_role("link", name="管理儀表板").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("管理儀表板")
    phone.get_by_role("link", name="近 12 個月").click()
    expect(phone.get_by_role("img", name="每月平均分數")).to_be_visible()
    _keep(phone, "zh-dashboard")
    # The false-alarm rate leads to the false alarms of the same period.
    phone.get_by_role("link", name=re.compile("誤報率")).click()
    expect(phone).to_have_url(re.compile(r"/alarms\?false=1&from=\d{4}-\d\d-\d\d&to="))
    _keep(phone, "zh-dashboard-false-alarms")
    phone.go_back()
    phone.get_by_role("link", name="EN", exact=True).click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Dashboard")
    expect(phone.get_by_role("img", name="Incidents per month")).to_be_visible()
    _keep(phone, "en-dashboard")
    phone.get_by_role("link", name="Exports").first.click()
    expect(phone.get_by_role("link", name="Checklist answers as CSV")).to_be_visible()
    _keep(phone, "en-exports")
    context.close()


def test_dashboard_and_exports_fit_a_320_pixel_screen(browser, live_server):
    _some_months_of_work()
    context = browser.new_context(
        viewport={"width": 320, "height": 640}, is_mobile=True, has_touch=True, locale="en-US"
    )
    context.route("https://cdn.jsdelivr.net/**", lambda route: route.abort())
    phone = context.new_page()
    phone.goto(live_server + "/login")
    sign_in(phone, "supervisor", "en")
    for path in ("/dashboard?preset=12_months", "/exports"):
        phone.goto(live_server + path)
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 320, f"{path} is {width}px wide"
    _keep(phone, "en-dashboard-320-supervisor")
    context.close()

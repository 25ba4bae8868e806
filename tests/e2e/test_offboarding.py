"""A manager offboards a departing client on a phone: counts, step-up, export, typed name, purge."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from datetime import date
from pathlib import Path

from playwright.sync_api import expect
from sqlalchemy import func, select

from app.auth.models import User
from app.extensions import db
from app.sites.models import Site
from app.vault import services
from app.vault.models import ConfidentialRecord
from tests.e2e.conftest import shot
from tests.e2e.test_shell import DEMO_PASSWORD, sign_in
from tests.factories import gen_client, gen_site
from tests.vault.test_offboarding import KEY_HOLDER, sign_pledge

SHOTS = Path("/tmp/ret-shots")  # noqa: S108 (the brief's folder for a person to look at)
NAME = "遠東商場股份有限公司"


def look(page, name: str) -> None:
    shot(page, name)
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _departing_client() -> int:
    client = gen_client(name=NAME, contract_end_on=date(2026, 12, 31))
    site = gen_site(client, code="FE-N01", name="遠東商場北棟")
    manager = db.session.scalars(select(User).where(User.username == "manager")).one()
    for label, category, value in (
        ("北棟主機", "alarm_code", "4711#"),
        ("第一順位", "key_holder", KEY_HOLDER),
        ("後門", "access_instructions", "側門密碼鎖 2580"),
    ):
        services.create_record(user=manager, site=site, category=category, label=label, value=value)
    services.create_record(
        user=manager,
        client=client,
        category="callback_password",
        label="通話密語",
        value="藍色海豚",
    )
    sign_pledge(manager)
    db.session.commit()
    return client.id


def _held(client_id: int) -> int:
    """The departing client's records (the demo has records of its own clients)."""
    db.session.expire_all()
    sites = select(Site.id).where(Site.client_id == client_id).scalar_subquery()
    return db.session.scalar(
        select(func.count()).where(
            (ConfidentialRecord.client_id == client_id) | ConfidentialRecord.site_id.in_(sites)
        )
    )


def test_manager_offboards_a_client_exports_and_purges(page):
    client_id = _departing_client()
    page.goto(page.base_url + "/login?lang=en")
    sign_in(page, "manager", "en")
    page.goto(f"{page.base_url}/clients/{client_id}")
    page.get_by_role("link", name="Offboard this client").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Offboard {NAME}")
    expect(page.get_by_test_id("total")).to_have_text("4")
    expect(page.locator(".facts").first).to_contain_text("Alarm code")
    expect(page.locator(".facts").last).to_contain_text("FE-N01")
    look(page, "en-offboarding")

    # Purging before the export is refused.
    page.get_by_label("Type the client's name to confirm").fill(NAME)
    page.get_by_role("button", name="Purge all records").click()
    expect(page).to_have_url(re.compile("/account/step-up"))
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Offboard {NAME}")
    page.get_by_label("Type the client's name to confirm").fill(NAME)
    page.get_by_role("button", name="Purge all records").click()
    expect(page.locator(".alert-error")).to_contain_text("Export the records for handover first")
    assert _held(client_id) == 4

    with page.expect_download() as download_info:
        page.get_by_role("button", name="Export for handover").click()
    download = download_info.value
    assert download.suggested_filename.startswith(f"handover-client-{client_id}-")
    archive = zipfile.ZipFile(io.BytesIO(Path(download.path()).read_bytes()))
    records = json.loads(archive.read("records.json"))["records"]
    assert {r["label"]: r["value"] for r in records}["第一順位"] == KEY_HOLDER
    rows = list(csv.reader(io.StringIO(archive.read("records.csv").decode("utf-8-sig"))))
    assert len(rows) == 5 and "側門密碼鎖 2580" in {row[5] for row in rows}
    assert NAME in archive.read("README.txt").decode()

    page.goto(f"{page.base_url}/clients/{client_id}/offboarding")
    expect(page.get_by_role("status").first).to_contain_text("4 records")
    page.get_by_label("Type the client's name to confirm").fill("遠東商場")
    page.get_by_role("button", name="Purge all records").click()
    expect(page.locator(".alert-error")).to_contain_text("Type the client's name exactly")
    look(page, "en-offboarding-wrong-name")
    page.get_by_label("Type the client's name to confirm").fill(NAME)
    page.get_by_role("button", name="Purge all records").click()
    expect(page.get_by_role("status").first).to_contain_text("4 confidential records deleted.")
    expect(page.get_by_test_id("total")).to_have_text("0")
    expect(page.locator("#offboardings + ul")).to_contain_text("purged")
    look(page, "en-offboarding-purged")
    assert _held(client_id) == 0

    page.goto(f"{page.base_url}/clients/{client_id}")
    expect(page.get_by_role("heading", name="Offboardings")).to_be_visible()
    look(page, "en-client-offboarded")
    page.goto(f"{page.base_url}/clients/{client_id}/offboarding?lang=zh-TW")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"{NAME} 解約結案")
    look(page, "zh-offboarding-purged")
    page.goto(f"{page.base_url}/clients/{client_id}")
    look(page, "zh-client-offboarded")


def test_the_offboarding_page_in_chinese_before_the_export(page):
    client_id = _departing_client()
    page.goto(page.base_url + "/login")
    sign_in(page, "manager")
    page.goto(f"{page.base_url}/clients/{client_id}")
    page.get_by_role("link", name="解約結案").click()
    expect(page.get_by_test_id("total")).to_have_text("4")
    expect(page.locator(".facts").first).to_contain_text("保全密碼")
    look(page, "zh-offboarding")
    page.get_by_role("button", name="匯出移交").click()
    expect(page).to_have_url(re.compile("/account/step-up"))
    look(page, "zh-step-up")

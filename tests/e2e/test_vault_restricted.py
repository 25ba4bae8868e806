"""A restricted alarm code asks for step-up first: the supervisor states a purpose, is sent
to confirm it is him, comes back to the record and sees the code. Afterwards not a byte of it
is anywhere in the browser's profile on disk — HTTP cache, Cache Storage, IndexedDB, history
(issue 12: "not found ... in the browser's caches")."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.auth.models import User
from app.briefings import services as briefings
from app.demo import DEMO_PASSWORD, load_demo_vault
from app.extensions import db
from app.sites.models import Site
from app.vault import services as vault
from tests.e2e.conftest import CHROMIUM_ARGS, PHONE, chromium_path, shot, wait_for_worker
from tests.e2e.test_shell import sign_in

SHOTS = Path(tempfile.gettempdir()) / "rec-shots"
#: Unlike anything else on the pages, so that a search of the profile finds only it.
ALARM_CODE = "QX7-5521-ZK"

WORDS = {
    "en": {"confirm": "Confirm", "step_up": "Confirm it is you"},
    "zh": {"confirm": "確認", "step_up": "確認是您本人"},
}


@pytest.fixture
def alarm_code(live_server):
    load_demo_vault()
    supervisor = db.session.scalar(select(User).where(User.username == "supervisor"))
    briefings.acknowledge(briefings.current_pledge(), user=supervisor)
    site = db.session.scalar(select(Site).where(Site.code == "TPE-0001"))
    record = vault.create_record(
        user=supervisor, site=site, category="alarm_code", label="後門主機", value=ALARM_CODE
    )
    db.session.commit()
    return record


def _profile_holds(profile: Path, needle: str) -> list[str]:
    """Files of the closed profile holding the needle, as UTF-8 or UTF-16 (Chromium's own
    files: reading them here touches no database of the app)."""
    patterns = (needle.encode(), needle.encode("utf-16-le"))
    return [
        str(path.relative_to(profile))
        for path in profile.rglob("*")
        if path.is_file() and any(p in path.read_bytes() for p in patterns)
    ]


@pytest.mark.parametrize(("lang", "locale"), [("en", "en-US"), ("zh", "zh-TW")])
def test_a_restricted_code_asks_for_step_up_and_leaves_nothing_in_the_profile(
    playwright, live_server, alarm_code, tmp_path, lang, locale
):
    words = WORDS[lang]
    profile = tmp_path / "profile"
    context = playwright.chromium.launch_persistent_context(
        str(profile),
        executable_path=chromium_path(),
        args=CHROMIUM_ARGS,
        viewport=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale=locale,
    )
    context.route("https://cdn.jsdelivr.net/**", lambda route: route.abort())
    page = context.pages[0] if context.pages else context.new_page()
    page.goto(live_server + f"/login?lang={'en' if lang == 'en' else 'zh-TW'}")
    sign_in(page, "supervisor", lang)
    wait_for_worker(page)
    record_url = live_server + f"/vault/{alarm_code.id}"
    page.goto(record_url)

    page.locator(".vault-reveal > summary").first.click()
    page.locator("input[name=purpose][value=alarm_response]").check()
    page.locator(".vault-purpose button[type=submit]").first.click()

    # Not fresh: sent to confirm it is him, and back to the record afterwards.
    expect(page.get_by_role("heading", name=words["step_up"])).to_be_visible()
    assert ALARM_CODE not in page.content()
    SHOTS.mkdir(exist_ok=True)
    shutil.copy(shot(page, f"{lang}-vault-step-up", full_page=False), SHOTS)
    page.locator("input[name=password]").fill(DEMO_PASSWORD)
    page.get_by_role("button", name=words["confirm"], exact=True).click()
    expect(page).to_have_url(record_url)

    page.locator(".vault-reveal > summary").first.click()
    page.locator("input[name=purpose][value=alarm_response]").check()
    page.locator(".vault-purpose button[type=submit]").first.click()
    expect(page.get_by_text(ALARM_CODE)).to_be_visible()
    shutil.copy(shot(page, f"{lang}-vault-restricted-revealed", full_page=False), SHOTS)
    # Away and back: the browser's history and caches hold only the masked page.
    page.goto(live_server + "/")
    page.go_back()
    expect(page.locator(".vault-mask").first).to_be_visible()
    assert ALARM_CODE not in page.content()
    context.close()  # flushes the HTTP cache, Cache Storage and IndexedDB to disk

    # The search does see the profile: the record's address is in its history.
    assert _profile_holds(profile, f"/vault/{alarm_code.id}")
    assert _profile_holds(profile, ALARM_CODE) == []

"""A supervisor on his phone reveals a key holder's phone for an alarm response: the value
shows with a countdown, the access log has the row, the value hides itself again, and no
cache of the browser holds it (issue 12)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.auth.models import User
from app.briefings import services as briefings
from app.demo import load_demo_vault
from app.extensions import db
from app.sites.models import Site
from app.vault import services as vault
from tests.e2e.conftest import PHONE, shot, wait_for_worker
from tests.e2e.test_shell import sign_in

#: Where a person looks at this journey's screenshots (besides tests/e2e/screenshots).
SHOTS = Path(tempfile.gettempdir()) / "rec-shots"
KEY_HOLDER_PHONE = "0958-314-159"

#: Labels the test finds things by, in each language.
WORDS = {
    "en": {"vault": "Key holders, codes, access instructions", "log": "Access log"},
    "zh": {"vault": "鑰匙保管人、密碼、進出說明", "log": "存取紀錄"},
}

CACHES_HOLD = """async (needle) => {
  for (const name of await caches.keys()) {
    const cache = await caches.open(name);
    for (const request of await cache.keys()) {
      const response = await cache.match(request);
      if ((await response.text()).includes(needle)) return request.url;
    }
  }
  return "";
}"""


def keep(page, name: str, *, full_page: bool = True) -> None:
    SHOTS.mkdir(exist_ok=True)
    shutil.copy(shot(page, name, full_page=full_page), SHOTS / f"{name}.png")


@pytest.fixture
def key_holder(live_server, app):
    """The demo's pledge, acknowledged by the supervisor; a key holder of his first site."""
    load_demo_vault()
    supervisor = db.session.scalar(select(User).where(User.username == "supervisor"))
    briefings.acknowledge(briefings.current_pledge(), user=supervisor)
    site = db.session.scalar(select(Site).where(Site.code == "TPE-0001"))
    record = vault.create_record(
        user=supervisor,
        site=site,
        category="key_holder",
        label="後門鑰匙 第一順位",
        value={
            "name": "張雅婷",
            "phones": [KEY_HOLDER_PHONE],
            "relation": "店長",
            "calling_order": 1,
        },
    )
    db.session.commit()
    # Short enough for a test; the default minute is asserted in tests/vault/test_pages.py.
    app.config["VAULT_REMASK_SECONDS"] = 2
    return site, record


@pytest.mark.parametrize(("lang", "locale"), [("en", "en-US"), ("zh", "zh-TW")])
def test_supervisor_reveals_a_key_holder_phone_which_hides_itself_again(
    browser, live_server, key_holder, lang, locale
):
    site, _record = key_holder
    words = WORDS[lang]
    context = browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale=locale
    )
    context.route("https://cdn.jsdelivr.net/**", lambda route: route.abort())
    page = context.new_page()
    page.goto(live_server + f"/login?lang={'en' if lang == 'en' else 'zh-TW'}")
    sign_in(page, "supervisor", lang)
    page.goto(live_server + f"/sites/{site.id}")
    wait_for_worker(page)
    page.get_by_role("link", name=words["vault"]).click()

    item = page.locator(".vault-item", has_text="後門鑰匙 第一順位")
    expect(item.locator(".vault-mask")).to_be_visible()
    expect(item).not_to_contain_text(KEY_HOLDER_PHONE)
    keep(page, f"{lang}-vault-masked-list")

    item.locator(".vault-reveal > summary").click()
    item.locator("input[name=purpose][value=alarm_response]").check()
    item.scroll_into_view_if_needed()
    keep(page, f"{lang}-vault-purpose-prompt", full_page=False)
    item.locator(".vault-purpose button[type=submit]").click()

    phone = item.get_by_role("link", name=KEY_HOLDER_PHONE)
    expect(phone).to_be_visible()
    expect(item.locator("[data-countdown]")).to_be_visible()
    assert page.url.endswith(f"/sites/{site.id}/vault"), "a reveal is not a history entry"
    keep(page, f"{lang}-vault-revealed", full_page=False)
    assert page.evaluate(CACHES_HOLD, KEY_HOLDER_PHONE) == ""

    # It hides itself: the value leaves the page, the prompt is back and works again.
    expect(phone).to_have_count(0, timeout=10_000)
    assert KEY_HOLDER_PHONE not in page.content()
    expect(item.locator(".vault-reveal > summary")).to_be_visible()
    assert page.evaluate(CACHES_HOLD, KEY_HOLDER_PHONE) == ""

    page.get_by_role("link", name=words["log"]).click()
    row = page.locator(".vault-log-row", has_text="後門鑰匙 第一順位").first
    expect(row).to_contain_text("Alarm response" if lang == "en" else "警報")
    expect(row).to_contain_text("supervisor")
    assert KEY_HOLDER_PHONE not in page.content()
    keep(page, f"{lang}-vault-access-log")
    row.evaluate("element => element.scrollIntoView({block: 'center'})")
    keep(page, f"{lang}-vault-access-log-rows", full_page=False)
    context.close()

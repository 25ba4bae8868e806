"""The installable shell in Chromium: the offline page's retry goes back to the page that
failed (not home); the manifest the browser reads is in the page's language."""

from __future__ import annotations

import json

from playwright.sync_api import expect

from tests.e2e.conftest import shot, wait_for_worker
from tests.e2e.test_shell import sign_in


def test_offline_retry_goes_back_to_the_page_that_failed(page):
    page.goto(page.base_url + "/login")
    sign_in(page, "guard")
    expect(page).to_have_url(page.base_url + "/")
    wait_for_worker(page)  # it claims its clients on activation
    wanted = page.base_url + "/account?from=offline-test"

    page.context.set_offline(True)
    page.goto(wanted)
    expect(page.get_by_role("heading", level=1)).to_have_text("目前沒有網路連線")
    expect(page).to_have_url(wanted)  # the offline page stands in at the failed address
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    shot(page, "zh-offline")

    page.context.set_offline(False)
    page.get_by_role("link", name="重試 · Try again").click()
    expect(page).to_have_url(wanted)
    expect(page.get_by_role("heading", level=1)).to_have_text("更多")


def test_the_browser_reads_the_manifest_in_the_page_language(page):
    cdp = page.context.new_cdp_session(page)
    for lang, expected_lang, word in (("en", "en", "security"), ("zh-TW", "zh-Hant-TW", "保全")):
        page.goto(page.base_url + f"/login?lang={lang}")
        manifest = cdp.send("Page.getAppManifest")
        assert manifest["url"].endswith(f"/manifest.webmanifest?locale={expected_lang}")
        assert not manifest.get("errors")
        data = json.loads(manifest["data"])
        assert data["lang"] == expected_lang and word in data["description"]

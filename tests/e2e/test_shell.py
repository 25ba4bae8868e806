"""Journeys through the app shell in Chromium at 390x844: sign in, home, language, sign out."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from app.demo import DEMO_PASSWORD
from tests.e2e.conftest import CHROMIUM_ARGS, PHONE, chromium_path, shot, wait_for_worker

LABELS = {
    "zh": {
        "username": "帳號",
        "password": "密碼",
        "sign_in": "登入",
        "sign_out": "登出",
        "more": "更多",
    },
    "en": {
        "username": "Username",
        "password": "Password",
        "sign_in": "Sign in",
        "sign_out": "Sign out",
        "more": "More",
    },
}


def sign_in(page, username: str, lang: str = "zh") -> None:
    words = LABELS[lang]
    page.get_by_label(words["username"]).fill(username)
    page.get_by_label(words["password"]).fill(DEMO_PASSWORD)
    page.get_by_role("button", name=words["sign_in"]).click()


@pytest.mark.parametrize("role", ["guard", "supervisor", "manager", "admin", "client"])
def test_role_signs_in_sees_home_switches_language_and_signs_out(page, role):
    page.goto(page.base_url + "/")
    expect(page).to_have_url(re.compile(r"/login\?next=/"))
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hant-TW")
    shot(page, "zh-login")

    sign_in(page, role)
    expect(page).to_have_url(page.base_url + "/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("您好")
    shot(page, f"zh-{role}-home")

    page.get_by_role("link", name="EN", exact=True).click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Hello")
    shot(page, f"en-{role}-home")

    # The choice sticks: a later page without ?lang= is still English.
    page.goto(page.base_url + "/account")
    expect(page.get_by_role("heading", level=1)).to_have_text("More")
    shot(page, f"en-{role}-more")

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_role("status")).to_contain_text("You have signed out.")
    shot(page, "en-login-signed-out")

    page.goto(page.base_url + "/")
    expect(page).to_have_url(re.compile(r"/login"))


def test_wrong_password_shows_one_message_and_keeps_the_username(page):
    page.goto(page.base_url + "/login?lang=en")
    page.get_by_label("Username").fill("supervisor")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("The username or password is not correct.")
    expect(page.get_by_label("Username")).to_have_value("supervisor")
    shot(page, "en-login-error")


def test_the_app_is_installable_and_its_service_worker_controls_root(
    playwright, live_server, tmp_path
):
    # A persistent profile: Chromium never offers installation in an incognito context.
    context = playwright.chromium.launch_persistent_context(
        str(tmp_path / "profile"),
        executable_path=chromium_path(),
        args=CHROMIUM_ARGS,
        viewport=PHONE,
        locale="zh-TW",
    )
    context.route("https://cdn.jsdelivr.net/**", lambda route: route.abort())
    page = context.pages[0] if context.pages else context.new_page()
    page.base_url = live_server
    page.goto(page.base_url + "/login")
    wait_for_worker(page)
    scope = page.evaluate("navigator.serviceWorker.getRegistration().then(r => r.scope)")
    assert scope == page.base_url + "/"
    cdp = page.context.new_cdp_session(page)
    errors = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
    assert errors == []
    manifest = cdp.send("Page.getAppManifest")
    assert not manifest.get("errors")
    context.close()


def test_htmx_falls_back_to_the_local_copy_when_the_cdn_is_down(page):
    page.goto(page.base_url + "/login")
    page.wait_for_function("() => window.htmx !== undefined")
    assert page.evaluate("htmx.config.allowEval") is False
    assert page.evaluate("htmx.config.historyCacheSize") == 0
    assert page.evaluate("htmx.config.includeIndicatorStyles") is False


@pytest.mark.parametrize("cdn_down", [False])
def test_htmx_from_the_cdn_passes_its_integrity_check(page):
    static = Path(__file__).resolve().parents[2] / "static"
    libraries = json.loads((static / "vendor.json").read_text())
    local = {lib["cdn"]: static / lib["local"] for lib in libraries.values()}
    served = []

    def fulfil(route):  # the CDN, serving each library's own file
        served.append(route.request.url)
        route.fulfill(
            path=str(local[route.request.url]),
            headers={"Content-Type": "text/javascript", "Access-Control-Allow-Origin": "*"},
        )

    page.context.route("https://cdn.jsdelivr.net/**", fulfil)
    fallback = []
    page.on("request", lambda r: fallback.append(r.url) if "/static/vendor/" in r.url else None)
    page.goto(page.base_url + "/login")
    page.wait_for_function("() => window.htmx !== undefined")
    assert served and not fallback


def test_pages_fit_a_320px_screen_with_44px_touch_targets(page):
    page.set_viewport_size({"width": 320, "height": 640})
    page.goto(page.base_url + "/login?lang=en")
    sign_in(page, "admin", "en")
    for path in ("/", "/account", "/admin/users", "/admin/users/new"):
        page.goto(page.base_url + path)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 320, f"{path} is {width}px wide"
        small = page.evaluate(
            """() => [...document.querySelectorAll(
                    '.tabbar a, .button, main select,'
                    + 'main input:not([type=hidden]):not([type=checkbox])')]
                .filter(e => e.offsetParent !== null)
                .filter(e => e.getBoundingClientRect().height < 44)
                .map(e => e.outerHTML.slice(0, 80))"""
        )
        assert small == [], f"{path}: {small}"
    shot(page, "en-admin-users-320")

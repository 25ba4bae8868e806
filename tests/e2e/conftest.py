"""Browser tests: a live server on a random port and the system Chromium via Playwright."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from app.demo import load_demo
from app.extensions import db

SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
PHONE = {"width": 390, "height": 844}
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    pytest.fail("No Chromium found: `make test` installs it (apt-get install chromium)")


def pytest_collection_modifyitems(items):
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def playwright():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright):
    instance = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
    yield instance
    instance.close()


@pytest.fixture
def app_config():
    return {"WTF_CSRF_ENABLED": True}


@pytest.fixture
def live_server(app):
    """Serve the test app on 127.0.0.1 with demo data loaded; yields its base URL."""
    load_demo()
    db.session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    server.block_on_close = False  # its request threads are joined below, with a timeout
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    # QR codes and labels are made from BASE_URL only (never from a request's Host header).
    app.config["BASE_URL"] = f"http://127.0.0.1:{server.server_port}"
    yield app.config["BASE_URL"]
    server.shutdown()
    thread.join(timeout=5)
    # A request still being answered would write into the next test's database (the app and
    # its database outlive the test): let it finish first.
    for handler in threading.enumerate():
        if getattr(handler, "_target", None) == server.process_request_thread:
            handler.join(timeout=10)
    server.server_close()


@pytest.fixture
def cdn_down():
    """The CDN is unreachable (as on this network): the page must fall back to its local copy."""
    return True


@pytest.fixture
def page(browser, live_server, cdn_down):
    context = browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale="zh-TW"
    )
    if cdn_down:
        context.route("https://cdn.jsdelivr.net/**", lambda route: route.abort())
    tab = context.new_page()
    tab.base_url = live_server
    yield tab
    context.close()


def shot(page, name: str) -> Path:
    """Save a full-page screenshot for a person to look at."""
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path

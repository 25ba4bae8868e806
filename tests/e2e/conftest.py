"""Browser tests: a live server on a random port and the system Chromium via Playwright."""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from werkzeug.serving import WSGIRequestHandler, make_server

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


#: Runs in every page of every context a browser test opens: after each load, resize and
#: htmx swap it reports the page if it is wider than the screen (with its widest elements).
#: The screen is the layout viewport's width (clientWidth): a mobile browser widens
#: innerWidth to the content when the content is too wide, so innerWidth hides the fault.
SIDEWAYS_PROBE = """
(() => {
  if (window.top !== window) return;
  function widest() {
    const limit = document.documentElement.clientWidth;
    return [...document.querySelectorAll("body *")]
      .filter(e => e.getBoundingClientRect().right > limit + 0.5)
      .filter(e => !e.parentElement || e.parentElement.getBoundingClientRect().right <= limit + 0.5)
      .slice(0, 3)
      .map(e => e.tagName.toLowerCase() + (e.className && typeof e.className === "string"
        ? "." + e.className.trim().split(/\\s+/).join(".") : "")
        + " (" + Math.round(e.getBoundingClientRect().right) + "px)");
  }
  function check(reason) {
    const root = document.documentElement;
    if (!root || !window.__reportSideways) return;
    // under 240 px is no phone: a transient layout (seen: 1 px during a resize in CI)
    if (root.clientWidth >= 240 && root.scrollWidth > root.clientWidth) {
      window.__reportSideways({
        url: location.href, width: root.scrollWidth, screen: root.clientWidth,
        reason: reason, culprits: widest(),
      }).then(() => { window.__sidewaysReported = (window.__sidewaysReported || 0) + 1; });
    }
  }
  const frame = requestAnimationFrame;
  const later = reason => () => frame(() => frame(() => check(reason)));
  addEventListener("load", later("load"));
  addEventListener("resize", later("resize"));
  document.addEventListener("htmx:afterSettle", later("htmx swap"));
})();
"""
#: The same measure, taken once more on every page still open when the test ends.
SIDEWAYS_NOW = """() => ({
  url: location.href, width: document.documentElement.scrollWidth,
  screen: document.documentElement.clientWidth, reason: "end of test", culprits: [],
})"""


class SidewaysWatch:
    """Every page a browser test opens must not scroll sideways (issue 10): violations are
    collected from each page in each watched context and fail the test at teardown."""

    def __init__(self):
        self.violations: list[dict] = []
        self.contexts: list = []

    def record(self, found: dict) -> None:
        key = (found["url"], found["width"], found["screen"])
        if all((v["url"], v["width"], v["screen"]) != key for v in self.violations):
            self.violations.append(found)

    def watch(self, context):
        if getattr(context, "_sideways_watched", False):
            return context
        context._sideways_watched = True
        context.expose_binding("__reportSideways", lambda _source, found: self.record(found))
        context.add_init_script(SIDEWAYS_PROBE)
        close = context.close

        def close_after_a_last_look(*args, **kwargs):
            self.look(context)
            return close(*args, **kwargs)

        context.close = close_after_a_last_look
        self.contexts.append(context)
        return context

    def look(self, context) -> None:
        """Measure every page of the context as it is now."""
        try:
            pages = list(context.pages)
        except Exception:  # the context is gone already
            return
        for tab in pages:
            try:
                found = tab.evaluate(SIDEWAYS_NOW)
            except Exception:  # closed, or navigating: its load was measured
                found = None
            if found and found["screen"] >= 240 and found["width"] > found["screen"]:
                self.record(found)

    def report(self) -> str:
        return "\n".join(
            f"{v['url']} is {v['width']}px wide on a {v['screen']}px screen ({v['reason']})"
            + (f": {', '.join(v['culprits'])}" if v["culprits"] else "")
            for v in self.violations
        )


def _hand_every_context_to(watch, monkeypatch) -> None:
    """Pass every browser context the test opens (fixtures' and its own, new or persistent)
    through `watch(context)`, which returns it. Watchers chain: each wraps the one before."""
    from playwright.sync_api import Browser, BrowserType

    new_context, persistent = Browser.new_context, BrowserType.launch_persistent_context

    def watched_new_context(self, *args, **kwargs):
        return watch(new_context(self, *args, **kwargs))

    def watched_persistent(self, *args, **kwargs):
        return watch(persistent(self, *args, **kwargs))

    monkeypatch.setattr(Browser, "new_context", watched_new_context)
    monkeypatch.setattr(BrowserType, "launch_persistent_context", watched_persistent)


@pytest.fixture(autouse=True)
def no_sideways_scroll(request, monkeypatch):
    """Watch every browser context the test opens (fixtures' and its own) and fail the test
    if any page it visited was wider than the screen. A test about sideways scrolling itself
    takes `sideways` and empties `sideways.violations` after reading them."""
    if "/e2e/" not in str(request.node.fspath):
        yield None
        return
    watch = SidewaysWatch()
    _hand_every_context_to(watch.watch, monkeypatch)
    yield watch
    for context in watch.contexts:
        watch.look(context)
    if watch.violations:
        pytest.fail("Pages wider than the screen (they scroll sideways):\n" + watch.report())


@pytest.fixture
def sideways(no_sideways_scroll):
    return no_sideways_scroll


def route_pattern(path: str) -> str:
    """One page per route: /incidents/12, /incidents/31 and /incidents?status=open are one."""
    path = urlsplit(path).path
    path = re.sub(r"^/s/[^/]+", "/s/<token>", path)
    path = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "<uuid>", path)
    path = re.sub(r"/[0-9A-Za-z_-]{20,}(?=/|$)", "/<token>", path)  # mailed and signed links
    return re.sub(r"/\d+", "/<id>", path)


#: axe-core's rules that are not run, each with its reason. (None: every page passes them all.)
AXE_RULES_OFF: dict[str, str] = {}
AXE_RUN = """async () => {
  const result = await axe.run(document, {
    resultTypes: ["violations"],
    rules: Object.fromEntries(%s.map(id => [id, {enabled: false}])),
  });
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 3).map(n => n.target.join(" ") + ": " + n.failureSummary
      .replace(/\\s+/g, " ").slice(0, 200)),
    more: Math.max(0, v.nodes.length - 3),
  }));
}"""
AXE_PAGE = """() => ({
  url: location.href, lang: document.documentElement.lang || "?",
  ready: document.readyState === "complete", hasAxe: typeof axe !== "undefined",
})"""


class AxeAudit:
    """axe-core on every page the browser tests visit (issue 15): on each page load, a page of
    a route not yet audited in that language is audited once, in whatever test first loads it,
    and its violations fail that test at teardown. Routes are claimed across the xdist workers
    with files in a shared folder, so a route is audited once per run and language however many
    tests visit it (axe takes 0.2 to 1 s a page here; it would run thousands of times)."""

    def __init__(self, claims: Path):
        self.claims = claims
        self.violations: list[str] = []
        self.audited: list[str] = []
        #: False: pages are audited only when asked (`audit(page, again=True)`)
        self.automatic = True

    def watch(self, context):
        if getattr(context, "_axe_watched", False):
            return context
        context._axe_watched = True
        context.on("page", self.watch_page)
        for tab in context.pages:
            self.watch_page(tab)
        return context

    def watch_page(self, tab) -> None:
        tab.on("load", lambda: self.automatic and self.audit(tab))

    def claim(self, key: str) -> Path | None:
        """The claim file of `key` if this test is the first to claim it. A claim holds the
        violations its audit found: any later page of the same key reports them again, so
        that a rerun (or another test) cannot pass where the first audit failed."""
        path = self.claims / (re.sub(r"[^0-9A-Za-z_.-]", "_", key) + ".claim")
        try:
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            try:
                found = path.read_text()
            except FileNotFoundError:  # released meanwhile: a later load claims it
                found = ""
            for violation in filter(None, found.split("\n\n")):
                if violation not in self.violations:
                    self.violations.append(violation)
            return None
        return path

    def audit(self, tab, *, again: bool = False) -> None:
        """Audit the page now if its route was not audited yet in its language (or `again`)."""
        try:
            if tab.is_closed() or not tab.url.startswith("http://127.0.0.1"):
                return
            found = tab.evaluate(AXE_PAGE)
        except Exception:  # closed or navigating already: its next load is audited instead
            return
        key = f"{found['lang']} {route_pattern(found['url'])}"
        claim = None if again else self.claim(key)
        if claim is None and not again:
            return
        started = time.perf_counter()
        try:
            if not found["hasAxe"]:
                tab.evaluate(axe_script())
            violations = tab.evaluate(AXE_RUN % json.dumps(sorted(AXE_RULES_OFF)))
        except Exception:  # the test went on to another page meanwhile: leave it to a later one
            if claim is not None:
                claim.unlink(missing_ok=True)
            return
        self.audited.append(f"{key} {time.perf_counter() - started:.2f}s")
        found = [
            f"{found['url']} ({found['lang']}): {v['id']} [{v['impact']}] {v['help']}\n    "
            + "\n    ".join(v["nodes"])
            + (f"\n    and {v['more']} more" if v["more"] else "")
            for v in violations
        ]
        self.violations += found
        if claim is not None and found:
            claim.write_text("\n\n".join(found))


@functools.cache
def axe_script() -> str:
    from axe_playwright_python.sync_playwright import Axe

    return Axe().axe_script


@pytest.fixture(scope="session")
def axe_claims(tmp_path_factory) -> Path:
    """A folder shared by the xdist workers of one run (basetemp's parent under xdist)."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent
    claims = root / "axe-claims"
    claims.mkdir(exist_ok=True)
    return claims


@pytest.fixture(autouse=True)
def axe_audit(request, monkeypatch):
    """Audit the pages of every browser context the test opens (see AxeAudit); the test fails
    if any page it was the first to load breaks an axe-core rule. E2E_AXE=0 turns it off."""
    if "/e2e/" not in str(request.node.fspath) or os.environ.get("E2E_AXE") == "0":
        yield None
        return
    audit = AxeAudit(request.getfixturevalue("axe_claims"))
    _hand_every_context_to(audit.watch, monkeypatch)
    yield audit
    if os.environ.get("E2E_AXE_LOG"):
        with open(os.environ["E2E_AXE_LOG"], "a") as log:
            log.write("".join(f"{request.node.nodeid} {key}\n" for key in audit.audited))
    if audit.violations:
        pytest.fail("axe-core found accessibility violations:\n" + "\n".join(audit.violations))


def pytest_collection_modifyitems(items):
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)
            # A real browser on a loaded 2-core machine is sometimes slow to answer: a failed
            # browser test runs once more (reported as a rerun); one that fails twice fails.
            # E2E_RERUNS=0 shows every failure (when hunting a flaky test).
            reruns = int(os.environ.get("E2E_RERUNS", "1"))
            item.add_marker(pytest.mark.flaky(reruns=reruns, reruns_delay=1))


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


class OneRequestPerConnection(WSGIRequestHandler):
    """HTTP/1.0: no connection outlives its request, so closing the port cuts the phone off
    at once (a kept-alive connection would still be answered)."""

    protocol_version = "HTTP/1.0"


class Network:
    """The phone's network to the server (issue 11): `cut()` closes the server's port, as in a
    basement with no signal (every request fails to connect: a real network error, in the page
    and in the service worker alike); `restore()` opens it again on the same port."""

    def __init__(self, app):
        self.app = app
        self.port = 0
        self.server = None
        self.thread = None
        #: True: the server is up but answers the field work's POSTs 503 (a broken deploy,
        #: say); signing in and out still work.
        self.refusing_writes = False

    def wsgi(self, environ, start_response):
        signing = environ["PATH_INFO"] in ("/login", "/logout")
        if self.refusing_writes and environ["REQUEST_METHOD"] == "POST" and not signing:
            start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
            return [b"down for maintenance"]
        return self.app(environ, start_response)

    def restore(self) -> str:
        self.server = make_server(
            "127.0.0.1",
            self.port,
            self.wsgi,
            threaded=True,
            request_handler=OneRequestPerConnection,
        )
        self.server.block_on_close = False
        self.port = self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return f"http://127.0.0.1:{self.port}"

    def cut(self) -> None:
        server, self.server = self.server, None
        if server is None:
            return
        server.shutdown()
        self.thread.join(timeout=5)
        for handler in threading.enumerate():
            if getattr(handler, "_target", None) == server.process_request_thread:
                handler.join(timeout=10)
        server.server_close()


@pytest.fixture
def network(app):
    """A live server with demo data whose network can be cut and restored; yields a Network
    whose `url` is the base URL."""
    load_demo()
    db.session.commit()
    net = Network(app)
    net.url = net.restore()
    app.config["BASE_URL"] = net.url
    yield net
    net.cut()


def field_phone(
    browser, base_url: str, site, *, locale: str = "en-US", notifications=False, **options
):
    """A supervisor's phone that allows location at `site` (and notifications, if asked), the
    CDN unreachable; the page has `base_url` and `site`. Close it with `page.context.close()`."""
    context = browser.new_context(
        viewport=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale=locale,
        permissions=["geolocation"] + (["notifications"] if notifications else []),
        geolocation={"latitude": site.latitude, "longitude": site.longitude, "accuracy": 10},
        **options,
    )
    context.route("https://cdn.jsdelivr.net/**", lambda route: route.abort())
    page = context.new_page()
    page.base_url = base_url
    page.site = site
    return page


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


WORKER_CONTROLS = "() => !!(navigator.serviceWorker && navigator.serviceWorker.controller)"


def wait_for_worker(page, timeout: float = 20_000) -> None:
    """Wait, bounded, until the service worker controls the page. (An `evaluate` awaiting
    `serviceWorker.ready` once waited forever when an install failed, and held CI until it gave
    up.) A failed install is tried again by reloading: the page registers the worker on load."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(WORKER_CONTROLS, timeout=timeout)
    except PlaywrightTimeout:
        page.reload()
        page.wait_for_function(WORKER_CONTROLS, timeout=timeout)


def wait_until(page, expression: str, arg=None, timeout: float = 20.0) -> None:
    """Wait, bounded, until `expression` (which may return a promise) is truthy in the page.
    `page.wait_for_function` does not await a promise (a pending one is truthy), so this polls
    with `evaluate`, which does."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression, arg):
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout} s: {expression}")
        page.wait_for_timeout(200)


def shot(page, name: str, *, full_page: bool = True) -> Path:
    """Save a screenshot (of the whole page, or of the screen) for a person to look at."""
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


#: The notifications the page's service worker shows now: title, body and the link a tap opens.
NOTIFICATIONS_SHOWN = """() => navigator.serviceWorker.ready
  .then((r) => r.getNotifications())
  .then((list) => list.map((n) => ({title: n.title, body: n.body, url: n.data && n.data.url})))"""

#: PushManager answering with a given subscription (a device of tests/push_receiver.py): the
#: page's own code (static/js/push.js) then posts it to the server as a browser's would. Kept
#: in localStorage, so that after the page reloads the browser is still subscribed.
PUSH_SUBSCRIPTION_STUB = """
(() => {
  if (typeof window === "undefined" || !("PushManager" in window)) return;
  const given = %s;
  const KEY = "e2e-push-subscribed";
  const subscription = {
    endpoint: given.endpoint,
    expirationTime: null,
    options: { userVisibleOnly: true },
    toJSON: () => ({ endpoint: given.endpoint, expirationTime: null,
                     keys: { p256dh: given.p256dh, auth: given.auth } }),
    unsubscribe: () => { localStorage.removeItem(KEY); return Promise.resolve(true); },
  };
  PushManager.prototype.subscribe = function () {
    localStorage.setItem(KEY, "1");
    return Promise.resolve(subscription);
  };
  PushManager.prototype.getSubscription = function () {
    return Promise.resolve(localStorage.getItem(KEY) ? subscription : null);
  };
})();
"""


def push_service_stub(context, device) -> None:
    """Headless Chromium reaches no push service here: the context's PushManager subscribes to
    `device` (tests/push_receiver.Device, whose push service is the local receiver) instead.
    Everything after the subscription is real: the page posts it, the server stores it, queues
    and encrypts pushes for it, and the receiver decrypts them."""
    from tests.push_receiver import b64

    given = {"endpoint": device.endpoint, "p256dh": device.p256dh, "auth": b64(device.auth)}
    context.add_init_script(PUSH_SUBSCRIPTION_STUB % json.dumps(given))


class WorkerPush:
    """Push messages delivered to the page's real service worker through the DevTools protocol
    (ServiceWorker.deliverPushMessage), as a push service would deliver them."""

    def __init__(self, page):
        self.page = page
        self.origin = page.base_url
        self.cdp = page.context.new_cdp_session(page)
        self.registration = self._registration_id()

    def _registration_id(self) -> str:
        """The worker's registration id, from the events ServiceWorker.enable sends."""
        found: dict[str, str] = {}

        def seen(event):
            for registration in event["registrations"]:
                if (
                    registration["scopeURL"].startswith(self.origin)
                    and not registration["isDeleted"]
                ):
                    found["id"] = registration["registrationId"]

        self.cdp.on("ServiceWorker.workerRegistrationUpdated", seen)
        self.cdp.send("ServiceWorker.enable")
        for _ in range(50):
            if "id" in found:
                return found["id"]
            self.page.wait_for_timeout(100)
        raise AssertionError("no service worker registration reported")

    def deliver(self, data: dict | str) -> None:
        """Deliver `data` (a push's plaintext: JSON text, or a dict to encode) to the worker."""
        text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
        self.cdp.send(
            "ServiceWorker.deliverPushMessage",
            {"origin": self.origin, "registrationId": self.registration, "data": text},
        )

    def shown(self, count: int = 1) -> list[dict]:
        """The notifications shown, once there are at least `count` of them."""
        wait_until(self.page, NOTIFICATIONS_SHOWN + f".then((l) => l.length >= {int(count)})")
        return self.page.evaluate(NOTIFICATIONS_SHOWN)

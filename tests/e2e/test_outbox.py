"""Offline field work (issue 11): nothing a supervisor enters without a connection is lost or
sent twice. The network is really cut (the server's port closed: every request fails to
connect, in the page and in the service worker) and the browser told it is offline."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import expect
from sqlalchemy import func, select, update

from app.auth.models import UserSession
from app.db import utcnow
from app.extensions import db
from app.incidents.models import Incident, IncidentPhoto
from app.inspections.models import Answer, AnswerPhoto, Inspection
from app.photos.models import Photo
from app.sites.models import Site
from tests.e2e.conftest import PHONE, field_phone, shot, wait_for_worker, wait_until
from tests.e2e.test_inspections import sign
from tests.e2e.test_shell import sign_in

#: These tests pick version 1's items (version 2 has test_inspections_v2).
pytestmark = pytest.mark.usefixtures("checklist_v1")

#: Waiting for the outbox to empty after the network returns (it sends ~30 requests).
SEND_TIMEOUT = 60_000


@pytest.fixture
def phone(browser, network):
    """A supervisor's phone that allows location, on the switchable network."""
    site = db.session.scalar(select(Site).where(Site.code == "TPE-0001"))
    page = field_phone(browser, network.url, site)
    page.network = network
    yield page
    page.context.close()


def photo_file(tmp_path, name: str, colour) -> str:
    path = tmp_path / name
    buffer = io.BytesIO()
    Image.new("RGB", (2400, 1600), colour).save(buffer, format="JPEG")
    path.write_bytes(buffer.getvalue())
    return str(path)


def go_offline(page) -> None:
    page.network.cut()
    page.context.set_offline(True)


def go_online(page) -> None:
    page.network.restore()
    page.context.set_offline(False)


def unsent(page):
    return page.locator("[data-outbox-count]")


def all_sent(page) -> None:
    """The unsent page, read from the outbox after the sending: empty, and no count shown."""
    if "/outbox" not in page.url:
        page.goto(page.base_url + "/outbox")
    expect(page.locator("[data-outbox-empty]")).to_be_visible(timeout=SEND_TIMEOUT)
    expect(unsent(page)).to_be_hidden()


def start_online(page, lang: str) -> str:
    page.goto(page.base_url + f"/s/{page.site.qr_token}?lang={'en' if lang == 'en' else 'zh-TW'}")
    sign_in(page, "supervisor", lang)
    page.locator("form[action$='/inspections'] button[type=submit]").click()
    expect(page.locator("article.item")).to_have_count(23)
    wait_for_worker(page)
    page.reload()  # through the service worker: the page is kept for offline use
    run_url = page.url
    kept(page, run_url, 3)  # this inspection, the unsent page, the new-incident form
    return run_url


def kept(page, url: str, at_least: int = 1) -> None:
    """Wait (bounded) until the service worker keeps `url` (and `at_least` pages in all)."""
    wait_until(
        page,
        """([url, n]) => caches.open("guardpost-pages").then(c => c.keys())
            .then(k => k.length >= n && k.some(r => r.url === url))""",
        [url, at_least],
    )


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_whole_inspection_and_an_incident_offline_arrive_exactly_once(phone, tmp_path, lang):
    page = phone
    run_url = start_online(page, lang)
    items = page.locator("article.item").evaluate_all("els => els.map(e => e.id)")
    panel, battery = items[4], items[5]
    expect(unsent(page)).to_be_hidden()

    go_offline(page)
    # Every answer shows at once as given, marked as saved on this phone; the count goes up.
    for item_id in items:
        if item_id == battery:
            page.locator(f"#{battery} input[name=value]").fill("12.6")
            page.locator(f"#{battery} .answer-form button[type=submit]").click()
            expect(page.locator(f"#{battery}")).to_have_class(re.compile("item-pass"))
            continue
        value = "fail" if item_id == panel else "pass"
        page.locator(f"#{item_id} button[value={value}]").click()
        expect(page.locator(f"#{item_id} button[value={value}]")).to_have_attribute(
            "aria-pressed", "true"
        )
        expect(page.locator(f"#{item_id}")).to_have_class(re.compile("item-queued"))
        if item_id == items[2]:
            expect(unsent(page)).to_have_text("3")
            page.locator(f"#{items[2]}").scroll_into_view_if_needed()
            shot(page, f"{lang}-offline-count-going-up", full_page=False)
    expect(page.locator(".progress-text")).to_contain_text("23")

    # The failed item: its note and two photos stay on it.
    page.locator(f"#{panel} textarea[name=note]").fill("主機斷線 / the panel reports a cut line")
    page.locator(f"#{panel} .note-form button[type=submit]").click()
    for n, colour in enumerate([(200, 30, 30), (30, 30, 200)]):
        page.locator(f"#{panel} [data-photo-input]").set_input_files(
            photo_file(tmp_path, f"fault-{n}.jpg", colour)
        )
        expect(page.locator(f"#{panel} img.thumb-queued")).to_have_count(n + 1)
    page.locator(f"#{panel}").scroll_into_view_if_needed()
    shot(page, f"{lang}-offline-queued-marks", full_page=False)

    # Sign and submit: kept, and the phone says so (no browser error page).
    sign(page)
    page.locator("[data-signature-form] button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/outbox\?queued="))
    expect(page.locator("[data-outbox-queued]")).to_be_visible()
    shot(page, f"{lang}-offline-submit-queued")

    # An incident with a photo, from the form the phone kept.
    page.goto(page.base_url + f"/incidents/new?site={page.site.id}")
    page.locator("#narrative").fill("後門門禁異常開啟 / back door found open")
    page.locator("[data-photo-attach]").set_input_files(
        photo_file(tmp_path, "door.jpg", (30, 160, 30))
    )
    expect(page.locator("[data-photo-previews] img")).to_have_count(1)
    page.locator("[data-photo-submit]").click()
    expect(page).to_have_url(re.compile(r"/outbox\?queued="))
    waiting = 23 + 1 + 2 + 1 + 1  # answers, the note, photos, the submit, the incident
    expect(unsent(page)).to_have_text(str(waiting))
    expect(page.locator("[data-outbox-list] > li")).to_have_count(waiting)

    # The escape hatch: everything unsent in one file, photos included.
    with page.expect_download() as download:
        page.locator("[data-outbox-export]").click()
    exported = json.loads(Path(download.value.path()).read_text())
    assert len(exported["items"]) == waiting
    files = [f for item in exported["items"] for f in item["fields"] if "file" in f]
    assert len(files) == 3 and all(f["data"].startswith("data:image/jpeg;base64,") for f in files)
    assert not any(
        f.get("value")
        for item in exported["items"]
        for f in item["fields"]
        if f["name"] == "csrf_token"
    )

    # Reloaded offline: all still there, the inspection filled from the outbox.
    page.reload()
    expect(page.locator("[data-outbox-list] > li")).to_have_count(waiting)
    page.goto(run_url)
    expect(page.locator("[data-submit-queued]")).to_be_visible()
    expect(page.locator("article.item.item-queued")).to_have_count(23)
    expect(page.locator(f"#{panel} textarea[name=note]")).to_have_value(re.compile("cut line"))
    expect(page.locator(f"#{panel} img.thumb-queued")).to_have_count(2)
    page.locator(f"#{panel}").scroll_into_view_if_needed()
    shot(page, f"{lang}-offline-reloaded", full_page=False)
    assert db.session.scalar(select(func.count()).select_from(Incident)) == 0

    # Back online: everything is sent once, and the count returns to 0.
    page.goto(page.base_url + "/outbox")
    go_online(page)
    all_sent(page)
    shot(page, f"{lang}-online-count-back-to-zero")

    db.session.expire_all()
    key = run_url.rstrip("/").rsplit("/", 1)[-1]
    inspection = db.session.scalar(select(Inspection).where(Inspection.uuid == key))
    assert inspection.status == "submitted"
    assert db.session.scalar(select(func.count()).select_from(Inspection)) == 1
    answers = db.session.scalars(select(Answer).where(Answer.inspection_id == inspection.id)).all()
    assert len(answers) == 23
    failed = [a for a in answers if a.is_pass is False]
    assert len(failed) == 1 and "cut line" in failed[0].note
    assert db.session.scalar(select(func.count()).select_from(AnswerPhoto)) == 2
    assert db.session.scalar(select(func.count()).select_from(Incident)) == 1
    assert db.session.scalar(select(func.count()).select_from(IncidentPhoto)) == 1
    assert inspection.signature_photo_id is not None
    # the three photos, and the signature (kept as an image too)
    assert db.session.scalar(select(func.count()).select_from(Photo)) == 4


def answer_offline(page, items: list[str]) -> None:
    for item_id in items:
        page.locator(f"#{item_id} button[value=pass]").click()
        expect(page.locator(f"#{item_id}")).to_have_class(re.compile("item-queued"))


def answers_saved(run_url: str) -> int:
    db.session.expire_all()
    key = run_url.rstrip("/").rsplit("/", 1)[-1]
    inspection = db.session.scalar(select(Inspection).where(Inspection.uuid == key))
    return db.session.scalar(
        select(func.count()).select_from(Answer).where(Answer.inspection_id == inspection.id)
    )


def test_items_wait_through_an_expired_session_and_are_sent_once_after_sign_in(phone):
    page = phone
    run_url = start_online(page, "en")
    items = page.locator("article.item").evaluate_all("els => els.map(e => e.id)")[:3]
    go_offline(page)
    answer_offline(page, items)
    expect(unsent(page)).to_have_text("3")

    # The session ends on the server (signed out elsewhere, or expired) while they wait.
    db.session.execute(update(UserSession).values(revoked_at=utcnow(), revoked_reason="test"))
    db.session.commit()
    page.goto(page.base_url + "/outbox")
    go_online(page)
    page.get_by_role("button", name="Send now").click()
    expect(page.locator("[data-outbox-list] [data-outbox-state]")).to_have_count(3)
    expect(page.locator("[data-outbox-list] [data-outbox-state]").first).to_contain_text(
        "sign in to send it", timeout=SEND_TIMEOUT
    )
    expect(unsent(page)).to_have_text("3")
    shot(page, "en-outbox-signed-out", full_page=False)
    assert answers_saved(run_url) == 0

    page.goto(page.base_url + "/login")
    sign_in(page, "supervisor", "en")
    all_sent(page)
    assert answers_saved(run_url) == 3


def test_items_survive_a_service_worker_update_and_a_server_refusing_writes(phone, app):
    page = phone
    run_url = start_online(page, "en")
    items = page.locator("article.item").evaluate_all("els => els.map(e => e.id)")[:3]
    go_offline(page)
    answer_offline(page, items)

    # Back on the network, but every write answers 503: the items stay, refused, with why.
    page.network.refusing_writes = True
    page.goto(page.base_url + "/outbox")
    go_online(page)
    page.get_by_role("button", name="Send now").click()
    expect(page.locator("[data-outbox-state=refused]")).to_have_count(3, timeout=SEND_TIMEOUT)
    expect(page.locator("[data-outbox-state=refused]").first).to_contain_text("503")
    shot(page, "en-outbox-refused", full_page=False)

    # A new release: its service worker replaces the old one while the items wait.
    app.config["SERVICE_WORKER_RELEASE"] = "next"
    version = re.search(r"guardpost-shell-(\w+)", app.test_client().get("/sw.js").text).group(1)
    page.evaluate("() => navigator.serviceWorker.getRegistration().then(r => r.update())")
    wait_until(
        page,
        "(name) => caches.keys().then(keys => keys.includes(name) && keys.filter("
        "k => k.startsWith('guardpost-shell-')).length === 1)",
        f"guardpost-shell-{version}",
    )
    page.reload()
    expect(page.locator("[data-outbox-list] > li")).to_have_count(3)
    assert answers_saved(run_url) == 0

    # Signing out warns, and keeps them for the next sign-in.
    page.goto(page.base_url + "/account")
    page.get_by_role("button", name="Sign out").click()
    warning = page.locator("[data-signout-warning]")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("3")
    shot(page, "en-sign-out-with-unsent-items", full_page=False)
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile("/login"))
    expect(unsent(page)).to_have_text("3")

    page.network.refusing_writes = False
    sign_in(page, "supervisor", "en")
    all_sent(page)
    assert answers_saved(run_url) == 3


def guard_with_a_briefing(browser, network):
    """A guard's phone (Chinese) on the switchable network, showing a briefing to acknowledge."""
    from app.auth.models import User
    from app.briefings import services as briefings

    site = db.session.scalar(select(Site).where(Site.code == "TPE-0001"))
    supervisor = db.session.scalar(select(User).where(User.username == "supervisor"))
    briefing = briefings.save_briefing(
        None,
        actor=supervisor,
        kind="pre_duty",
        title="今晚勤前教育：地下室無訊號",
        body="B3 機房沒有訊號，簽到請在離線時完成。",
        requires_ack=True,
        due_on=None,
        audience_kind="sites",
        site_ids={site.id},
        user_ids=set(),
    )
    briefings.publish(briefing, actor=supervisor)
    db.session.commit()

    context = browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale="zh-TW"
    )
    context.route("https://cdn.jsdelivr.net/**", lambda route: route.abort())
    page = context.new_page()
    page.base_url = network.url
    page.network = network
    page.goto(network.url + "/login")
    sign_in(page, "guard")
    wait_for_worker(page)
    page.goto(network.url + f"/briefings/{briefing.id}")
    kept(page, network.url + "/outbox")  # kept when the first signed-in page loads
    return page


def acknowledgements() -> int:
    from app.briefings.models import Acknowledgement

    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(Acknowledgement))


def test_a_guard_acknowledges_a_briefing_offline_and_it_arrives_once(browser, network):
    page = guard_with_a_briefing(browser, network)
    go_offline(page)
    page.get_by_role("button", name="我已閱讀並了解").click()
    expect(page).to_have_url(re.compile(r"/outbox\?queued="))
    expect(unsent(page)).to_have_text("1")
    expect(page.locator("[data-outbox-list] > li")).to_contain_text("公告交辦已確認")
    shot(page, "zh-offline-briefing-acknowledged", full_page=False)
    assert acknowledgements() == 0

    go_online(page)
    all_sent(page)
    assert acknowledgements() == 1
    page.context.close()


def test_kept_before_the_unsent_page_ever_was_the_phone_says_saved(browser, network):
    """The phone's first minutes: the unsent page is not kept yet. The shell's bilingual
    "saved on this phone" page stands in, never "you are offline"."""
    page = guard_with_a_briefing(browser, network)
    # (each signed-in page load asks for it to be kept: delete until it stays deleted)
    wait_until(
        page,
        """() => caches.open("guardpost-pages")
            .then(c => c.delete("/outbox"))
            .then(() => new Promise(done => setTimeout(done, 500)))
            .then(() => caches.open("guardpost-pages"))
            .then(c => c.match("/outbox"))
            .then(kept => !kept)""",
    )
    go_offline(page)
    page.get_by_role("button", name="我已閱讀並了解").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("已存在這支手機")
    expect(page.get_by_role("heading", level=2)).to_have_text("Saved on this phone")
    shot(page, "offline-saved-before-the-unsent-page-was-kept", full_page=False)
    assert acknowledgements() == 0

    go_online(page)
    page.get_by_role("link", name="未送出資料 · Unsent items").click()
    all_sent(page)
    assert acknowledgements() == 1
    page.context.close()

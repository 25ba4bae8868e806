"""Push on a phone (issue 13 item 8): a guard turns push on in the settings page, in Chromium
with the notification permission granted, and a push the server built reaches the real
service worker, which shows it.

Headless Chromium has no reachable push service here, so PushManager.subscribe() may fail:
then the page must say so plainly, and the push is delivered to the service worker through
the DevTools protocol (ServiceWorker.deliverPushMessage) instead of a push service. The
payload is the one the jobs runner would encrypt and send (push.payload); the receiver test
(tests/notifications/test_push.py) covers the encryption and the push service's side.

Pages are opened as http://localhost: the Push API needs a secure context.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.auth.models import User
from app.db import new_uuid, utcnow
from app.extensions import db
from app.incidents import services as incidents
from app.notifications import push
from app.notifications.models import Notification
from app.sites.models import Site, SiteAssignment
from tests.e2e.conftest import PHONE, WorkerPush, shot, wait_for_worker
from tests.e2e.test_shell import sign_in


@pytest.fixture
def phone(browser, live_server, app):
    base = live_server.replace("127.0.0.1", "localhost")
    app.config["BASE_URL"] = base
    context = browser.new_context(
        viewport=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="zh-TW",
        permissions=["notifications"],
    )
    context.route("https://cdn.jsdelivr.net/**", lambda route: route.abort())
    tab = context.new_page()
    tab.base_url = base
    yield tab
    context.close()


def _dispatch_guard() -> tuple[User, Notification]:
    """A supervisor sends the demo guard to an alarm at one of his sites (the notification a
    push carries)."""
    guard = db.session.scalars(select(User).where(User.username == "guard")).one()
    site_id = db.session.scalars(
        select(SiteAssignment.site_id).where(SiteAssignment.user_id == guard.id)
    ).first()
    site = db.session.get(Site, site_id)
    supervisor = db.session.scalars(select(User).where(User.username == "supervisor")).one()
    alarm = incidents.open_alarm(
        site,
        signal_type="intrusion",
        user=supervisor,
        uuid=new_uuid(),
        received_at=utcnow() - timedelta(minutes=1),
    )
    incidents.dispatch(alarm, user=supervisor, guard_id=guard.id, at=utcnow())
    db.session.commit()
    note = db.session.scalars(
        select(Notification).where(
            Notification.user_id == guard.id, Notification.kind == "alarm_dispatched"
        )
    ).one()
    return guard, note


def test_a_guard_turns_push_on_and_a_dispatch_is_shown_by_the_service_worker(phone, app):
    phone.goto(phone.base_url + "/login")
    sign_in(phone, "guard")
    phone.goto(phone.base_url + "/account")
    phone.get_by_role("link", name="推播通知").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("推播通知")
    wait_for_worker(phone)
    state = phone.locator("[data-push-state]")
    expect(state).to_have_text("關閉：這支手機不會收到推播通知。")
    shot(phone, "push-zh-off")

    phone.get_by_role("button", name="在這支手機開啟推播").click()
    error = phone.locator("[data-push-error]")
    # Either the browser reached a push service (the page reloads with this phone listed) or
    # it could not (no push service here): then the page says so and push stays off.
    expect(error.or_(phone.get_by_text("這支手機的推播通知已開啟。"))).to_be_visible()
    subscribed = phone.locator("[data-push-this]:visible").count() == 1
    if not subscribed:
        expect(error).to_contain_text("瀏覽器無法開啟推播通知：")
        expect(state).to_have_text("關閉：這支手機不會收到推播通知。")
        expect(phone.get_by_role("button", name="在這支手機開啟推播")).to_be_enabled()
    else:
        expect(state).to_have_text("開啟：這支手機會收到您的推播通知。")
    shot(phone, "push-zh-after-turn-on")

    # The topics: the guard keeps dispatches only.
    for label in ("我的案場警報處理逾時", "鑰匙袋逾時未歸還", "有給我的新公告交辦"):
        phone.get_by_label(label).uncheck()
    phone.get_by_role("button", name="儲存", exact=True).click()
    expect(phone.get_by_text("已儲存您的選擇。")).to_be_visible()
    expect(phone.get_by_label("我被派往處理警報")).to_be_checked()
    expect(phone.get_by_label("鑰匙袋逾時未歸還")).not_to_be_checked()

    # A push the server built, delivered to the real service worker.
    guard, note = _dispatch_guard()
    body = push.payload(note, guard)
    worker = WorkerPush(phone)
    worker.deliver(body)
    [shown] = worker.shown()
    assert shown["title"] == "Guardpost"
    assert shown["body"].startswith("您已被派往 ") and shown["body"].endswith(" 處理警報")
    assert shown["url"] == f"{worker.origin}/alarms/{note.link.rsplit('/', 1)[1]}"

    # A link elsewhere in a push is never followed: the worker keeps it inside the app.
    worker.deliver({**body, "tag": "other", "url": "https://evil.example/"})
    urls = {n["url"] for n in worker.shown(2)}
    assert urls == {shown["url"], worker.origin + "/"}

    phone.goto(phone.base_url + "/account/push?lang=en")
    expect(phone.get_by_role("heading", level=1)).to_have_text("Push notifications")
    expect(phone.get_by_label("I am dispatched to an alarm")).to_be_checked()
    expect(state).not_to_have_text("Checking this phone…")
    shot(phone, "push-en")

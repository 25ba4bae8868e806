"""Second factors on a phone (issue 12 item 5): a manager is made to add a passkey, confirms
a step-up with it and signs in with it, in Chromium's virtual authenticator; a supervisor sets
up an authenticator app and then signs in with its code.

WebAuthn refuses an IP address as the relying party, so these pages are opened as
http://localhost (a secure context) and BASE_URL says so.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.auth import totp
from app.auth.models import TotpCredential, User, UserSession
from app.extensions import db
from tests.e2e.conftest import PHONE
from tests.e2e.test_shell import sign_in

SHOTS = Path("/tmp/stp-shots")  # noqa: S108 (screenshots for a person to look at)


@pytest.fixture
def app_config():
    return {"WTF_CSRF_ENABLED": True, "SECOND_FACTOR_ROLES": ["manager", "admin"]}


@pytest.fixture
def phone(browser, live_server, app):
    """A phone on http://localhost:<port> with a platform authenticator (fingerprint set up)."""
    base = live_server.replace("127.0.0.1", "localhost")
    app.config["BASE_URL"] = base
    context = browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale="zh-TW"
    )
    context.route("https://cdn.jsdelivr.net/**", lambda route: route.abort())
    tab = context.new_page()
    cdp = context.new_cdp_session(tab)
    cdp.send("WebAuthn.enable")
    cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
            }
        },
    )
    tab.base_url = base
    yield tab
    context.close()


def snap(page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _session_of(username: str) -> UserSession:
    db.session.expire_all()
    user = db.session.scalar(select(User).where(User.username == username))
    return db.session.scalars(
        select(UserSession)
        .where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
        .order_by(UserSession.id.desc())
    ).first()


def _sign_out(page) -> None:
    page.goto(page.base_url + "/account")
    page.locator("form[data-signout] button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/login"))


def test_manager_adds_a_passkey_steps_up_and_signs_in_with_it(phone):
    page = phone
    page.goto(page.base_url + "/login?lang=en")
    sign_in(page, "manager", "en")
    # a manager without a second factor is sent to set one up, whatever he opens
    expect(page).to_have_url(page.base_url + "/account/security")
    expect(page.get_by_role("alert").first).to_contain_text("Your role needs a second factor")
    page.goto(page.base_url + "/sites")
    expect(page).to_have_url(page.base_url + "/account/security")

    page.get_by_label("Name of the new passkey").fill("My phone")
    page.get_by_role("button", name="Add a passkey").click()
    expect(page.get_by_role("status")).to_contain_text("The passkey has been added.")
    expect(page.locator(".list-title")).to_have_text(["My phone"])
    snap(page, "en-passkeys-list")
    page.goto(page.base_url + "/account/security?lang=zh-TW")
    expect(page.get_by_role("heading", level=1)).to_have_text("登入安全")
    snap(page, "zh-passkeys-list")
    page.goto(page.base_url + "/sites")  # the gate is open now
    expect(page).to_have_url(page.base_url + "/sites")

    page.goto(page.base_url + "/account/step-up?next=/sites&lang=en")
    expect(page.get_by_role("button", name="Use a passkey")).to_be_visible()
    snap(page, "en-step-up-passkey")
    page.goto(page.base_url + "/account/step-up?next=/sites&lang=zh-TW")
    snap(page, "zh-step-up-passkey")
    page.get_by_role("button", name="使用通行金鑰").click()
    expect(page).to_have_url(page.base_url + "/sites")
    row = _session_of("manager")
    assert row.stepped_up_by == "passkey" and row.stepped_up_at is not None

    _sign_out(page)
    page.goto(page.base_url + "/login?lang=en")
    page.get_by_role("button", name="Use a passkey").click()
    expect(page).to_have_url(page.base_url + "/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Hello")
    assert _session_of("manager").second_factor == "passkey"


def test_supervisor_sets_up_an_authenticator_app_and_signs_in_with_a_code(phone):
    page = phone
    page.goto(page.base_url + "/login?lang=en")
    sign_in(page, "supervisor", "en")
    expect(page).to_have_url(page.base_url + "/")  # optional for supervisors
    page.goto(page.base_url + "/account/security/totp?lang=zh-TW")
    expect(page.get_by_role("img", name="驗證器 App 用的 QR 碼")).to_be_visible()
    snap(page, "zh-totp-enrol")
    page.goto(page.base_url + "/account/security/totp?lang=en")
    snap(page, "en-totp-enrol")

    db.session.expire_all()
    secret = totp.secret_of(db.session.scalar(select(TotpCredential)))
    typed = page.locator(".temp-password-value code").inner_text().replace(" ", "")
    assert typed == secret
    page.get_by_label("Code from your authenticator app").fill(totp.current_code(secret))
    page.get_by_role("button", name="Confirm and turn on").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Recovery codes")
    assert page.locator("ol code").count() == 10

    _sign_out(page)
    page.goto(page.base_url + "/login?lang=en")
    sign_in(page, "supervisor", "en")
    expect(page).to_have_url(re.compile(r"/login/second-factor"))
    expect(page.get_by_label("Code from your authenticator app")).to_be_visible()
    snap(page, "en-sign-in-code")
    page.goto(page.base_url + "/login/second-factor?lang=zh-TW")
    snap(page, "zh-sign-in-code")
    # the enrolment used this time step's code: the next step's is still accepted (and new)
    page.get_by_label("驗證器 App 顯示的驗證碼").fill(
        totp.current_code(secret, at=time.time() + 30)
    )
    page.get_by_role("button", name="繼續").click()
    expect(page).to_have_url(page.base_url + "/")
    assert _session_of("supervisor").second_factor == "totp"

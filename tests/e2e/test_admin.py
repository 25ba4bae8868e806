"""The administrator's journey on a phone: create a user, assign sites, reset the password."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.e2e.conftest import shot
from tests.e2e.test_shell import sign_in


def test_admin_creates_a_guard_assigns_sites_and_resets_the_password(page):
    page.goto(page.base_url + "/login?lang=en")
    sign_in(page, "admin", "en")
    page.get_by_role("navigation", name="Main menu").last.get_by_role("link", name="Users").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Users")
    shot(page, "en-admin-users")

    page.get_by_role("link", name="New user").first.click()
    page.get_by_role("button", name="Create user").click()
    expect(page.get_by_role("alert")).to_contain_text("Please correct the marked fields.")
    shot(page, "en-admin-new-user-errors")

    page.get_by_label(re.compile(r"^Username")).fill("new.guard")
    page.get_by_label(re.compile(r"^Name\b")).fill("張新人")
    page.get_by_label("Role").select_option("guard")
    page.get_by_label("First password").fill("first-password-1")
    page.get_by_role("button", name="Create user").click()
    expect(page.get_by_role("status")).to_contain_text("User new.guard has been created.")

    page.get_by_label(re.compile("TPE-0001")).check()
    page.get_by_label(re.compile("NTP-0002")).check()
    page.get_by_role("button", name="Save assignments").click()
    expect(page.get_by_role("status")).to_contain_text("Site assignments saved.")

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Reset password").click()
    temporary = page.locator(".temp-password-value code").inner_text()
    assert re.fullmatch(r"[A-Za-z0-9]{12}", temporary)
    shot(page, "en-admin-user-reset")

    page.goto(page.base_url + "/admin/users/new?lang=zh-TW")
    shot(page, "zh-admin-new-user")
    page.goto(page.base_url + "/admin/users")
    shot(page, "zh-admin-users")


def test_new_user_must_choose_a_password_before_anything_else(page, live_server):
    page.goto(page.base_url + "/login?lang=en")
    sign_in(page, "admin", "en")
    page.goto(page.base_url + "/admin/users/new")
    page.get_by_label(re.compile(r"^Username")).fill("fresh")
    page.get_by_label(re.compile(r"^Name\b")).fill("Fresh Guard")
    page.get_by_label("Role").select_option("guard")
    page.get_by_label("First password").fill("first-password-1")
    page.get_by_role("button", name="Create user").click()
    page.goto(page.base_url + "/account")
    page.get_by_role("button", name="Sign out").last.click()

    page.get_by_label(re.compile(r"^Username")).fill("fresh")
    page.get_by_label("Password").fill("first-password-1")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile("/account/password"))
    expect(page.get_by_role("status")).to_contain_text("temporary password")
    shot(page, "en-must-change-password")
    page.get_by_label("Current password").fill("first-password-1")
    page.get_by_label(re.compile(r"^New password")).fill("my own long password")
    page.get_by_label("Repeat the new password").fill("my own long password")
    page.get_by_role("button", name="Change password").click()
    # Then, once, the collection notice (個資法 §8) that every new staff member acknowledges.
    expect(page).to_have_url(re.compile("/privacy/notice"))
    page.get_by_role("button", name="I have read this notice").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Hello, Fresh Guard")


def test_user_search_filters_as_you_type(page):
    page.goto(page.base_url + "/login?lang=en")
    sign_in(page, "admin", "en")
    page.goto(page.base_url + "/admin/users")
    page.wait_for_function("() => window.htmx !== undefined")
    expect(page.locator("#user-list .list-item")).to_have_count(5)
    page.get_by_label("Search name or username").fill("super")
    expect(page.locator("#user-list .list-item")).to_have_count(1)
    expect(page).to_have_url(re.compile(r"/admin/users\?q=super"))
    page.get_by_label("Search name or username").fill("no-such-person")
    expect(page.get_by_text("No users match")).to_be_visible()
    shot(page, "en-admin-users-search-empty")


def test_wide_screens_get_a_top_menu_instead_of_the_tab_bar(page):
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(page.base_url + "/login?lang=zh-TW")
    sign_in(page, "manager")
    top = page.locator(".topnav")
    expect(top).to_be_visible()
    expect(page.locator(".tabbar")).to_be_hidden()
    expect(top.get_by_role("link", name="首頁")).to_have_attribute("aria-current", "page")
    shot(page, "zh-manager-home-desktop")

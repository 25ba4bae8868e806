"""Two languages: complete catalogue, ?lang= that sticks, browser language, Taipei time."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from babel.messages.pofile import read_po

from app.auth.models import User
from app.extensions import db
from app.i18n import datetime_filter

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = ROOT / "app" / "translations" / "zh_Hant_TW" / "LC_MESSAGES" / "messages.po"


def test_every_message_in_the_code_is_translated_and_none_is_fuzzy(tmp_path):
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_l",
            "-k",
            "lazy_gettext",
            "--no-location",
            "-o",
            str(pot),
            ".",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with pot.open("rb") as fh:
        wanted = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(fh) if m.id}
    with CATALOGUE.open("rb") as fh:
        catalogue = read_po(fh)
    translated = {}
    fuzzy = []
    for message in catalogue:
        if not message.id:
            continue
        key = message.id if isinstance(message.id, str) else message.id[0]
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        translated[key] = all(strings)
        if message.fuzzy:
            fuzzy.append(key)
    missing = sorted(m for m in wanted if not translated.get(m))
    assert missing == [], f"untranslated (run `make messages` and translate): {missing}"
    assert fuzzy == [], f"fuzzy translations: {fuzzy}"


def test_placeholders_survive_translation():
    with CATALOGUE.open("rb") as fh:
        catalogue = read_po(fh)
    import re

    for message in catalogue:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = set(re.findall(r"%\(\w+\)[sd]", ids[-1]))
        for string in strings:
            assert set(re.findall(r"%\(\w+\)[sd]", string)) == wanted, message.id


def test_chinese_is_the_default(client):
    page = client.get("/login")
    assert 'lang="zh-Hant-TW"' in page.text and "帳號" in page.text


def test_browser_language_is_followed(client):
    page = client.get("/login", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert 'lang="en"' in page.text and "Username" in page.text
    page = client.get("/login", headers={"Accept-Language": "zh-TW,zh;q=0.9,en;q=0.5"})
    assert 'lang="zh-Hant-TW"' in page.text


def test_lang_switch_sticks_for_anonymous_visitors(client):
    client.get("/login?lang=en")
    assert "Username" in client.get("/login", headers={"Accept-Language": "zh-TW"}).text


def test_lang_switch_is_saved_on_the_user_and_beats_the_browser(app, client, make_user, login):
    user = make_user()
    login(user)
    client.get("/?lang=en")
    assert db.session.get(User, user.id).locale == "en"
    other_phone = app.test_client()
    login(user, test_client=other_phone)
    assert "Hello" in other_phone.get("/", headers={"Accept-Language": "zh-TW"}).text
    client.get("/?lang=zh-TW")
    assert db.session.get(User, user.id).locale == "zh_Hant_TW"
    assert "您好" in client.get("/", headers={"Accept-Language": "en"}).text


def test_menu_has_a_language_switch_that_keeps_the_page(client, make_user, login):
    login(make_user("admin"))
    page = client.get("/admin/users?role=guard").text
    assert 'href="/admin/users?role=guard&amp;lang=en"' in page


def test_times_are_shown_in_taipei(app):
    with app.test_request_context("/?lang=en"):
        assert datetime_filter(datetime(2026, 11, 25, 16, 30, tzinfo=UTC)) == "2026-11-26 00:30"


def test_form_library_messages_are_in_traditional_chinese(client):
    page = client.post("/login", data={"username": "x" * 61, "password": "whatever"}).text
    assert "欄位長度不能超過 60 個字元" in page  # not WTForms' Simplified "字段长度"

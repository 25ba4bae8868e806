"""Language choice: ?lang= (sticks), then the user's preference, then the browser; Taipei time."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import g, has_request_context, request, session
from flask_babel import format_date, format_datetime, get_locale
from flask_login import current_user

DEFAULT = "zh_Hant_TW"
#: Locales with a catalogue, and how each is written in HTML's lang attribute.
SUPPORTED = {"zh_Hant_TW": "zh-Hant-TW", "en": "en"}
#: What ?lang= accepts.
ALIASES = {
    "zh-tw": "zh_Hant_TW",
    "zh_tw": "zh_Hant_TW",
    "zh-hant": "zh_Hant_TW",
    "zh-hant-tw": "zh_Hant_TW",
    "zh_hant_tw": "zh_Hant_TW",
    "zh": "zh_Hant_TW",
    "en": "en",
    "en-us": "en",
    "en-gb": "en",
}


def parse_lang(value: str | None) -> str | None:
    return ALIASES.get((value or "").strip().lower())


def remember_lang_choice() -> None:
    """before_request: a ?lang= choice is kept in the cookie session and on the user."""
    choice = parse_lang(request.args.get("lang"))
    if choice is None:
        return
    g.lang = choice
    session["lang"] = choice
    if not current_user.is_authenticated:
        session["lang_chosen_signed_out"] = True  # kept for the sign-in (app/auth/routes.py)
    if current_user.is_authenticated and current_user.locale != choice:
        from app.extensions import db

        current_user.locale = choice
        db.session.commit()


def select_locale() -> str:
    """Flask-Babel's locale selector."""
    if not has_request_context():
        return "en"  # the command line speaks English
    if g.get("lang"):
        return g.lang
    if current_user and current_user.is_authenticated and current_user.locale in SUPPORTED:
        return current_user.locale
    if session.get("lang") in SUPPORTED:
        return session["lang"]
    best = request.accept_languages.best_match(["zh-TW", "zh-Hant", "zh", "en"])
    return parse_lang(best) or DEFAULT


def html_lang() -> str:
    return SUPPORTED.get(select_locale(), "zh-Hant-TW")


def datetime_filter(value) -> str:
    """An instant in Asia/Taipei, e.g. 2026-11-25 09:56."""
    if value is None:
        return ""
    return format_datetime(value, "yyyy-MM-dd HH:mm")


def date_filter(value) -> str:
    if value is None:
        return ""
    return format_date(value, "yyyy-MM-dd")


#: A date written out in words: 「2027年3月1日」, "1 March 2027".
LONG_DATE_PATTERNS = {"en": "d MMMM y"}


def long_date_filter(value) -> str:
    """A date in words, for sentences (validity, deadlines), in the page's language."""
    if value is None:
        return ""
    return format_date(value, LONG_DATE_PATTERNS.get(str(get_locale()), "long"))


TAIPEI = ZoneInfo("Asia/Taipei")


def from_taipei(value: datetime) -> datetime:
    """A wall-clock time typed in Taiwan (a naive datetime-local value) as an aware UTC instant."""
    return value.replace(tzinfo=TAIPEI).astimezone(UTC)


def taipei_now_input() -> datetime:
    """Now, as Taiwan's wall clock, without a zone: the default of a datetime-local field."""
    return datetime.now(TAIPEI).replace(tzinfo=None, second=0, microsecond=0)


def taipei_today():
    return datetime.now(TAIPEI).date()

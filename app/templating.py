"""Jinja globals and filters: versioned static URLs, vendor scripts, navigation, dates."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from urllib.parse import urlencode

from flask import Flask, current_app, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app import i18n, phones
from app.auth import policy
from app.auth.roles import role_label
from app.company import calendar
from app.company import services as company
from app.db import new_uuid
from app.vendor import vendor


@cache
def _file_version(path: str, mtime: float) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:10]


def static_url(filename: str) -> str:
    """URL of a static file with a content hash, so it can be cached for a year."""
    path = Path(current_app.static_folder) / filename
    version = _file_version(str(path), path.stat().st_mtime) if path.exists() else "0"
    return url_for("static", filename=filename, v=version)


def lang_url(code: str) -> str:
    """The current page with ?lang= set, other query arguments kept.

    A page that answered a POST (e.g. a password reset) cannot be fetched again: go home.
    """
    if request.url_rule is None or "GET" not in request.url_rule.methods:
        return url_for("main.home", lang=code)
    args = request.args.to_dict(flat=False)
    args["lang"] = [code]
    return f"{request.path}?{urlencode(args, doseq=True)}"


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: object
    icon: str
    allowed: object  # a policy predicate taking the user


#: The tab bar on phones and the top menu on wide screens. Later features add their tabs here.
NAV_ITEMS = [
    NavItem("main.home", _l("Home"), "home", policy.is_signed_in),
    NavItem("sites.scanner", _l("Scan"), "scan", policy.can_scan),
    NavItem("incidents.incidents", _l("Incidents"), "alert", policy.can_list_incidents),
    NavItem("briefings.briefings", _l("Briefings"), "book", policy.can_read_briefings),
    NavItem("inspections.inspections", _l("Inspections"), "history", policy.can_list_inspections),
    NavItem("sites.sites", _l("Sites"), "site", policy.can_list_sites),
    NavItem("auth.users", _l("Users"), "users", policy.can_manage_users),
    NavItem("auth.account", _l("More"), "more", policy.is_signed_in),
]
#: A phone's tab bar holds five; the rest stay in the top menu and on the "more" page.
TAB_LIMIT = 5


def nav_items() -> list[NavItem]:
    """The navigation entries the current user may use."""
    return [item for item in NAV_ITEMS if item.allowed(current_user)]


def tab_items() -> list[NavItem]:
    """The tab bar: the first four entries and "more"."""
    items = nav_items()
    if len(items) <= TAB_LIMIT:
        return items
    return [*items[: TAB_LIMIT - 1], items[-1]]


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(
        static_url=static_url,
        vendor=vendor,
        lang_url=lang_url,
        nav_items=nav_items,
        tab_items=tab_items,
        html_lang=i18n.html_lang,
        current_locale=i18n.select_locale,
        role_label=role_label,
        new_uuid=new_uuid,
        policy=policy,
        company_name=company.company_name,
    )
    app.jinja_env.filters["datetime"] = i18n.datetime_filter
    app.jinja_env.filters["date"] = i18n.date_filter
    app.jinja_env.filters["long_date"] = i18n.long_date_filter
    app.jinja_env.filters["print_date"] = print_date_filter
    app.jinja_env.filters["print_datetime"] = print_datetime_filter
    app.jinja_env.filters["device"] = describe_device
    app.jinja_env.filters["phone"] = phone_filter
    app.jinja_env.filters["tel"] = phones.tel_href


_BROWSERS = [
    ("Edg/", "Edge"),
    ("SamsungBrowser/", "Samsung Internet"),
    ("Line/", "LINE"),
    ("Firefox/", "Firefox"),
    ("CriOS/", "Chrome"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
]
_SYSTEMS = [
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Android", "Android"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("CrOS", "ChromeOS"),
    ("Linux", "Linux"),
]


def print_date_filter(value) -> str:
    """A date on a printed report or sheet, in the company's calendar (民國 115 年 11 月 25 日)."""
    return calendar.print_date(
        value, calendar=company.date_calendar(), locale=str(i18n.select_locale())
    )


def print_datetime_filter(value) -> str:
    """An instant on a printed report or sheet: print_date, then the Taipei time."""
    return calendar.print_datetime(
        value, calendar=company.date_calendar(), locale=str(i18n.select_locale())
    )


def phone_filter(stored: str | None) -> str:
    """A phone number as Taiwan writes it, "(02) 2345-6789 分機 123" / "… ext. 123"."""
    return phones.format_phone(stored, ext_label=_("ext."))


def describe_device(user_agent: str | None) -> str:
    """'Chrome · Android' from a User-Agent string, for people to recognise their devices."""
    ua = user_agent or ""
    browser = next((name for token, name in _BROWSERS if token in ua), "")
    system = next((name for token, name in _SYSTEMS if token in ua), "")
    return " · ".join(part for part in (browser, system) if part)

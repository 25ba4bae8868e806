"""The company setting: read (once per request) and changed by the administrator, audited."""

from __future__ import annotations

from typing import ClassVar

from flask import g, has_app_context
from flask_babel import lazy_gettext as _l

from app import audit
from app.auth.models import User
from app.company.models import CALENDARS, SETTING_ID, CompanySetting
from app.db import utcnow
from app.errors import DomainError
from app.extensions import db


class CompanyError(DomainError):
    messages: ClassVar = {"calendar": _l("Choose from the list.")}


def current_setting() -> CompanySetting:
    """The one row; an unsaved default (Gregorian, no name) when nobody has saved one yet."""
    return db.session.get(CompanySetting, SETTING_ID) or CompanySetting(
        id=SETTING_ID, company_name="", date_calendar="gregorian"
    )


def _printed() -> tuple[str, str]:
    """(calendar, company name), read once per request however many dates a page prints."""
    if not has_app_context():
        return "gregorian", ""
    if "company_printed" not in g:
        setting = current_setting()
        g.company_printed = (setting.date_calendar, setting.company_name)
    return g.company_printed


def date_calendar() -> str:
    """The calendar of printed dates: "gregorian" or "roc"."""
    return _printed()[0]


def company_name() -> str:
    """The company's name as printed at the head of reports ("" when not set)."""
    return _printed()[1]


def save_setting(*, actor: User, company_name: str, date_calendar: str) -> CompanySetting:
    """Change the company's name or calendar; the audit row names the fields and the calendar."""
    if date_calendar not in CALENDARS:
        raise CompanyError("calendar", field="date_calendar")
    setting = db.session.get(CompanySetting, SETTING_ID)
    created = setting is None
    if created:
        setting = CompanySetting(id=SETTING_ID)
        db.session.add(setting)
    values = {"company_name": company_name.strip(), "date_calendar": date_calendar}
    changed = sorted(k for k, v in values.items() if getattr(setting, k, None) != v)
    if not changed and not created:
        return setting
    for key in changed:
        setattr(setting, key, values[key])
    setting.updated_at = utcnow()
    setting.updated_by_id = actor.id
    db.session.flush()
    audit.record(
        "company.updated",
        actor=actor,
        target=f"company_setting:{SETTING_ID}",
        detail={"fields": changed, "date_calendar": date_calendar},
    )
    g.pop("company_printed", None)
    return setting

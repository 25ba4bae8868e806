"""The collection notice of 個人資料保護法 §8: its version and the retention periods it cites.

Raise NOTICE_VERSION whenever what the notice says changes in substance (a new kind of record,
a new purpose, a longer period): every staff member is then shown it again at the next page
they open, and acknowledges the new version.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

#: The notice's version; a change sends everyone to it again.
NOTICE_VERSION = 1

#: Retention settings the notice cites, with the default used when the configuration does not
#: name one. Months unless the key says otherwise. Check-ins are attendance records, kept five
#: years (勞動基準法 §30); the vault's access log and the audit chain are the usage records and
#: evidence of 施行細則 §12 item 10.
RETENTION_DEFAULTS = {
    "CHECK_IN_RETAIN_MONTHS": 60,
    "PHOTO_RETAIN_MONTHS": 60,
    "ACCESS_LOG_RETAIN_MONTHS": 60,
    "SESSION_RECORD_RETAIN_MONTHS": 12,
    "TRAINING_RETAIN_MONTHS": 60,
    "VAULT_RETAIN_MONTHS": 12,
}


def current_version() -> int:
    return NOTICE_VERSION


@dataclass(frozen=True)
class Retention:
    check_in_months: int
    photo_months: int
    access_log_months: int
    session_record_months: int
    training_months: int
    vault_months: int
    session_idle_minutes: int
    session_max_hours: int


def _setting(key: str) -> int:
    value = current_app.config.get(key)
    try:
        return int(value) if value not in (None, "") else RETENTION_DEFAULTS[key]
    except (TypeError, ValueError):
        return RETENTION_DEFAULTS[key]


def retention() -> Retention:
    """How long each kind of record about staff is kept, as configured."""
    return Retention(
        check_in_months=_setting("CHECK_IN_RETAIN_MONTHS"),
        photo_months=_setting("PHOTO_RETAIN_MONTHS"),
        access_log_months=_setting("ACCESS_LOG_RETAIN_MONTHS"),
        session_record_months=_setting("SESSION_RECORD_RETAIN_MONTHS"),
        training_months=_setting("TRAINING_RETAIN_MONTHS"),
        vault_months=_setting("VAULT_RETAIN_MONTHS"),
        session_idle_minutes=int(current_app.config.get("SESSION_IDLE_MINUTES", 120)),
        session_max_hours=int(current_app.config.get("SESSION_MAX_HOURS", 14)),
    )


def contact() -> str:
    """Whom to ask (PRIVACY_CONTACT: a name, a phone, an address); empty: the notice says
    'your manager'."""
    return str(current_app.config.get("PRIVACY_CONTACT") or "").strip()


def review_interval_days() -> int:
    """A site's permission review is overdue after this many days (REVIEW_INTERVAL_DAYS)."""
    try:
        return int(current_app.config.get("REVIEW_INTERVAL_DAYS") or 180)
    except (TypeError, ValueError):
        return 180

"""Dates on printed reports and sheets, in the calendar the company chose.

Taiwan's official papers count years from the Republic: 1912 is 民國元年, 2026 民國 115 年. In
Chinese a ROC date reads 「民國 115 年 11 月 25 日」. In English the date stays Gregorian
(2026-11-25) whatever the setting: an English reader (a foreign client, an insurer, an
auditor) reads "ROC 115" as a puzzle, and the two copies of one report still name the same
day. A date before 1912 has no ROC year and is written the Gregorian way.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

TAIPEI = ZoneInfo("Asia/Taipei")
#: The first year of the Republic of China (民國元年).
ROC_FIRST_YEAR = 1912


def roc_year(day: date) -> int | None:
    """The ROC year of a date (1 for 1912), or None before 1912."""
    year = day.year - ROC_FIRST_YEAR + 1
    return year if year >= 1 else None


def roc_date_zh(day: date) -> str | None:
    """「民國 115 年 11 月 25 日」, 「民國元年 1 月 1 日」; None before 1912."""
    year = roc_year(day)
    if year is None:
        return None
    named = "民國元年" if year == 1 else f"民國 {year} 年"
    return f"{named} {day.month} 月 {day.day} 日"


def _taipei(value: date | datetime) -> tuple[date, str]:
    """The Taiwan calendar day and wall-clock time ("" for a date) of a value."""
    if isinstance(value, datetime):
        local = value.astimezone(TAIPEI) if value.tzinfo else value
        return local.date(), local.strftime("%H:%M")
    return value, ""


def print_date(value: date | datetime | None, *, calendar: str, locale: str) -> str:
    """A date for a printed sheet: ROC in Chinese when the company chose it, else 2026-11-25."""
    if value is None:
        return ""
    day, _time = _taipei(value)
    if calendar == "roc" and locale.startswith("zh"):
        written = roc_date_zh(day)
        if written:
            return written
    return day.isoformat()


def print_datetime(value: datetime | None, *, calendar: str, locale: str) -> str:
    """An instant for a printed sheet, in Taiwan time: the date as print_date, then 14:05."""
    if value is None:
        return ""
    _day, time = _taipei(value)
    return f"{print_date(value, calendar=calendar, locale=locale)} {time}".strip()

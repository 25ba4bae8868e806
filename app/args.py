"""Query-string and path arguments: the page, an id filter, a Taipei day, a number.

Whatever a user types in an address stays within what the database can hold: an id larger
than its column is no id (404 in a path, ignored in a query string), a page beyond the last
is the last, a day outside the app's calendar window is no day, a number is finite.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time

from flask import abort, request
from werkzeug.routing import IntegerConverter

from app.db import INT_MAX
from app.i18n import TAIPEI, taipei_today

#: The days a date field may name: none before the app's records begin, none decades ahead.
EARLIEST_DAY = date(2000, 1, 1)
YEARS_AHEAD = 10
#: A filter may look further ahead (an empty list is an answer); still nowhere near year 9999.
FILTER_YEARS_AHEAD = 100


class IdConverter(IntegerConverter):
    """`<int:...>` in every route: a positive whole number that fits an Integer column.

    A larger number cannot be the id of anything, so the URL does not match (404) instead of
    overflowing the database driver (OverflowError on SQLite, NumericValueOutOfRange on
    PostgreSQL)."""

    def __init__(self, map, fixed_digits=0, min=None, max=INT_MAX, signed=False):
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def refuse_nul() -> None:
    """Before every request: a NUL character in the path or the query string is never typed
    by a person, and PostgreSQL refuses it in any text it compares: 400, not a crash."""
    if "\x00" in request.path or any(
        "\x00" in key or "\x00" in value for key, value in request.args.items(multi=True)
    ):
        abort(400)


def page_arg(name: str = "page") -> int:
    """The page asked for (1 when absent, not a number or out of range)."""
    value = request.args.get(name, 1, type=int)
    return value if 1 <= value <= INT_MAX else 1


def int_arg(name: str) -> int | None:
    """A positive id from the query string, or None (also for one no column can hold)."""
    value = request.args.get(name, type=int)
    return value if value and 0 < value <= INT_MAX else None


def is_id(value: str) -> bool:
    """Is this text an id (a positive whole number an Integer column can hold)?"""
    return value.isdigit() and 0 < int(value) <= INT_MAX


def float_arg(name: str) -> float | None:
    """A finite number from the query string, or None."""
    value = request.args.get(name, type=float)
    return value if value is not None and math.isfinite(value) else None


def day_window(years_ahead: int = YEARS_AHEAD) -> tuple[date, date]:
    """The first and the last day a date field (or, further ahead, a filter) may name."""
    today = taipei_today()
    return EARLIEST_DAY, date(today.year + years_ahead, 12, 31)


def day_arg(value: str | None) -> date | None:
    """A YYYY-MM-DD day within the window, or None for no (or a bad, or an unlikely) date."""
    try:
        day = datetime.strptime(value or "", "%Y-%m-%d").date()
    except ValueError:
        return None
    first, last = day_window(FILTER_YEARS_AHEAD)
    return day if first <= day <= last else None


def taipei_day_start(value: str | None) -> datetime | None:
    """The UTC instant a YYYY-MM-DD day starts in Taipei, or None for no (or a bad) date."""
    day = day_arg(value)
    if day is None:
        return None
    return datetime.combine(day, time.min, tzinfo=TAIPEI).astimezone(UTC)

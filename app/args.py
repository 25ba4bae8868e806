"""Query-string arguments every list reads: the page, an id filter, a Taipei day."""

from __future__ import annotations

from datetime import UTC, datetime, time

from flask import request

from app.i18n import TAIPEI


def page_arg(name: str = "page") -> int:
    """The page asked for (1 when absent or not a number)."""
    return request.args.get(name, 1, type=int)


def int_arg(name: str) -> int | None:
    """A positive id from the query string, or None."""
    value = request.args.get(name, type=int)
    return value if value and value > 0 else None


def taipei_day_start(value: str | None) -> datetime | None:
    """The UTC instant a YYYY-MM-DD day starts in Taipei, or None for no (or a bad) date."""
    try:
        day = datetime.strptime(value or "", "%Y-%m-%d").date()
    except ValueError:
        return None
    return datetime.combine(day, time.min, tzinfo=TAIPEI).astimezone(UTC)

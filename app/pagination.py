"""One page of a query's rows, with what a pager needs.

Counting is capped: a list counts its rows only up to COUNT_AHEAD rows past the start of
the page shown, so a year of check-ins or inspections never makes every page view scan a
whole table. Below the cap the count is exact; above it the pager says "more than".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, literal_column, select

from app.extensions import db

#: Rows counted from the start of the page shown (rounded up to whole pages, two at least).
COUNT_AHEAD = 1000


@dataclass
class Page:
    items: list[Any]
    page: int
    #: Pages known to exist: all of them when `exact`, else at least this many.
    pages: int
    #: Rows counted: all of them when `exact`, else there are more than this.
    total: int
    exact: bool = True


def paginate(
    stmt: Select, *, page: int, per_page: int, count_ahead: int | None = None, rows: bool = False
) -> Page:
    """Count the rows of `stmt` (up to the cap) and fetch page `page` (clamped to the pages
    there are): its first entities, or with `rows` whole result rows."""
    page = max(1, page)
    ahead = COUNT_AHEAD if count_ahead is None else count_ahead
    # At least the next page is counted, so "more than" always leaves a next page to go to.
    ahead_pages = max(2, -(-ahead // per_page))
    cap = (page - 1 + ahead_pages) * per_page
    counted = db.session.scalar(select(func.count()).select_from(_rows_up_to(stmt, cap + 1))) or 0
    exact = counted <= cap
    total = min(counted, cap)
    pages = max(1, -(-total // per_page))
    page = min(page, pages)
    window = stmt.offset((page - 1) * per_page).limit(per_page)
    items = db.session.execute(window).all() if rows else db.session.scalars(window).all()
    return Page(list(items), page, pages, total, exact)


def _rows_up_to(stmt: Select, limit: int):
    """The first `limit` rows of `stmt` as a subquery to count: no ORDER BY, and no columns
    when that cannot change the row count (an index alone can then answer it)."""
    inner = stmt.order_by(None)
    if not (inner._distinct or inner._group_by_clauses):  # the count depends on the columns
        inner = inner.with_only_columns(literal_column("1"), maintain_column_froms=True)
    return inner.limit(limit).subquery()

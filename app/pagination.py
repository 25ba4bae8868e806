"""One page of a query's rows, with what a pager needs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select

from app.extensions import db


@dataclass
class Page:
    items: list[Any]
    page: int
    pages: int
    total: int


def paginate(stmt: Select, *, page: int, per_page: int) -> Page:
    """Count the rows of `stmt` and fetch page `page` (clamped to the pages there are)."""
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    items = db.session.scalars(stmt.offset((page - 1) * per_page).limit(per_page)).all()
    return Page(list(items), page, pages, total)

"""Capped list counts: exact below the cap, "more than" above it, never a whole-table count."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import event, select

from app import pagination
from app.db import new_uuid, utcnow
from app.extensions import db
from app.pagination import paginate
from app.sites.models import CheckIn, Client
from tests import factories


def clients(n: int) -> None:
    for i in range(n):
        factories.gen_client(name=f"Client {i:02d}")
    db.session.commit()


def test_below_the_cap_the_count_is_exact_and_the_page_clamped(app):
    clients(12)
    stmt = select(Client).order_by(Client.name)
    first = paginate(stmt, page=1, per_page=5)
    assert (first.total, first.pages, first.exact) == (12, 3, True)
    assert [c.name for c in first.items] == [f"Client {i:02d}" for i in range(5)]
    beyond = paginate(stmt, page=9, per_page=5)
    assert (beyond.page, beyond.total, beyond.exact) == (3, 12, True)
    assert [c.name for c in beyond.items] == ["Client 10", "Client 11"]


def test_above_the_cap_it_says_more_than_and_still_reaches_every_page(app):
    clients(12)
    stmt = select(Client).order_by(Client.name)
    first = paginate(stmt, page=1, per_page=2, count_ahead=4)
    assert (first.page, first.total, first.pages, first.exact) == (1, 4, 2, False)
    # The count reaches past whichever page is shown: the next one always exists.
    fourth = paginate(stmt, page=4, per_page=2, count_ahead=4)
    assert (fourth.page, fourth.total, fourth.pages, fourth.exact) == (4, 10, 5, False)
    last = paginate(stmt, page=6, per_page=2, count_ahead=4)
    assert (last.page, last.total, last.pages, last.exact) == (6, 12, 6, True)
    assert [c.name for c in last.items] == ["Client 10", "Client 11"]
    # Exactly as many rows as the cap: the count is exact, not "more than".
    exact = paginate(stmt, page=1, per_page=3, count_ahead=12)
    assert (exact.total, exact.pages, exact.exact) == (12, 4, True)


def test_the_count_stops_at_the_cap(app):
    clients(30)
    counted = []

    def remember(conn, cursor, statement, parameters, context, executemany):
        if "count(" in statement.lower():
            counted.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", remember)
    try:
        paginate(select(Client).order_by(Client.name), page=2, per_page=5, count_ahead=10)
    finally:
        event.remove(db.engine, "before_cursor_execute", remember)
    ((statement, parameters),) = counted
    assert "LIMIT" in statement.upper()
    values = parameters.values() if isinstance(parameters, dict) else parameters
    assert 16 in values  # pages 2 and 3 counted (up to row 15), plus one to know of more


def test_the_pager_says_more_than_in_both_languages(client, make_user, login, monkeypatch):
    guard = make_user("guard")
    site = factories.gen_site()
    factories.assign(guard, site)
    now = utcnow()
    for n in range(60):
        db.session.add(
            CheckIn(
                uuid=new_uuid(),
                site_id=site.id,
                user_id=guard.id,
                method="qr",
                received_at=now - timedelta(minutes=n),
                verdict="on_site",
            )
        )
    db.session.commit()
    login(guard)
    monkeypatch.setattr(pagination, "COUNT_AHEAD", 50)
    english = client.get("/check-ins?lang=en").text
    assert "More than 50 check-ins" in english
    assert "Page 1 of 2+" in english and 'rel="next"' in english
    chinese = client.get("/check-ins?lang=zh_Hant_TW").text
    assert "超過 50 筆簽到" in chinese and "第 1 頁，共 2+ 頁" in chinese
    last = client.get("/check-ins?page=3&lang=en").text
    assert "60 check-ins" in last and "More than" not in last
    assert "Page 3 of 3" in last and 'rel="next"' not in last
    monkeypatch.setattr(pagination, "COUNT_AHEAD", 1000)
    exact = client.get("/check-ins?lang=en").text
    assert "60 check-ins" in exact and "Page 1 of 3" in exact


def test_distinct_rows_are_counted_as_distinct(app):
    for i in range(6):
        factories.gen_client(name=f"Client {i}", address="臺北市" if i % 2 else "新北市")
    db.session.commit()
    page = paginate(select(Client.address).distinct().order_by(Client.address), page=1, per_page=5)
    assert (page.total, sorted(page.items)) == (2, ["新北市", "臺北市"])

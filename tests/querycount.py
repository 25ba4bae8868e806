"""count_queries(): how many SQL statements a block of code sends (statement budgets)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event
from sqlalchemy.engine import Engine


class StatementCount:
    """Callable count of the statements seen so far; `statements` keeps their text."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self) -> int:
        return len(self.statements)

    def __repr__(self) -> str:
        return f"<{len(self.statements)} statements>"


_IGNORED = ("PRAGMA", "SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")


@contextmanager
def count_queries() -> Iterator[StatementCount]:
    """Count the statements every engine sends inside the block (connection pragmas aside).

    with count_queries() as count:
        client.get("/")
    assert count() == 12
    """
    count = StatementCount()

    def _before(conn, cursor, statement, parameters, context, executemany):
        if not statement.lstrip().upper().startswith(_IGNORED):
            count.statements.append(statement)

    event.listen(Engine, "before_cursor_execute", _before)
    try:
        yield count
    finally:
        event.remove(Engine, "before_cursor_execute", _before)

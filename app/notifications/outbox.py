"""Claiming a batch of an outbox's rows for one jobs runner (the e-mail and the push outbox).

The caller commits the claim before sending. On PostgreSQL the candidates are locked with
FOR UPDATE SKIP LOCKED in the same statement, so a second runner passes over rows the first is
claiming instead of waiting for them; the UPDATE repeats the conditions, so a row claimed by a
runner that committed first is not claimed again. SQLite has one writer at a time and evaluates
the UPDATE under its write lock, so a claim there is exclusive too (run one runner on SQLite all
the same: see README).
"""

from __future__ import annotations

from sqlalchemy import select, update

from app.extensions import db


def claim(model, *, sendable: tuple, eligible, values: dict, limit: int) -> list[int]:
    """Mark up to `limit` rows of `model` that are `sendable` (repeated in the UPDATE) and
    `eligible` (only in the pick) as claimed with `values`; their ids, in order."""
    # A CTE, materialized: PostgreSQL may run a plain IN (subquery) once per outer row, and
    # with SKIP LOCKED each run would pick other rows, claiming more than `limit`.
    picked = (
        select(model.id)
        .where(*sendable, eligible)
        .order_by(model.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .cte("picked")
        .prefix_with("MATERIALIZED", dialect="postgresql")
    )
    claimed = db.session.scalars(
        update(model)
        .where(model.id.in_(select(picked.c.id)), *sendable)
        .values(**values)
        .returning(model.id),
        execution_options={"synchronize_session": False},
    ).all()
    return sorted(claimed)

"""bench/pages.py stays runnable: every page it measures answers 200 for its role."""

from __future__ import annotations

import contextvars

from sqlalchemy import select

from app.extensions import db
from app.inspections.models import Answer, Inspection
from bench import pages as bench


def test_every_benchmarked_page_answers_for_its_role(app, runner):
    result = runner.invoke(args=["demo", "--scale", "large", "--factor", "0.002"])
    assert result.exit_code == 0, result.output
    db.session.commit()
    # Outside the test's app context, as a server runs requests (see IsolatedClient).
    results = contextvars.Context().run(bench.measure, app, 1, 0)
    assert len(results) == len(bench.pages(contextvars.Context().run(bench.targets, app)))
    assert {r.role for r in results} == set(bench.ROLES)
    assert [(r.page, r.role, r.status) for r in results if r.status != 200] == []
    assert all(r.statements > 0 and r.median_ms > 0 for r in results)
    db.session.expire_all()
    draft = db.session.scalar(select(Inspection).where(Inspection.uuid == bench.BENCH_DRAFT))
    assert draft.status == "draft"
    assert db.session.scalar(select(Answer.value).where(Answer.inspection_id == draft.id)) == "pass"
    assert "| home (guard) | guard |" in bench.table({"SQLite": results}, 60, cpu=True)
    assert {"sheet, a site's month", "sheet, a client's month", "sheet PDF, a site's month"} <= {
        r.page for r in results
    }
    stream = contextvars.Context().run(bench.measure_csv, app)
    assert stream.rows > 0 and stream.megabytes > 0 and stream.rss_peak_mib > 0

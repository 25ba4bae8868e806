"""Exports: the CSV opens with its Chinese (UTF-8 with a BOM), formula cells are neutralised,
times are Taipei's, headers follow the language; the XLSX is a workbook."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, datetime

import pytest

from app import spreadsheet
from app.extensions import db
from tests import factories

OCCURRED = datetime(2026, 11, 10, 16, 30, tzinfo=UTC)  # 2026-11-11 00:30 in Taipei


def _world():
    manager = factories.gen_user("manager")
    supervisor = factories.gen_user("supervisor")
    mine = factories.gen_site(name="台北信義案場")
    other = factories.gen_site(name="別人的案場")
    factories.assign(supervisor, mine)
    factories.gen_incident(
        mine, supervisor, occurred_at=OCCURRED, narrative='=HYPERLINK("http://x")後門遭破壞'
    )
    factories.gen_incident(other, supervisor, occurred_at=OCCURRED, narrative="另一案")
    db.session.commit()
    return manager, supervisor, mine


def _csv(response) -> list[list[str]]:
    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def test_incidents_csv_in_chinese_with_formula_cells_neutralised(app, client, login):
    manager, *_ = _world()
    login(manager)
    response = client.get("/exports/incidents.csv?from=2026-11-01&to=2026-11-30")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    rows = _csv(response)
    assert rows[0][:2] == ["案場代碼", "案場"]
    assert len(rows) == 3
    row = next(r for r in rows[1:] if r[1] == "台北信義案場")
    assert "2026-11-11 00:30:00" in row
    assert '\'=HYPERLINK("http://x")後門遭破壞' in row


def test_an_export_is_audited(app, client, login):
    from sqlalchemy import select

    from app.audit.models import AuditEvent

    manager, *_ = _world()
    login(manager)
    client.get("/exports/incidents.xlsx?from=2026-11-01&to=2026-11-30")
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "dashboard.export")
    ).one()
    assert event.target == "export:incidents"
    assert event.actor_id == manager.id


def test_headers_follow_the_language(app, client, login):
    manager, *_ = _world()
    login(manager)
    rows = _csv(client.get("/exports/incidents.csv?from=2026-11-01&to=2026-11-30&lang=en"))
    assert rows[0][:2] == ["Site code", "Site"]


def test_supervisor_exports_only_his_sites(app, client, login):
    _, supervisor, _mine = _world()
    login(supervisor)
    rows = _csv(client.get("/exports/incidents.csv?from=2026-11-01&to=2026-11-30"))
    assert [r[1] for r in rows[1:]] == ["台北信義案場"]


def test_period_outside_gives_only_the_header(app, client, login):
    manager, *_ = _world()
    login(manager)
    assert len(_csv(client.get("/exports/incidents.csv?from=2026-01-01&to=2026-01-31"))) == 1


def test_xlsx_is_a_workbook_with_the_rows(app, client, login):
    manager, *_ = _world()
    login(manager)
    response = client.get("/exports/incidents.xlsx?from=2026-11-01&to=2026-11-30")
    assert response.status_code == 200
    book = zipfile.ZipFile(io.BytesIO(response.get_data()))
    assert "xl/worksheets/sheet1.xml" in book.namelist()
    sheet = book.read("xl/worksheets/sheet1.xml").decode()
    # constant-memory mode writes strings inline, in the sheet itself
    assert "台北信義案場" in sheet
    assert "<f>" not in sheet  # no formula cell


@pytest.mark.parametrize(
    "kind",
    [
        "inspections",
        "answers",
        "alarms",
        "arming",
        "repairs",
        "maintenance",
        "check_ins",
        "acknowledgements",
        "training",
    ],
)
def test_every_export_answers_csv_and_xlsx(app, client, login, kind):
    manager, *_ = _world()
    login(manager)
    assert len(_csv(client.get(f"/exports/{kind}.csv"))) >= 1
    assert client.get(f"/exports/{kind}.xlsx").status_code == 200


def test_unknown_export_is_404(app, client, login):
    manager, *_ = _world()
    login(manager)
    assert client.get("/exports/passwords.csv").status_code == 404
    assert client.get("/exports/incidents.pdf").status_code == 404


def test_csv_cell_neutralises_every_formula_start():
    for start in ("=", "+", "-", "@", "\t", "\r"):
        assert spreadsheet.csv_cell(f"{start}1+1").startswith("'")
    assert spreadsheet.csv_cell("1+1") == "1+1"
    assert spreadsheet.csv_cell(None) == ""

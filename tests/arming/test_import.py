"""The CSV import: a preview with row-level errors, then all rows or none; UTF-8 (with or
without a byte-order mark) or Big5; only the uploader's own sites."""

from __future__ import annotations

import io
from datetime import timedelta

from sqlalchemy import func, select

from app.arming import services as svc
from app.arming.models import ArmEvent
from app.audit.models import AuditEvent
from app.db import utcnow
from app.extensions import db
from app.i18n import TAIPEI

HEADER = "案場代碼,設定/解除,時間,使用者編號\r\n"


def _stamp(hours_ago: int) -> str:
    return (utcnow() - timedelta(hours=hours_ago)).astimezone(TAIPEI).strftime("%Y-%m-%d %H:%M")


def _csv(*rows: str, header: str = HEADER) -> str:
    return header + "".join(f"{row}\r\n" for row in rows)


def _upload(client, text: str, encoding: str = "utf-8"):
    data = {"file": (io.BytesIO(text.encode(encoding)), "events.csv")}
    return client.post("/arming/import", data=data, content_type="multipart/form-data")


def _events() -> int:
    return db.session.scalar(select(func.count(ArmEvent.id)))


def _upload_id(page: str) -> str:
    start = page.index('name="upload"')
    value = page.index('value="', start) + len('value="')
    return page[value : page.index('"', value)]


def test_a_clean_file_is_previewed_then_imported_whole(client, login, arm_world):
    login(arm_world["supervisor"])
    text = _csv(f"TPE-0101,解除,{_stamp(10)},01", f"TPE-0101,設定,{_stamp(2)},01")
    preview = _upload(client, text)
    page = preview.get_data(as_text=True)
    assert preview.status_code == 200
    assert "2" in page and 'name="upload"' in page
    assert _events() == 0, "a preview writes nothing"
    done = client.post("/arming/import/confirm", data={"upload": _upload_id(page)})
    assert done.status_code == 303
    assert _events() == 2
    assert {e.source for e in db.session.scalars(select(ArmEvent))} == {"csv"}
    assert db.session.scalar(
        select(func.count(AuditEvent.seq)).where(AuditEvent.action == "arming.csv_import")
    )
    # The kept file is gone: confirming again imports nothing and says the upload is gone.
    again = client.post("/arming/import/confirm", data={"upload": _upload_id(page)})
    assert again.status_code == 303
    assert _events() == 2


def test_a_file_with_a_bad_row_shows_each_error_and_imports_nothing(client, login, arm_world):
    login(arm_world["supervisor"])
    text = _csv(
        f"TPE-0101,解除,{_stamp(10)},01",
        f"TPE-0101,開門,{_stamp(9)},01",
        "TPE-0101,設定,2026/13/45 99:99,01",
        f"TPE-0102,設定,{_stamp(2)},01",  # not the supervisor's site
        f"TPE-0101,設定,{_stamp(1)},1 2",
    )
    response = _upload(client, text)
    page = response.get_data(as_text=True)
    assert "4 errors" not in page  # the page speaks Chinese by default
    for row, column in ((3, "設定/解除"), (4, "時間"), (5, "案場代碼"), (6, "使用者編號")):
        assert f"第 {row} 列 · {column}" in page, (row, column)
    assert 'name="upload"' not in page, "no confirmation for a file with errors"
    assert _events() == 0


def test_a_confirmation_imports_nothing_if_the_file_went_bad_meanwhile(arm_world):
    text = _csv(f"TPE-0101,設定,{_stamp(2)},01", "TPE-9999,設定,2026-11-01 18:00,01")
    try:
        svc.import_csv(text.encode(), user=arm_world["manager"], now=utcnow())
    except svc.ArmingError as error:
        assert error.key == "csv_invalid"
    else:
        raise AssertionError("a file with an error must be refused")
    db.session.rollback()
    assert _events() == 0


def test_big5_and_a_byte_order_mark_are_read(arm_world):
    rows = [f"TPE-0101,設定,{_stamp(2)},01"]
    for data in (_csv(*rows).encode("cp950"), b"\xef\xbb\xbf" + _csv(*rows).encode()):
        preview = svc.preview_csv(data, user=arm_world["manager"], now=utcnow())
        assert preview.is_valid, [e.message for e in preview.errors]


def test_a_file_in_another_encoding_or_without_the_columns_is_refused(arm_world):
    bad = svc.preview_csv(b"\xff\xfe\x00\x00", user=arm_world["manager"], now=utcnow())
    assert [e.key for e in bad.errors] == ["encoding"]
    headless = svc.preview_csv(
        b"site,when\r\nTPE-0101,x\r\n", user=arm_world["manager"], now=utcnow()
    )
    assert {e.key for e in headless.errors} == {"missing_column"}


def test_rows_already_recorded_are_skipped_not_doubled(arm_world):
    text = _csv(f"TPE-0101,設定,{_stamp(2)},01").encode()
    svc.import_csv(text, user=arm_world["manager"], now=utcnow())
    db.session.commit()
    preview = svc.preview_csv(text, user=arm_world["manager"], now=utcnow())
    assert preview.duplicate_count == 1 and preview.new_count == 0
    result = svc.import_csv(text, user=arm_world["manager"], now=utcnow())
    assert result.created == [] and result.duplicates == [0]
    assert _events() == 1


def test_the_template_has_the_chinese_headers(client, login, arm_world):
    login(arm_world["supervisor"])
    response = client.get("/arming/import/template.csv")
    text = response.get_data().decode("utf-8-sig")
    assert text.splitlines()[0] == ",".join(svc.CSV_HEADERS)
    preview = svc.preview_csv(text.encode(), user=arm_world["manager"], now=utcnow())
    assert not [e for e in preview.errors if e.key in ("missing_column", "no_header")]

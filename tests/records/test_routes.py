"""The sheet's workflow through its pages: prepare → return (comment required) → remarks →
approve → release → the client reads, downloads and signs for it; each step audited and
notified. The PDF's first page is rasterised and is not blank."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.extensions import db
from app.notifications.models import Notification
from app.records.models import ControlRecordSheet
from tests import factories

SCREENSHOTS = Path(__file__).resolve().parent.parent / "e2e" / "screenshots"


def _actions(target: str) -> list[str]:
    return list(
        db.session.scalars(
            select(AuditEvent.action).where(AuditEvent.target == target).order_by(AuditEvent.seq)
        )
    )


def _kinds(user) -> list[str]:
    return list(
        db.session.scalars(select(Notification.kind).where(Notification.user_id == user.id))
    )


@pytest.fixture
def people(app):
    client_company = factories.gen_client(name="大安商場管委會")
    site = factories.gen_site(client_company, name="大安商場")
    supervisor = factories.gen_user("supervisor", display_name="林督導")
    factories.assign(supervisor, site)
    manager = factories.gen_user("manager", display_name="陳經理")
    reader = factories.gen_user("client", client_id=client_company.id, display_name="黃淑芬")
    db.session.commit()
    return {"site": site, "supervisor": supervisor, "manager": manager, "client": reader}


def test_the_whole_workflow(app, client, login, people):
    site, supervisor, manager, reader = (
        people[k] for k in ("site", "supervisor", "manager", "client")
    )
    login(supervisor)
    response = client.post(
        "/records/new", data={"site": site.id, "month": "2026-10", "remarks": "本月設備正常。"}
    )
    assert response.status_code == 303
    sheet = db.session.scalar(select(ControlRecordSheet))
    assert (sheet.status, sheet.remarks, sheet.prepared_by_id) == (
        "prepared",
        "本月設備正常。",
        supervisor.id,
    )
    assert "sheet_prepared" in _kinds(manager)
    # Preparing the same month again opens the same sheet.
    client.post("/records/new", data={"site": site.id, "month": "2026-10"})
    assert db.session.scalar(select(db.func.count(ControlRecordSheet.id))) == 1

    client.post("/logout")
    login(manager)
    client.post(f"/records/{sheet.id}/return", data={"comment": ""})
    db.session.refresh(sheet)
    assert sheet.status == "prepared"  # a return needs its comment
    client.post(f"/records/{sheet.id}/return", data={"comment": "請補充警報說明"})
    db.session.refresh(sheet)
    assert (sheet.status, sheet.return_comment) == ("returned", "請補充警報說明")
    assert "sheet_returned" in _kinds(supervisor)

    client.post("/logout")
    login(supervisor)
    page = client.get(f"/records/{sheet.id}").get_data(as_text=True)
    assert "請補充警報說明" in page
    client.post(f"/records/{sheet.id}/remarks", data={"remarks": "已補充。"})
    db.session.refresh(sheet)
    assert (sheet.status, sheet.remarks) == ("prepared", "已補充。")

    client.post("/logout")
    login(manager)
    client.post(f"/records/{sheet.id}/approve")
    db.session.refresh(sheet)
    assert sheet.status == "approved" and sheet.snapshot
    # Not yet the client's.
    client.post("/logout")
    login(reader)
    assert client.get(f"/records/{sheet.id}").status_code == 404
    client.post("/logout")
    login(manager)
    client.post(f"/records/{sheet.id}/release")
    db.session.refresh(sheet)
    assert sheet.status == "released"
    assert "sheet_released" in _kinds(reader)

    client.post("/logout")
    login(reader)
    listing = client.get("/records").get_data(as_text=True)
    assert f"/records/{sheet.id}" in listing
    page = client.get(f"/records/{sheet.id}").get_data(as_text=True)
    assert "大安商場" in page and "已補充。" in page
    pdf = client.get(f"/records/{sheet.id}.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.data.startswith(b"%PDF")
    client.post(f"/records/{sheet.id}/acknowledge")
    db.session.refresh(sheet)
    assert (sheet.status, sheet.acknowledged_by_id) == ("acknowledged", reader.id)
    assert "sheet_acknowledged" in _kinds(supervisor)

    assert _actions(f"sheet:{sheet.id}") == [
        "sheet.prepared",
        "sheet.returned",
        "sheet.remarks",
        "sheet.approved",
        "sheet.access",  # the client's look before the release: denied
        "sheet.released",
        "sheet.downloaded",
        "sheet.acknowledged",
    ]


def test_the_pdf_renders_chinese_on_a4(app, client, login, people):
    """Page 1 rasterised (pypdfium2): A4, not blank; the PNG is kept for a person to look at."""
    import pypdfium2

    from app.company.services import save_setting

    site, supervisor, manager = people["site"], people["supervisor"], people["manager"]
    save_setting(actor=manager, company_name="安心系統保全股份有限公司", date_calendar="roc")
    db.session.commit()
    login(supervisor)
    long_remark = (
        "本月巡檢兩次，主機備用電池老化已開立維修單，廠商預定下旬更換；"
        "後門感知器誤報一次，原因為使用者操作不當，已再次向管委會說明設定與解除的步驟。"
    ) * 3
    client.post("/records/new", data={"site": site.id, "month": "2026-10", "remarks": long_remark})
    sheet = db.session.scalar(select(ControlRecordSheet))
    response = client.get(f"/records/{sheet.id}.pdf")
    assert response.status_code == 200

    document = pypdfium2.PdfDocument(response.data)
    page = document[0]
    width, height = page.get_size()
    assert (round(width), round(height)) == (595, 842)  # A4 in points
    image = page.render(scale=1.5).to_pil().convert("L")
    SCREENSHOTS.mkdir(exist_ok=True)
    image.save(SCREENSHOTS / "records-sheet-pdf-page1.png")
    dark = sum(image.histogram()[:128])
    assert dark > 0.01 * image.width * image.height, "page 1 looks blank"
    text = page.get_textpage().get_text_range()
    assert "管控紀錄表" in text
    assert "安心系統保全股份有限公司" in text
    assert "民國 115 年 10 月 1 日" in text


def _stamp_png() -> bytes:
    """A solid red square seal (transparent around it) and a blue logo bar: easy to find in a
    rasterised page by their colours."""
    import io

    from PIL import Image, ImageDraw

    seal = Image.new("RGBA", (200, 200), (0, 0, 0, 0))
    ImageDraw.Draw(seal).rectangle((20, 20, 180, 180), fill=(230, 0, 0, 255))
    buffer = io.BytesIO()
    seal.save(buffer, format="PNG")
    return buffer.getvalue()


def _logo_png() -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (400, 120), (0, 0, 230)).save(buffer, format="PNG")
    return buffer.getvalue()


def _coloured(image, colour) -> int:
    """Pixels close to `colour` in an RGB image."""
    r0, g0, b0 = colour
    data = image.tobytes()
    return sum(
        1
        for r, g, b in zip(data[0::3], data[1::3], data[2::3], strict=True)
        if abs(r - r0) < 40 and abs(g - g0) < 40 and abs(b - b0) < 40
    )


def test_the_logo_heads_every_sheet_and_the_seal_only_an_approved_one(app, client, login, people):
    """HTML and PDF alike; the approved sheet keeps the images it was approved with."""
    import pypdfium2

    from app.company import images

    site, manager = people["site"], people["manager"]
    admin = factories.gen_user("admin")
    logo = images.upload(actor=admin, kind="logo", data=_logo_png())
    seal = images.upload(actor=admin, kind="seal", data=_stamp_png())
    db.session.commit()
    login(manager)
    client.post("/records/new", data={"site": site.id, "month": "2026-10"})
    sheet = db.session.scalar(select(ControlRecordSheet))

    draft = client.get(f"/records/{sheet.id}").text
    assert f"/records/{sheet.id}/logo?v={images.version(logo)}" in draft
    assert "/seal" not in draft and "公司印章" not in draft
    assert client.get(f"/records/{sheet.id}/seal").status_code == 404
    served = client.get(f"/records/{sheet.id}/logo?v={images.version(logo)}")
    assert served.status_code == 200 and served.mimetype == "image/png"
    assert served.headers["Cache-Control"] == "private, max-age=31536000, immutable"

    def pdf_page():
        response = client.get(f"/records/{sheet.id}.pdf")
        assert response.status_code == 200
        return pypdfium2.PdfDocument(response.data)[0].render(scale=1.5).to_pil().convert("RGB")

    page = pdf_page()
    assert _coloured(page, (0, 0, 230)) > 500, "the logo is on the PDF"
    assert _coloured(page, (230, 0, 0)) == 0, "no seal before approval"

    client.post(f"/records/{sheet.id}/approve")
    db.session.refresh(sheet)
    assert (sheet.status, sheet.logo_image_id, sheet.seal_image_id) == (
        "approved",
        logo.id,
        seal.id,
    )
    approved = client.get(f"/records/{sheet.id}").text
    assert f"/records/{sheet.id}/seal?v={images.version(seal)}" in approved
    assert 'alt="公司印章"' in approved
    assert client.get(f"/records/{sheet.id}/seal").status_code == 200
    page = pdf_page()
    assert _coloured(page, (0, 0, 230)) > 500
    assert _coloured(page, (230, 0, 0)) > 500, "the seal is stamped on the approved PDF"
    # Beside the approver's signature: in the page's lower part, not the head.
    red_rows = [
        y
        for y in range(0, page.height, 2)
        if any(page.getpixel((x, y)) == (230, 0, 0) for x in range(0, page.width, 4))
    ]
    logo_rows = [
        y
        for y in range(0, page.height, 2)
        if any(page.getpixel((x, y)) == (0, 0, 230) for x in range(0, page.width, 4))
    ]
    assert max(logo_rows) < page.height / 4 < page.height / 2 < min(red_rows)
    SCREENSHOTS.mkdir(exist_ok=True)
    page.save(SCREENSHOTS / "records-sheet-pdf-sealed.png")

    # A new seal and no logo afterwards: the approved sheet keeps what it was approved with.
    images.upload(actor=admin, kind="seal", data=_logo_png())
    images.remove(actor=admin, kind="logo")
    db.session.commit()
    again = client.get(f"/records/{sheet.id}").text
    assert f"v={images.version(seal)}" in again and f"v={images.version(logo)}" in again
    # A correction starts unsealed, with the current (no) logo.
    client.post(f"/records/{sheet.id}/correct", data={"reason": "更正"})
    new = db.session.scalar(select(ControlRecordSheet).where(ControlRecordSheet.version == 2))
    corrected = client.get(f"/records/{new.id}").text
    assert "/logo?" not in corrected and "/seal?" not in corrected
    assert client.get(f"/records/{new.id}/logo").status_code == 404


def test_making_a_pdf_leaves_truncated_uploads_refused(app, client, login, people):
    """WeasyPrint's import turns on Pillow's LOAD_TRUNCATED_IMAGES for the whole process; after
    a PDF, a truncated photo must still be refused, not padded out."""
    from PIL import ImageFile

    from app.photos.services import PhotoError, encode_photo

    login(people["manager"])
    client.post("/records/new", data={"site": people["site"].id, "month": "2026-10"})
    sheet = db.session.scalar(select(ControlRecordSheet))
    assert client.get(f"/records/{sheet.id}.pdf").status_code == 200
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
    with pytest.raises(PhotoError) as refused:
        encode_photo(_logo_png()[:-100])
    assert refused.value.key == "truncated"

"""The company's logo and seal on a phone: the administrator uploads them, a supervisor's
prepared sheet shows the logo and no seal, the manager's approval stamps the seal beside his
signature (page, print view and PDF), and the client reads the sealed sheet from the portal.
Both languages; every step's screenshot is kept for a person to look at."""

from __future__ import annotations

import pypdfium2
from PIL import Image, ImageDraw, ImageFont
from playwright.sync_api import expect
from sqlalchemy import select

from app.extensions import db
from app.records.models import ControlRecordSheet
from app.sites.models import Site
from tests.e2e.conftest import SCREENSHOTS, shot
from tests.e2e.test_briefings import new_phone
from tests.e2e.test_records import _last_month
from tests.e2e.test_shell import sign_in

FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc"


def _logo(path) -> None:
    """A navy shield and the company's short name: what a small security firm's logo is."""
    image = Image.new("RGBA", (520, 160), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.polygon([(10, 10), (130, 10), (130, 90), (70, 150), (10, 90)], fill=(20, 50, 110, 255))
    draw.text((48, 30), "安", font=ImageFont.truetype(FONT, 56, index=0), fill="white")
    draw.text((150, 40), "安心保全", font=ImageFont.truetype(FONT, 72, index=0), fill=(20, 50, 110))
    image.save(path, format="PNG")


def _seal(path) -> None:
    """A red square company seal (公司章) of four characters, on a transparent background."""
    image = Image.new("RGBA", (300, 300), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    red = (200, 30, 30, 235)
    draw.rectangle((12, 12, 288, 288), outline=red, width=16)
    font = ImageFont.truetype(FONT, 110, index=0)
    for text, (x, y) in zip("保全印章", [(160, 30), (160, 150), (35, 30), (35, 150)], strict=True):
        draw.text((x, y - 12), text, font=font, fill=red)
    image.save(path, format="PNG")


def _pdf_pages(pdf: bytes, name: str) -> None:
    document = pypdfium2.PdfDocument(pdf)
    for n in range(len(document)):
        document[n].render(scale=1.5).to_pil().save(SCREENSHOTS / f"{name}-page{n + 1}.png")


def test_logo_and_seal_from_the_settings_to_the_clients_sheet(browser, live_server, tmp_path):
    logo, seal = tmp_path / "logo.png", tmp_path / "seal.png"
    _logo(logo)
    _seal(seal)
    site = db.session.scalar(select(Site).where(Site.code == "TPE-0002"))

    context, admin = new_phone(browser, live_server, "zh-TW")
    admin.goto(live_server + "/login")
    sign_in(admin, "admin", "zh")
    admin.goto(live_server + "/admin/company")
    admin.get_by_label("公司名稱").fill("安心系統保全股份有限公司")
    admin.get_by_role("button", name="儲存變更").click()
    admin.locator("#file-logo").set_input_files(str(logo))
    admin.locator("#image-logo ~ form.form button").click()
    expect(admin.locator(".flashes")).to_contain_text("已儲存公司標誌")
    admin.locator("#file-seal").set_input_files(str(seal))
    admin.locator("#image-seal ~ form.form button").click()
    expect(admin.locator(".company-image-preview img")).to_have_count(2)
    shot(admin, "zh-company-logo-seal")
    # A file that is not an image is refused, in words.
    text_file = tmp_path / "seal.png.txt"
    text_file.write_text("not an image")
    admin.locator("#file-seal").set_input_files(str(text_file))
    admin.locator("#image-seal ~ form.form button").click()
    expect(admin.get_by_text("這個檔案不是 PNG 或 JPEG 圖片。")).to_be_visible()
    shot(admin, "zh-company-seal-refused", full_page=False)
    admin.goto(live_server + "/admin/company?lang=en")
    shot(admin, "en-company-logo-seal")
    context.close()

    context, boss = new_phone(browser, live_server, "zh-TW")
    boss.goto(live_server + "/login")
    sign_in(boss, "supervisor", "zh")
    boss.goto(live_server + "/records/new")
    boss.get_by_label("案場").select_option(str(site.id))
    boss.get_by_label("月份").fill(_last_month())
    boss.get_by_label("督導意見").fill("本月巡檢正常，後門感知器誤報一次，已請廠商調整。")
    boss.get_by_role("button", name="製作並送核").click()
    expect(boss.locator(".sheet-logo")).to_be_visible()
    expect(boss.locator(".sheet-seal")).to_have_count(0)
    shot(boss, "zh-sheet-draft-logo")
    context.close()

    sheet = db.session.scalar(select(ControlRecordSheet))
    context, manager = new_phone(browser, live_server, "zh-TW")
    manager.goto(live_server + "/login")
    sign_in(manager, "manager", "zh")
    manager.goto(live_server + f"/records/{sheet.id}")
    manager.get_by_role("button", name="核准").click()
    expect(manager.locator(".sheet-seal")).to_be_visible()
    shot(manager, "zh-sheet-approved-seal")
    manager.emulate_media(media="print")
    shot(manager, "zh-sheet-approved-print")
    manager.emulate_media(media="screen")
    pdf = manager.request.get(live_server + f"/records/{sheet.id}.pdf").body()
    _pdf_pages(pdf, "zh-sheet-approved-pdf")
    manager.goto(live_server + f"/records/{sheet.id}?lang=en")
    shot(manager, "en-sheet-approved-seal")
    manager.emulate_media(media="print")
    shot(manager, "en-sheet-approved-print")
    manager.emulate_media(media="screen")
    _pdf_pages(manager.request.get(live_server + f"/records/{sheet.id}.pdf").body(), "en-sheet-pdf")
    manager.get_by_role("button", name="Release to the client").click()
    expect(manager.locator(".sheet-actions .badge")).to_have_text("Released to the client")
    context.close()

    context, reader = new_phone(browser, live_server, "zh-TW")
    reader.goto(live_server + "/login")
    sign_in(reader, "client", "zh")
    reader.goto(live_server + f"/portal/sites/{site.id}")
    shot(reader, "zh-portal-site-sheets")
    reader.goto(live_server + f"/records/{sheet.id}")
    expect(reader.locator(".sheet-logo")).to_be_visible()
    expect(reader.locator(".sheet-seal")).to_be_visible()
    loaded = reader.evaluate(
        "() => [...document.querySelectorAll('.sheet-logo, .sheet-seal')]"
        ".every((img) => img.complete && img.naturalWidth > 0)"
    )
    assert loaded, "the client's browser loaded the logo and the seal"
    shot(reader, "zh-portal-sheet-seal")
    reader.goto(live_server + f"/records/{sheet.id}?lang=en")
    shot(reader, "en-portal-sheet-seal")
    context.close()

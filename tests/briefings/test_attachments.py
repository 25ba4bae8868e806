"""Briefing attachments (issue 10, item 6): a PDF is read through with pypdf and refused when
it runs anything or cannot be read; it is served as a PDF, under a safe name ending in .pdf."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfWriter
from pypdf.actions import JavaScript
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    NameObject,
    NumberObject,
    TextStringObject,
)
from sqlalchemy import select

from app.briefings import services as svc
from app.briefings.models import BriefingAttachment
from app.extensions import db
from tests.briefings.test_briefings import brief, team  # noqa: F401 (the fixture is used)


def pdf(dress=None) -> bytes:
    """A real one-page PDF, written by pypdf; `dress(writer)` adds what a test needs."""
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    if dress is not None:
        dress(writer)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def with_names_tree_script(writer):
    writer.add_open_action(JavaScript("app.alert('hello');"))  # the /Names /JavaScript tree


def with_open_action_script(writer):
    writer.root_object[NameObject("/OpenAction")] = DictionaryObject(
        {
            NameObject("/S"): NameObject("/JavaScript"),
            NameObject("/JS"): TextStringObject("this.print();"),
        }
    )


def with_launch_link(writer):
    launch = DictionaryObject(
        {NameObject("/S"): NameObject("/Launch"), NameObject("/F"): TextStringObject("cmd.exe")}
    )
    link = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Annot"),
            NameObject("/Subtype"): NameObject("/Link"),
            NameObject("/Rect"): ArrayObject([NumberObject(n) for n in (0, 0, 100, 100)]),
            NameObject("/A"): launch,
        }
    )
    writer.pages[0][NameObject("/Annots")] = ArrayObject([writer._add_object(link)])


def with_page_open_script(writer):
    script = DictionaryObject(
        {NameObject("/S"): NameObject("/JavaScript"), NameObject("/JS"): TextStringObject("1")}
    )
    writer.pages[0][NameObject("/AA")] = DictionaryObject({NameObject("/O"): script})


def with_uri_open_action(writer):
    writer.root_object[NameObject("/OpenAction")] = DictionaryObject(
        {NameObject("/S"): NameObject("/URI"), NameObject("/URI"): TextStringObject("http://x")}
    )


def with_first_view(writer):
    """An explicit destination: open on page 1, whole page — only a view, no action."""
    writer.root_object[NameObject("/OpenAction")] = ArrayObject(
        [writer.pages[0].indirect_reference, NameObject("/Fit")]
    )


def with_password(writer):
    writer.encrypt("secret")


def attach(client, briefing, data, name):
    return client.post(
        f"/briefings/{briefing.id}/attachments?lang=en",
        data={"file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
        follow_redirects=True,
    )


@pytest.mark.parametrize(
    ("dress", "message"),
    [
        (with_names_tree_script, "contains scripts or actions"),
        (with_open_action_script, "contains scripts or actions"),
        (with_launch_link, "contains scripts or actions"),
        (with_page_open_script, "contains scripts or actions"),
        (with_uri_open_action, "contains scripts or actions"),
        (with_password, "password-protected"),
    ],
    ids=["names-js", "openaction-js", "launch", "page-aa-js", "openaction-uri", "encrypted"],
)
def test_pdfs_that_run_anything_are_refused(client, team, login, dress, message):  # noqa: F811
    briefing = brief(team)
    db.session.commit()
    login(team["supervisor"])
    response = attach(client, briefing, pdf(dress), "SOP.pdf")
    assert response.status_code == 200 and message in response.text
    assert db.session.scalar(select(BriefingAttachment)) is None


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n",
        b"%PDF-1.7\n<html><script>alert(1)</script></html>\n",
        pdf()[:200],
    ],
    ids=["no-catalog", "html-behind-a-pdf-header", "truncated"],
)
def test_broken_pdfs_are_refused_with_a_clear_message(client, team, login, data):  # noqa: F811
    briefing = brief(team)
    db.session.commit()
    login(team["supervisor"])
    response = attach(client, briefing, data, "SOP.pdf")
    assert response.status_code == 200 and "cannot be read" in response.text
    assert db.session.scalar(select(BriefingAttachment)) is None


def test_a_pdf_named_page_html_downloads_as_a_pdf_that_is_never_sniffed(app, client, team, login):  # noqa: F811
    briefing = brief(team)
    db.session.commit()
    login(team["supervisor"])
    document = pdf(with_first_view)  # a first view is not an action: accepted
    response = attach(client, briefing, document, "page.html")
    assert "Attachment added" in response.text
    item = db.session.scalar(select(BriefingAttachment))
    assert item.filename == "page.pdf"
    reader = app.test_client()
    login(team["guard"], test_client=reader)
    served = reader.get(f"/briefing-files/{item.id}")
    assert served.status_code == 200 and served.data == document
    assert served.mimetype == "application/pdf"
    assert served.headers["Content-Disposition"] == "attachment; filename=page.pdf"
    assert served.headers["X-Content-Type-Options"] == "nosniff"


def test_a_stored_unsafe_name_is_still_served_as_pdf(app, client, team, login):  # noqa: F811
    """Rows stored before the fix kept the uploader's name: it is cleaned when served."""
    briefing = brief(team)
    db.session.commit()
    login(team["supervisor"])
    attach(client, briefing, pdf(), "x.pdf")
    item = db.session.scalar(select(BriefingAttachment))
    item.filename = '../evil"\r\nX: 1.html'
    db.session.commit()
    served = client.get(f"/briefing-files/{item.id}")
    assert served.headers["Content-Disposition"] == "attachment; filename=evil-X-1.pdf"


@pytest.mark.parametrize(
    ("given", "safe"),
    [
        ("page.html", "page.pdf"),
        ("消防演練 SOP v2.pdf", "消防演練-SOP-v2.pdf"),
        ("..\\..\\windows\\a.b.exe", "a-b.pdf"),
        ("", "attachment.pdf"),
        (".pdf", "pdf.pdf"),
        ("x" * 300 + ".pdf", "x" * 80 + ".pdf"),
    ],
)
def test_safe_file_names(given, safe):
    assert svc.safe_file_name(given) == safe

"""QR codes: real images decoded by a real decoder, rotation, the label sheet."""

from __future__ import annotations

import io

import pytest
import zxingcpp
from PIL import Image
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.extensions import db
from tests import factories


def decode(png: bytes) -> str:
    results = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert len(results) == 1
    return results[0].text


def login_at(client, user, base_url):
    client.post(
        "/login",
        data={"username": user.username, "password": factories.PASSWORD},
        base_url=base_url,
    )


@pytest.mark.parametrize("app_config", [{"TRUSTED_HOSTS": ["guard.example"]}])
def test_png_decodes_to_the_scan_url_on_a_trusted_host(client, make_user, app_config):
    site = factories.gen_site()
    db.session.commit()
    login_at(client, make_user("admin"), "https://guard.example")
    response = client.get(f"/sites/{site.id}/qr.png", base_url="https://guard.example")
    assert response.mimetype == "image/png"
    assert response.headers["Cache-Control"] == "private, no-store"
    assert decode(response.data) == f"https://guard.example/s/{site.qr_token}"


def test_without_base_url_or_trusted_hosts_no_qr_code_carries_the_requests_host(client, make_user):
    """The default settings: a request with Host: evil.example gets no code for evil.example,
    and the pages say what to set."""
    site = factories.gen_site(code="TPE-0001")
    db.session.commit()
    evil = "http://evil.example"
    login_at(client, make_user("admin"), evil)
    for image in ("qr.png", "qr.svg"):
        response = client.get(f"/sites/{site.id}/{image}?lang=en", base_url=evil)
        assert response.status_code == 409 and b"evil.example" not in response.data
        assert b"BASE_URL" in response.data
    sheet = client.get(f"/sites/labels?site={site.id}&lang=en", base_url=evil).text
    assert "evil.example" not in sheet and site.qr_token not in sheet
    assert "BASE_URL" in sheet and "TRUSTED_HOSTS" in sheet
    assert 'class="label"' not in sheet
    card = client.get(f"/sites/{site.id}?lang=en", base_url=evil).text
    assert "evil.example" not in card and "BASE_URL" in card


def test_with_base_url_a_foreign_host_changes_nothing(app, client, make_user):
    app.config["BASE_URL"] = "https://guardpost.example.com"
    site = factories.gen_site(code="TPE-0001")
    db.session.commit()
    evil = "http://evil.example"
    login_at(client, make_user("admin"), evil)
    png = client.get(f"/sites/{site.id}/qr.png", base_url=evil).data
    assert decode(png) == f"https://guardpost.example.com/s/{site.qr_token}"
    sheet = client.get(f"/sites/labels?site={site.id}", base_url=evil).text
    assert "evil.example" not in sheet and 'class="label"' in sheet
    card = client.get(f"/sites/{site.id}", base_url=evil).text
    assert "evil.example" not in card
    assert f"https://guardpost.example.com/s/{site.qr_token}" in card


@pytest.mark.parametrize("app_config", [{"BASE_URL": "https://guardpost.example.com/"}])
def test_base_url_wins_over_the_request_host(client, make_user, app_config):
    site = factories.gen_site()
    db.session.commit()
    login_at(client, make_user("manager"), "http://10.0.0.5:5000")
    png = client.get(f"/sites/{site.id}/qr.png", base_url="http://10.0.0.5:5000").data
    assert decode(png) == f"https://guardpost.example.com/s/{site.qr_token}"


def test_svg_is_an_image_without_scripts(app, client, make_user, login):
    app.config["BASE_URL"] = "http://localhost"
    site = factories.gen_site()
    db.session.commit()
    login(make_user("admin"))
    response = client.get(f"/sites/{site.id}/qr.svg")
    assert response.mimetype == "image/svg+xml"
    assert b"<svg" in response.data and b"<script" not in response.data


def test_replacing_the_code_retires_the_old_label(app, client, make_user, login):
    app.config["BASE_URL"] = "http://localhost"
    site = factories.gen_site()
    guard = make_user("guard")
    factories.assign(guard, site)
    db.session.commit()
    old = site.qr_token
    login(make_user("admin"))
    old_png = client.get(f"/sites/{site.id}/qr.png").data
    response = client.post(f"/sites/{site.id}/qr/rotate")
    assert response.status_code == 303
    db.session.refresh(site)
    assert site.qr_token != old
    assert decode(client.get(f"/sites/{site.id}/qr.png").data).endswith(site.qr_token)

    phone = app.test_client()
    login(guard, test_client=phone)
    stale = phone.get(decode(old_png).replace("http://localhost", "") + "?lang=en")
    assert stale.status_code == 410
    assert "This code was replaced" in stale.text
    assert phone.get(f"/s/{site.qr_token}").status_code == 200
    events = [(e.action, e.outcome) for e in db.session.scalars(select(AuditEvent))]
    assert ("site.qr_rotated", "success") in events
    assert ("site.qr_retired_scanned", "denied") in events


def test_label_sheet_shows_each_chosen_site_with_a_chinese_instruction(
    app, client, make_user, login
):
    app.config["BASE_URL"] = "https://guardpost.example.com"
    a = factories.gen_site(name="信義 A 棟", code="TPE-0001")
    b = factories.gen_site(name="板橋總廠", code="NTP-0001")
    factories.gen_site(name="Not chosen")
    db.session.commit()
    login(make_user("manager"))
    page = client.get(f"/sites/labels?site={a.id}&site={b.id}").text
    assert page.count('class="label"') == 2
    assert "信義 A 棟" in page and "NTP-0001" in page and "Not chosen" not in page
    assert "請用手機相機掃描" in page
    assert f"/sites/{a.id}/qr.svg" in page


def test_label_sheet_without_sites_says_what_to_do(client, make_user, login):
    login(make_user("admin"))
    assert "Tick the sites" in client.get("/sites/labels?lang=en").text

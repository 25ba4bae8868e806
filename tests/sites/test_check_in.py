"""The scan landing, check-ins and their history."""

from __future__ import annotations

import re
import time
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.extensions import db
from app.sites.models import CheckIn
from tests import factories


@pytest.fixture
def world(make_user):
    site = factories.gen_site(latitude=25.0330, longitude=121.5654, geofence_m=150)
    other = factories.gen_site()
    guard = make_user("guard")
    factories.assign(guard, site)
    db.session.commit()
    return {"site": site, "other": other, "guard": guard}


def post_check_in(client, site, *, lat=None, lon=None, accuracy=None, device_ms=None, key=None):
    data = {"uuid": key or str(uuid.uuid4())}
    if lat is not None:
        data.update(latitude=str(lat), longitude=str(lon), accuracy=str(accuracy))
    data["scanned_at"] = str(device_ms if device_ms is not None else int(time.time() * 1000))
    return client.post(f"/s/{site.qr_token}/check-in", data=data)


def actions():
    return [(e.action, e.outcome) for e in db.session.scalars(select(AuditEvent))]


def test_anonymous_scan_goes_to_login_and_comes_back(client, world, login):
    site = world["site"]
    response = client.get(f"/s/{site.qr_token}")
    assert response.status_code == 302
    assert f"next=/s/{site.qr_token}" in response.headers["Location"]
    after = login(world["guard"], next=f"/s/{site.qr_token}")
    assert after.headers["Location"] == f"/s/{site.qr_token}"


def test_assigned_guard_sees_the_check_in_page(client, world, login):
    login(world["guard"])
    page = client.get(f"/s/{world['site'].qr_token}?lang=en")
    assert page.status_code == 200
    assert world["site"].name in page.text
    assert re.search(r'name="uuid" type="hidden" value="[0-9a-f-]{36}"', page.text)
    assert "never tracked in the background" in page.text


def test_unassigned_scan_looks_like_an_unknown_code_and_is_audited(client, world, login):
    login(world["guard"])
    unknown = client.get("/s/no-such-token-at-all")
    other = client.get(f"/s/{world['other'].qr_token}")
    assert unknown.status_code == other.status_code == 404
    token = world["other"].qr_token

    def same(page: str, path_token: str) -> str:
        # the CSRF token carries the second it was signed: two requests may straddle one
        page = re.sub(r'name="csrf-token" content="[^"]*"', 'name="csrf-token"', page)
        return page.replace(path_token, "T")

    assert same(unknown.text, "no-such-token-at-all") == same(other.text, token)
    assert ("site.scan", "denied") in actions()
    assert post_check_in(client, world["other"]).status_code == 404
    assert db.session.scalar(select(CheckIn)) is None


def test_check_in_on_site_records_both_clocks_and_the_distance(client, world, login):
    login(world["guard"])
    response = post_check_in(client, world["site"], lat=25.0331, lon=121.5655, accuracy=12)
    assert response.status_code == 303
    record = db.session.scalar(select(CheckIn))
    assert response.headers["Location"] == f"/sites/{world['site'].id}?check_in={record.uuid}"
    assert record.verdict == "on_site" and record.distance_m < 20
    assert record.scanned_at is not None and record.received_at is not None
    assert not record.is_clock_skewed
    card = client.get(response.headers["Location"] + "&lang=en").text
    assert "Checked in at" in card and "On site" in card


def test_check_in_far_away_is_off_site_and_kept(client, world, login):
    login(world["guard"])
    post_check_in(client, world["site"], lat=25.0478, lon=121.5170, accuracy=10)
    record = db.session.scalar(select(CheckIn))
    assert record.verdict == "off_site" and record.distance_m > 4000


def test_check_in_without_location_is_no_fix(client, world, login):
    login(world["guard"])
    response = post_check_in(client, world["site"])
    record = db.session.scalar(select(CheckIn))
    assert record.verdict == "no_fix" and record.latitude is None
    assert "No usable location" in client.get(response.headers["Location"] + "&lang=en").text


def test_a_device_clock_off_by_more_than_five_minutes_is_flagged(client, world, login):
    login(world["guard"])
    response = post_check_in(client, world["site"], device_ms=int((time.time() - 600) * 1000))
    assert db.session.scalar(select(CheckIn)).is_clock_skewed
    assert "clock is off" in client.get(response.headers["Location"] + "&lang=en").text


def test_the_same_check_in_sent_twice_makes_one_row(client, world, login):
    login(world["guard"])
    key = str(uuid.uuid4())
    first = post_check_in(client, world["site"], key=key)
    second = post_check_in(client, world["site"], key=key)
    assert first.headers["Location"] == second.headers["Location"]
    assert len(db.session.scalars(select(CheckIn)).all()) == 1


def test_the_same_uuid_for_another_site_is_refused(client, world, login, make_user):
    manager = make_user("manager")
    login(manager)
    key = str(uuid.uuid4())
    post_check_in(client, world["site"], key=key)
    assert post_check_in(client, world["other"], key=key).status_code == 409
    assert db.session.scalar(select(CheckIn)).site_id == world["site"].id


def test_garbage_in_the_location_fields_is_treated_as_no_location(client, world, login):
    login(world["guard"])
    client.post(
        f"/s/{world['site'].qr_token}/check-in",
        data={
            "uuid": str(uuid.uuid4()),
            "latitude": "nan",
            "longitude": "abc",
            "accuracy": "inf",
            "scanned_at": "x",
        },
    )
    record = db.session.scalar(select(CheckIn))
    assert record.verdict == "no_fix" and record.scanned_at is None


def _form_action(page: str) -> str:
    return re.search(r'<form method="post" action="([^"]+)" data-check-in-form', page).group(1)


def test_a_typed_code_checks_in_as_code_and_never_reveals_the_token(client, world, login):
    site = world["site"]
    token = site.qr_token
    login(world["guard"])
    typed = client.post("/scan/code", data={"code": site.code.lower()})
    assert typed.status_code == 303
    assert token not in typed.headers["Location"] and token not in typed.text
    page = client.get(typed.headers["Location"] + "?lang=en")
    assert page.status_code == 200 and site.name in page.text
    assert token not in page.text
    # the client cannot make it a scan: a "method" field is ignored
    posted = client.post(_form_action(page.text), data={"uuid": str(uuid.uuid4()), "method": "qr"})
    assert posted.status_code == 303 and token not in posted.headers["Location"]
    record = db.session.scalar(select(CheckIn))
    assert record.method == "code"
    card = client.get(posted.headers["Location"] + "&lang=en").text
    assert token not in card and "Site code typed" in card


def test_only_the_labels_url_records_a_qr_check_in(client, world, login):
    site = world["site"]
    login(world["guard"])
    page = client.get(f"/s/{site.qr_token}").text
    assert 'name="method"' not in page
    client.post(_form_action(page), data={"uuid": str(uuid.uuid4()), "method": "code"})
    client.post(f"/sites/{site.id}/check-in", data={"uuid": str(uuid.uuid4()), "method": "qr"})
    methods = [c.method for c in db.session.scalars(select(CheckIn).order_by(CheckIn.id))]
    assert methods == ["qr", "code"]


def test_the_site_cards_check_in_button_does_not_carry_the_token(client, world, login):
    login(world["guard"])
    card = client.get(f"/sites/{world['site'].id}").text
    assert f'href="/sites/{world["site"].id}/check-in"' in card
    assert world["site"].qr_token not in card


def test_a_code_check_in_at_anothers_site_is_hidden_and_audited(client, world, login):
    login(world["guard"])
    other = world["other"]
    assert client.get(f"/sites/{other.id}/check-in").status_code == 404
    assert ("site.scan", "denied") in actions()
    response = client.post(f"/sites/{other.id}/check-in", data={"uuid": str(uuid.uuid4())})
    assert response.status_code == 404
    assert db.session.scalar(select(CheckIn)) is None


def test_the_check_in_shows_the_location_as_reported(client, world, login):
    login(world["guard"])
    response = post_check_in(client, world["site"], lat=25.0331, lon=121.5655, accuracy=12)
    card = client.get(response.headers["Location"] + "&lang=en").text
    assert "Reported location:" in card and "as your phone reported it" in card
    history = client.get("/check-ins?lang=en").text
    assert "QR scanned" in history and "reported " in history


def test_a_wrong_or_foreign_code_gets_the_same_answer(client, world, login):
    login(world["guard"])
    unknown = client.post("/scan/code?lang=en", data={"code": "NOPE-0000"})
    foreign = client.post("/scan/code?lang=en", data={"code": world["other"].code})
    message = "None of your sites has this code."
    assert message in unknown.text and message in foreign.text
    assert ("site.scan", "denied") in actions()


def test_inactive_sites_take_no_check_ins(client, world, login):
    world["site"].is_active = False
    db.session.commit()
    login(world["guard"])
    assert client.get(f"/s/{world['site'].qr_token}").status_code == 404


class TestHistory:
    @pytest.fixture
    def history(self, app, world, make_user, login):
        site, other = world["site"], world["other"]
        supervisor = make_user("supervisor")
        stranger = make_user("guard", display_name="Stranger Guard")
        factories.assign(supervisor, site)
        factories.assign(stranger, other)
        db.session.commit()
        for user, target in ((world["guard"], site), (stranger, other)):
            phone = app.test_client()
            login(user, test_client=phone)
            post_check_in(phone, target)
        return {**world, "supervisor": supervisor, "stranger": stranger}

    def test_guard_sees_only_his_own(self, client, history, login):
        login(history["guard"])
        page = client.get("/check-ins?lang=en").text
        assert "1 check-in" in page and "Stranger Guard" not in page

    def test_supervisor_sees_his_sites_guards_only(self, client, history, login):
        login(history["supervisor"])
        page = client.get("/check-ins?lang=en").text
        assert history["guard"].display_name in page and "Stranger Guard" not in page
        assert "Stranger Guard" not in client.get(f"/check-ins?user={history['stranger'].id}").text

    def test_manager_sees_all_and_filters(self, client, history, login, make_user):
        login(make_user("manager"))
        page = client.get("/check-ins?lang=en").text
        assert "2 check-ins" in page
        by_site = client.get(f"/check-ins?site={history['other'].id}&lang=en").text
        assert "1 check-in" in by_site and "Stranger Guard" in by_site
        flagged = client.get("/check-ins?flagged=1&lang=en").text
        assert "2 check-ins" in flagged  # both without location
        future = client.get("/check-ins?from=2099-01-01&lang=en").text
        assert "No check-ins found" in future
        today = client.get("/check-ins?from=2000-01-01&to=2099-12-31&lang=en").text
        assert "2 check-ins" in today


def test_history_flags_a_wrong_clock_even_on_site(client, world, login, make_user):
    login(world["guard"])
    post_check_in(
        client,
        world["site"],
        lat=25.0331,
        lon=121.5655,
        accuracy=5,
        device_ms=int((time.time() + 900) * 1000),
    )
    record = db.session.scalar(select(CheckIn))
    assert record.verdict == "on_site" and 890 <= record.clock_skew_s <= 910
    login(make_user("manager"))
    flagged = client.get("/check-ins?flagged=1&lang=en").text
    assert "1 check-in" in flagged and "Clock off" in flagged


def test_without_location_the_card_explains_how_to_allow_it_and_offers_to_try_again(
    client, world, login
):
    login(world["guard"])
    response = post_check_in(client, world["site"])
    record = db.session.scalar(select(CheckIn))
    assert record.verdict == "no_fix"  # the check-in is recorded all the same
    card = client.get(response.headers["Location"] + "&lang=en").text
    assert "Chrome on Android:" in card and "Safari on iPhone:" in card
    assert f'action="/check-ins/{record.uuid}/location"' in card and "Try again" in card
    again = client.post(
        f"/check-ins/{record.uuid}/location",
        data={"latitude": "25.0331", "longitude": "121.5655", "accuracy": "12"},
    )
    assert again.status_code == 303
    assert again.headers["Location"] == f"/sites/{world['site'].id}?check_in={record.uuid}"
    db.session.refresh(record)
    assert record.verdict == "on_site" and record.distance_m < 20
    card = client.get(again.headers["Location"] + "&lang=en").text
    assert "Chrome on Android:" not in card and "On site" in card
    assert len(db.session.scalars(select(CheckIn)).all()) == 1


def test_trying_again_is_only_for_ones_own_recent_check_in_without_location(
    app, client, world, login, make_user
):
    login(world["guard"])
    post_check_in(client, world["site"])
    record = db.session.scalar(select(CheckIn))
    empty = client.post(f"/check-ins/{record.uuid}/location?lang=en", follow_redirects=True)
    assert "Still no location from your phone" in empty.text
    record.received_at -= timedelta(minutes=20)
    db.session.commit()
    late = client.post(
        f"/check-ins/{record.uuid}/location?lang=en",
        data={"latitude": "25.0331", "longitude": "121.5655", "accuracy": "12"},
        follow_redirects=True,
    )
    assert "too old to add a location" in late.text and "data-location-retry" not in late.text
    db.session.refresh(record)
    assert record.latitude is None
    colleague = make_user("guard")
    factories.assign(colleague, world["site"])
    db.session.commit()
    phone = app.test_client()
    login(colleague, test_client=phone)
    record.received_at = record.received_at + timedelta(minutes=20)
    db.session.commit()
    theirs = phone.post(
        f"/check-ins/{record.uuid}/location", data={"latitude": "25.0", "longitude": "121.5"}
    )
    assert theirs.status_code == 404 and ("check_in.access", "denied") in actions()
    db.session.refresh(record)
    assert record.latitude is None

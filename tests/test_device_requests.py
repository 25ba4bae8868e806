"""Issue 11, item 4: every object a phone creates is unique by its device uuid; answers given
offline are ordered by the device's clock; a submit before its answers says which are missing.

The outbox's contract (app/device_requests.py): header X-Object-UUID on each queued request;
the same uuid and body again -> the original answer with X-Replay: 1; another body -> 409
{"reason": "uuid_conflict"}; ten at once -> one row.
"""

from __future__ import annotations

import io
import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.device_requests import DeviceRequest
from app.extensions import db
from app.incidents.models import Incident
from app.inspections.models import Answer, Inspection
from app.inspections.services import active_template
from app.photos.models import Photo
from app.sites.models import CheckIn
from tests import factories
from tests.inspections.test_routes import SIGNATURE

#: The inspection cases pick version 1's items.
pytestmark = pytest.mark.usefixtures("checklist_v1")

JSON = {"Accept": "application/json"}


def outbox(key: str) -> dict:
    return {**JSON, "X-Object-UUID": key}


def count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def field(app, client, make_user, login):
    site = factories.gen_site()
    supervisor = make_user("supervisor")
    factories.assign(supervisor, site)
    db.session.commit()
    login(supervisor)
    key = str(uuid.uuid4())
    response = client.post(f"/sites/{site.id}/inspections", data={"uuid": key}, headers=JSON)
    assert response.status_code == 200
    return {
        "site": site,
        "supervisor": supervisor,
        "uuid": key,
        "items": active_template().live_items,
    }


def _value(item) -> str:
    return "12.4" if item.kind == "number" else "pass"


# ---------------------------------------------------------------- the same uuid again


def test_a_resent_check_in_is_answered_as_a_replay_of_the_first(client, field):
    key = str(uuid.uuid4())
    data = {"uuid": key, "scanned_at": "1764100000000"}
    first = client.post(f"/sites/{field['site'].id}/check-in", data=data, headers=outbox(key))
    again = client.post(f"/sites/{field['site'].id}/check-in", data=data, headers=outbox(key))
    assert first.status_code == again.status_code == 200
    assert first.headers["X-Object-UUID"] == again.headers["X-Object-UUID"] == key
    assert "X-Replay" not in first.headers and again.headers["X-Replay"] == "1"
    assert again.get_json() == first.get_json() and first.get_json()["uuid"] == key
    assert count(CheckIn) == 1 and count(DeviceRequest) == 1


def test_the_same_uuid_with_another_body_is_refused_and_the_first_stays(client, field):
    item = field["items"][0]
    key = str(uuid.uuid4())
    url = f"/inspections/{field['uuid']}/items/{item.id}"
    assert client.post(url, data={"value": "pass"}, headers=outbox(key)).status_code == 200
    other = client.post(url, data={"value": "fail", "note": "x"}, headers=outbox(key))
    assert other.status_code == 409
    assert other.get_json() == {
        "ok": False,
        "uuid": key,
        "error": "uuid_conflict",
        "reason": "uuid_conflict",
    }
    assert other.headers["X-Object-UUID"] == key
    db.session.expire_all()
    assert db.session.scalar(select(Answer)).value == "pass"


def test_another_user_cannot_replay_or_take_a_uuid(app, client, field, make_user, login):
    key = str(uuid.uuid4())
    url = f"/inspections/{field['uuid']}/items/{field['items'][0].id}"
    client.post(url, data={"value": "pass"}, headers=outbox(key))
    stranger = app.test_client()
    login(make_user("supervisor"), test_client=stranger)
    assert stranger.post(url, data={"value": "pass"}, headers=outbox(key)).status_code == 409


def test_a_refused_request_keeps_no_claim_on_its_uuid(client, field):
    item = next(i for i in field["items"] if i.kind == "number")
    key = str(uuid.uuid4())
    url = f"/inspections/{field['uuid']}/items/{item.id}"
    assert client.post(url, data={"value": "9999"}, headers=outbox(key)).status_code == 422
    assert count(DeviceRequest) == 0
    response = client.post(url, data={"value": "12.4"}, headers=outbox(key))
    assert response.status_code == 200 and "X-Replay" not in response.headers


def test_a_resent_photo_and_incident_with_photo_make_one_each(client, field):
    item = field["items"][4]
    url = f"/inspections/{field['uuid']}/items/{item.id}/photos"
    key = str(uuid.uuid4())
    png = factories.png_bytes()
    for _ in range(2):
        response = client.post(
            url,
            data={"photo": (io.BytesIO(png), "a.jpg"), "photo_uuid": key},
            headers=outbox(key),
            content_type="multipart/form-data",
        )
        assert response.status_code == 200
    assert response.headers["X-Replay"] == "1" and count(Photo) == 1
    other = client.post(  # another picture under the same uuid
        url,
        data={"photo": (io.BytesIO(factories.png_bytes(colour=(0, 0, 200))), "a.jpg")},
        headers=outbox(key),
        content_type="multipart/form-data",
    )
    assert other.status_code == 409 and count(Photo) == 1


def test_a_resent_submit_is_a_replay_after_re_login(app, client, field, login):
    for item in field["items"]:
        client.post(f"/inspections/{field['uuid']}/items/{item.id}", data={"value": _value(item)})
    key = str(uuid.uuid4())
    data = {"signer_name": "林", "signature": SIGNATURE}
    first = client.post(f"/inspections/{field['uuid']}/submit", data=data, headers=outbox(key))
    assert first.status_code == 200
    client.post("/logout")
    login(field["supervisor"])  # the session expired meanwhile: a new one, a new CSRF token
    again = client.post(
        f"/inspections/{field['uuid']}/submit",
        data={**data, "csrf_token": "another"},
        headers=outbox(key),
    )
    assert again.status_code == 200 and again.headers["X-Replay"] == "1"
    assert again.get_json() == first.get_json()
    assert count(Photo) == 1  # one signature


# ---------------------------------------------------------------- ten at once


def test_ten_concurrent_duplicates_make_one_row(app, client, field, login):
    clients = []
    for _ in range(10):
        phone = app.test_client()
        login(field["supervisor"], test_client=phone)
        clients.append(phone)
    key = str(uuid.uuid4())
    site_id = field["site"].id
    barrier = threading.Barrier(10)
    answers = []

    def send(phone):
        barrier.wait()
        response = phone.post(
            f"/sites/{site_id}/check-in",
            data={"uuid": key, "scanned_at": "1764100000000"},
            headers=outbox(key),
        )
        answers.append((response.status_code, response.get_json().get("uuid")))

    threads = [threading.Thread(target=send, args=(phone,)) for phone in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [(200, key)] * 10
    assert count(CheckIn) == 1 and count(DeviceRequest) == 1


def test_ten_concurrent_answers_make_one_answer(app, client, field, login):
    item = field["items"][0]
    url = f"/inspections/{field['uuid']}/items/{item.id}"
    key = str(uuid.uuid4())
    phones = []
    for _ in range(10):
        phone = app.test_client()
        login(field["supervisor"], test_client=phone)
        phones.append(phone)
    barrier = threading.Barrier(10)
    statuses = []

    def send(phone):
        barrier.wait()
        statuses.append(phone.post(url, data={"value": "pass"}, headers=outbox(key)).status_code)

    threads = [threading.Thread(target=send, args=(p,)) for p in phones]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 10
    assert count(Answer) == 1 and count(DeviceRequest) == 1


# ---------------------------------------------------------------- ordered by the device's clock


def _at(minutes: int) -> str:
    return (datetime.now(UTC) - timedelta(minutes=minutes)).isoformat()


def test_a_late_older_answer_never_overwrites_a_newer_one(client, field):
    item = field["items"][0]
    url = f"/inspections/{field['uuid']}/items/{item.id}"
    newer = client.post(url, data={"value": "pass", "device_time": _at(5)}, headers=JSON)
    assert newer.status_code == 200 and "superseded" not in newer.get_json()
    older = client.post(
        url, data={"value": "fail", "note": "old", "device_time": _at(10)}, headers=JSON
    )
    assert older.status_code == 200  # the outbox drops it
    assert older.get_json()["superseded"] is True and older.headers["X-Superseded"] == "1"
    db.session.expire_all()
    saved = db.session.scalar(select(Answer))
    assert (saved.value, saved.note) == ("pass", "")
    newest = client.post(url, data={"value": "fail", "note": "n", "device_time": _at(1)})
    assert newest.status_code == 303
    db.session.expire_all()
    assert db.session.scalar(select(Answer)).value == "fail"


def test_an_answer_given_online_is_newer_than_one_queued_before_it(client, field):
    item = field["items"][0]
    url = f"/inspections/{field['uuid']}/items/{item.id}"
    client.post(url, data={"value": "fail", "note": "seen online"})
    late = client.post(url, data={"value": "pass", "device_time": _at(3)}, headers=JSON)
    assert late.get_json()["superseded"] is True
    db.session.expire_all()
    assert db.session.scalar(select(Answer)).value == "fail"


@pytest.mark.parametrize("sent", ["yesterday", "2026-01-01T00:00:00", "2020-01-01T00:00:00Z"])
def test_a_device_time_that_is_not_one_is_refused(client, field, sent):
    url = f"/inspections/{field['uuid']}/items/{field['items'][0].id}"
    response = client.post(url, data={"value": "pass", "device_time": sent}, headers=JSON)
    assert response.status_code == 422 and response.get_json()["error"] == "invalid"
    assert count(Answer) == 0


def test_a_device_clock_running_fast_counts_as_the_servers_now(client, field):
    url = f"/inspections/{field['uuid']}/items/{field['items'][0].id}"
    ahead = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    client.post(url, data={"value": "fail", "note": "x", "device_time": ahead}, headers=JSON)
    db.session.expire_all()
    stored = db.session.scalar(select(Answer)).answered_at_device
    assert stored <= datetime.now(UTC)
    later = client.post(url, data={"value": "pass"}, headers=JSON)  # online, after it
    assert "superseded" not in later.get_json()


# ---------------------------------------------------------------- a submit before its answers


def test_a_submit_before_its_answers_names_them_then_succeeds(client, field):
    items = field["items"]
    for item in items[1:]:
        client.post(f"/inspections/{field['uuid']}/items/{item.id}", data={"value": _value(item)})
    data = {"signer_name": "林", "signature": SIGNATURE}
    early = client.post(f"/inspections/{field['uuid']}/submit", data=data, headers=JSON)
    assert early.status_code == 409
    body = early.get_json()
    assert body["reason"] == "answers_missing" and body["uuid"] == field["uuid"]
    assert body["missing"] == [{"item": items[0].id, "problem": "unanswered"}]
    client.post(f"/inspections/{field['uuid']}/items/{items[0].id}", data={"value": "pass"})
    done = client.post(f"/inspections/{field['uuid']}/submit", data=data, headers=JSON)
    assert done.status_code == 200 and done.get_json()["uuid"] == field["uuid"]
    db.session.expire_all()
    assert db.session.scalar(select(Inspection)).status == "submitted"
    again = client.post(f"/inspections/{field['uuid']}/submit", data=data, headers=JSON)
    assert again.status_code == 200 and again.get_json()["ok"] is True  # not a page redirect


def test_a_failure_without_its_note_is_named_too(client, field):
    item = next(i for i in field["items"] if i.note_on_fail and i.kind.startswith("pass"))
    for other in field["items"]:
        value = "fail" if other.id == item.id else _value(other)
        client.post(f"/inspections/{field['uuid']}/items/{other.id}", data={"value": value})
    response = client.post(
        f"/inspections/{field['uuid']}/submit",
        data={"signer_name": "林", "signature": SIGNATURE},
        headers=JSON,
    )
    assert response.status_code == 409
    assert {"item": item.id, "problem": "note"} in response.get_json()["missing"]
    assert count(Incident) == 0


def test_a_resent_incident_with_photos_is_one_incident_and_another_body_is_refused(
    client, make_user, login
):
    from tests.incidents.test_first_form import photo, report

    site = factories.gen_site()
    guard = make_user("guard")
    factories.assign(guard, site)
    db.session.commit()
    login(guard)
    values = report({"site": site})
    key = values["uuid"]
    answers = [
        client.post(
            "/incidents/new",
            data={**values, "photos": [photo("a.png"), photo("b.png", (1, 2, 3))]},
            headers=outbox(key),
            content_type="multipart/form-data",
        )
        for _attempt in range(2)
    ]
    assert [a.status_code for a in answers] == [200, 200]
    assert answers[1].headers["X-Replay"] == "1" and answers[1].get_json()["uuid"] == key
    assert count(Incident) == 1 and count(Photo) == 2
    changed = client.post(
        "/incidents/new",
        data={**values, "narrative": "另一件事", "photos": [photo("a.png")]},
        headers=outbox(key),
        content_type="multipart/form-data",
    )
    assert changed.status_code == 409 and changed.get_json()["reason"] == "uuid_conflict"
    db.session.expire_all()
    assert db.session.scalar(select(Incident)).narrative.startswith("後門") and count(Photo) == 2


def test_an_answer_arriving_after_the_submit_is_superseded_or_refused(client, field):
    for item in field["items"]:
        client.post(f"/inspections/{field['uuid']}/items/{item.id}", data={"value": _value(item)})
    data = {"signer_name": "林", "signature": SIGNATURE}
    assert client.post(f"/inspections/{field['uuid']}/submit", data=data).status_code == 303
    url = f"/inspections/{field['uuid']}/items/{field['items'][0].id}"
    before = client.post(url, data={"value": "fail", "device_time": _at(30)}, headers=JSON)
    assert before.status_code == 200 and before.get_json()["superseded"] is True
    after = client.post(
        url, data={"value": "fail", "device_time": datetime.now(UTC).isoformat()}, headers=JSON
    )
    assert after.status_code == 409 and after.get_json()["reason"] == "already_submitted"
    assert client.post(url, data={"value": "fail"}).status_code == 409  # a page: as before
    db.session.expire_all()
    assert {a.value for a in db.session.scalars(select(Answer))} == {"pass", "12.4"}


def test_claims_older_than_the_keep_are_pruned_by_the_daily_job(app, client, field, runner):
    from app.device_requests import KEEP

    url = f"/inspections/{field['uuid']}/items/{field['items'][0].id}"
    old, recent = str(uuid.uuid4()), str(uuid.uuid4())
    client.post(url, data={"value": "pass"}, headers=outbox(old))
    client.post(url, data={"value": "fail", "note": "x"}, headers=outbox(recent))
    db.session.expire_all()
    row = db.session.scalar(select(DeviceRequest).where(DeviceRequest.uuid == old))
    row.created_at = datetime.now(UTC) - KEEP - timedelta(days=1)
    db.session.commit()
    result = runner.invoke(args=["jobs", "run", "--once", "--job", "device_requests_prune", "-v"])
    assert "device_requests_prune: 1" in result.output
    db.session.expire_all()
    assert db.session.scalars(select(DeviceRequest.uuid)).all() == [recent]


def test_a_note_sent_alone_never_makes_an_earlier_value_lost(client, field):
    """Offline: "fail" tapped, then a note typed with a photo; the photo arrives first."""
    item = next(i for i in field["items"] if i.kind.startswith("pass"))
    url = f"/inspections/{field['uuid']}/items/{item.id}"
    note = client.post(url, data={"note": "門鎖壞了", "device_time": _at(1)}, headers=JSON)
    assert "superseded" not in note.get_json()
    value = client.post(url, data={"value": "fail", "device_time": _at(2)}, headers=JSON)
    assert value.status_code == 200 and "superseded" not in value.get_json()
    db.session.expire_all()
    saved = db.session.scalar(select(Answer))
    assert (saved.value, saved.note) == ("fail", "門鎖壞了")


def test_a_resent_repair_ticket_from_a_failed_item_is_one_ticket(client, field):
    from app.maintenance.models import RepairTicket

    item = field["items"][4]
    url = f"/inspections/{field['uuid']}/items/{item.id}"
    client.post(url, data={"value": "fail", "note": "斷線"})
    key = str(uuid.uuid4())
    answers = [
        client.post(f"{url}/repair", data={"uuid": key}, headers=outbox(key)) for _ in range(3)
    ]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert [a.headers.get("X-Replay") for a in answers] == [None, "1", "1"]
    assert answers[0].get_json()["uuid"] == answers[2].get_json()["uuid"] == key
    assert count(RepairTicket) == 1


def test_a_resent_briefing_acknowledgement_is_a_replay(client, make_user, login):
    from app.briefings.models import Acknowledgement
    from tests.briefings.test_briefings import brief

    site = factories.gen_site()
    supervisor, guard = make_user("supervisor"), make_user("guard")
    factories.assign(supervisor, site)
    factories.assign(guard, site)
    briefing = brief({"site": site, "supervisor": supervisor})
    db.session.commit()
    login(guard)
    key = str(uuid.uuid4())
    answers = [client.post(f"/briefings/{briefing.id}/ack", headers=outbox(key)) for _ in range(2)]
    assert [a.status_code for a in answers] == [200, 200]
    assert answers[1].headers["X-Replay"] == "1" and answers[1].get_json() == answers[0].get_json()
    assert count(Acknowledgement) == 1

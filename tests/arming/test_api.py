"""The monitoring centre's API: a bearer token scoped to its sites, revocable, every call
audited; bad payloads refused with stable codes; all or nothing; a re-sent event recorded once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.arming import services as svc
from app.arming.models import ArmEvent, ArmIntegration
from app.audit.models import AuditEvent
from app.db import utcnow
from app.extensions import db
from app.i18n import TAIPEI

URL = "/api/v1/arming/events"


def _when(minutes_ago: int = 30) -> str:
    return (utcnow() - timedelta(minutes=minutes_ago)).astimezone(TAIPEI).isoformat()


def _event(site="TPE-0101", **overrides) -> dict:
    return {
        "site": site,
        "kind": "arm",
        "occurred_at": _when(),
        "external_id": "EV-1",
        "user_code": "01",
    } | overrides


def _post(client, token, body, **headers):
    auth = {"Authorization": f"Bearer {token}"} if token else {}
    return client.post(URL, json=body, headers=auth | headers)


def _events() -> int:
    return db.session.scalar(select(func.count(ArmEvent.id)))


def _api_audits(outcome: str | None = None) -> list[AuditEvent]:
    stmt = select(AuditEvent).where(AuditEvent.action == "arming.api")
    if outcome:
        stmt = stmt.where(AuditEvent.outcome == outcome)
    return list(db.session.scalars(stmt))


def test_an_event_is_recorded_with_its_integration_and_the_call_audited(client, arm_world):
    response = _post(client, arm_world["token"], _event())
    assert response.status_code == 201, response.json
    assert response.json["created"] == 1
    event = db.session.scalars(select(ArmEvent)).one()
    assert event.source == "api"
    assert event.integration_id == arm_world["integration"].id
    assert event.user_code == "01" and event.external_id == "EV-1"
    assert "Set-Cookie" not in response.headers
    assert [a.outcome for a in _api_audits()] == ["success"]
    db.session.refresh(arm_world["integration"])
    assert arm_world["integration"].last_used_at is not None


def test_a_list_of_events_is_taken_and_the_same_event_sent_again_is_not_duplicated(
    client, arm_world
):
    body = [_event(external_id="A", kind="disarm", occurred_at=_when(90)), _event(external_id="B")]
    assert _post(client, arm_world["token"], body).status_code == 201
    again = _post(client, arm_world["token"], body)
    assert again.status_code == 200
    assert again.json["created"] == 0 and again.json["duplicates"] == 2
    assert _events() == 2


def test_the_same_external_id_for_another_event_is_refused(client, arm_world):
    assert _post(client, arm_world["token"], _event()).status_code == 201
    response = _post(client, arm_world["token"], _event(kind="disarm"))
    assert response.status_code == 422
    assert response.json["errors"][0]["code"] == "external_id_conflict"
    assert _events() == 1


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, "token_missing"),
        ({"Authorization": "Basic abc"}, "token_missing"),
        ({"Authorization": "Bearer gpa_not-a-real-token"}, "token_invalid"),
    ],
)
def test_a_missing_or_unknown_token_is_401_and_audited(client, arm_world, headers, code):
    response = client.post(URL, json=_event(), headers=headers)
    assert response.status_code == 401
    assert response.json["errors"][0]["code"] == code
    assert "Bearer" in response.headers["WWW-Authenticate"]
    assert _events() == 0
    assert len(_api_audits("denied")) == 1


def test_a_revoked_token_stops_working_at_once(client, arm_world):
    svc.revoke_integration(arm_world["integration"], user=arm_world["manager"])
    db.session.commit()
    response = _post(client, arm_world["token"], _event())
    assert response.status_code == 401
    assert response.json["errors"][0]["code"] == "token_revoked"
    assert _events() == 0
    audit = _api_audits("denied")[0]
    assert audit.target == f"arm_integration:{arm_world['integration'].id}"


def test_a_site_outside_the_integrations_scope_is_403_and_nothing_is_recorded(client, arm_world):
    body = [_event(external_id="ok"), _event(site="TPE-0102", external_id="other")]
    response = _post(client, arm_world["token"], body)
    assert response.status_code == 403
    assert response.json["errors"] == [
        {
            "code": "site_not_allowed",
            "index": 1,
            "field": "site",
            "message": svc.API_ERRORS["site_not_allowed"][0],
            "message_zh": svc.API_ERRORS["site_not_allowed"][1],
        }
    ]
    assert _events() == 0
    assert len(_api_audits("denied")) == 1


def test_an_unknown_site_code_looks_like_one_outside_the_scope(client, arm_world):
    response = _post(client, arm_world["token"], _event(site="NOPE-1"))
    assert response.status_code == 403
    assert response.json["errors"][0]["code"] == "site_not_allowed"


@pytest.mark.parametrize(
    ("event", "field", "code"),
    [
        ({"kind": "open"}, "kind", "bad_kind"),
        ({"occurred_at": "2026-11-20 18:05"}, "occurred_at", "bad_time"),
        ({"occurred_at": "yesterday"}, "occurred_at", "bad_time"),
        ({"occurred_at": "2099-01-01T00:00:00+08:00"}, "occurred_at", "time_out_of_range"),
        ({"external_id": ""}, "external_id", "required"),
        ({"external_id": "x" * 101}, "external_id", "bad_external_id"),
        ({"user_code": "12 34"}, "user_code", "bad_user_code"),
        ({"user_code": 1234}, "user_code", "bad_type"),
        ({"password": "1234"}, "password", "unknown_field"),
        ({"site": None}, "site", "required"),
    ],
)
def test_a_bad_event_is_refused_with_its_field_and_a_stable_code(
    client, arm_world, event, field, code
):
    body = [_event(external_id="fine"), _event(external_id="bad") | event]
    response = _post(client, arm_world["token"], body)
    assert response.status_code == 422
    errors = response.json["errors"]
    assert {"index": 1, "field": field, "code": code}.items() <= errors[0].items()
    assert errors[0]["message"] and errors[0]["message_zh"]
    assert _events() == 0, "all or nothing: the good event is not recorded either"
    assert len(_api_audits("refused")) == 1


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ("not json", 400, "not_json"),
        ([], 422, "empty"),
        ("[1, 2]", 422, "not_object"),
        ('"arm"', 422, "bad_shape"),
    ],
)
def test_a_body_that_is_not_events_is_refused(client, arm_world, body, status, code):
    response = client.post(
        URL,
        data=body if isinstance(body, str) else "[]",
        content_type="application/json",
        headers={"Authorization": f"Bearer {arm_world['token']}"},
    )
    assert response.status_code == status
    assert response.json["errors"][0]["code"] == code


def test_too_many_events_are_refused(client, arm_world):
    body = [_event(external_id=f"E{n}") for n in range(svc.MAX_EVENTS + 1)]
    response = _post(client, arm_world["token"], body)
    assert response.status_code == 422
    assert response.json["errors"][0]["code"] == "too_many"


def test_a_signed_in_session_without_the_token_is_refused(client, arm_world, login):
    login(arm_world["manager"])
    response = client.post(URL, json=_event())
    assert response.status_code == 401
    assert _events() == 0


def test_the_token_is_kept_only_as_a_hash(arm_world):
    integration = db.session.get(ArmIntegration, arm_world["integration"].id)
    assert arm_world["token"] not in (integration.token_hash, integration.token_prefix)
    assert integration.token_hash == svc.hash_token(arm_world["token"])
    audits = db.session.scalars(select(AuditEvent.detail)).all()
    assert not any(arm_world["token"] in detail for detail in audits)


def test_an_out_of_hours_disarm_is_marked_when_recorded(client, arm_world):
    # 03:00 on a weekday, Taipei: the site is closed.
    now = utcnow().astimezone(TAIPEI)
    day = now.date() - timedelta(days=1)
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    night = f"{day.isoformat()}T03:00:00+08:00"
    response = _post(client, arm_world["token"], _event(kind="disarm", occurred_at=night))
    assert response.status_code == 201
    assert db.session.scalars(select(ArmEvent)).one().is_out_of_hours


def test_the_api_is_rate_limited(client, app, arm_world):
    app.config["ARMING_API_LIMIT"] = "2 per minute"
    statuses = [
        _post(client, arm_world["token"], _event(external_id=f"R{n}")).status_code for n in range(3)
    ]
    assert statuses[:2] == [201, 201]
    assert statuses[2] == 429

"""Web Push through a local push receiver: a real HTTP server on 127.0.0.1 playing the push
service. The device's key pair and auth secret are made here, as a browser makes them; the
receiver decrypts each push (aes128gcm, RFC 8291) with the device's private key and checks
the VAPID signature (RFC 8292) against the app's public key."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from sqlalchemy import func, select

from app.db import new_uuid, utcnow
from app.extensions import db
from app.incidents import services as incidents
from app.incidents.models import AlarmResponse
from app.jobs import tasks
from app.notifications import push
from app.notifications.models import Notification, PushDelivery, PushSubscription
from tests import factories
from tests.push_receiver import Device, b64, unb64


def verify_vapid(header: str, *, public_key: str, audience: str) -> dict:
    """The Authorization header `vapid t=<JWT>,k=<key>` (RFC 8292): k is our public key and
    the ES256 signature of the JWT verifies with it; returns the claims."""
    scheme, _, params = header.partition(" ")
    assert scheme == "vapid"
    parts = dict(p.split("=", 1) for p in params.split(","))
    assert parts["k"] == public_key
    head, claims, signature = parts["t"].split(".")
    assert json.loads(unb64(head)) == {"typ": "JWT", "alg": "ES256"}
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64(public_key))
    raw = unb64(signature)
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    key.verify(der, f"{head}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))
    found = json.loads(unb64(claims))
    assert found["aud"] == audience and found["exp"] > time.time()
    assert found["sub"].startswith(("mailto:", "https://"))
    return found


def subscribe(user, device: Device) -> PushSubscription:
    row = push.subscribe(
        user,
        endpoint=device.endpoint,
        p256dh=device.p256dh,
        auth=b64(device.auth),
        user_agent="Mozilla/5.0 (Linux; Android 14) Chrome/131.0 Mobile Safari/537.36",
    )
    db.session.commit()
    return row


def run_push_job(now=None) -> int:
    sent = tasks.push_outbox(now or utcnow())
    db.session.commit()
    return sent


def dispatch_alarm(site, supervisor, guard) -> AlarmResponse:
    alarm = incidents.open_alarm(
        site,
        signal_type="intrusion",
        user=supervisor,
        uuid=new_uuid(),
        received_at=utcnow() - timedelta(minutes=2),
    )
    incidents.dispatch(alarm, user=supervisor, guard_id=guard.id, at=utcnow())
    db.session.commit()
    return alarm


@pytest.fixture
def world(make_user):
    site = factories.gen_site(name="信義商辦大樓")
    guard = make_user("guard", locale="en")
    supervisor = make_user("supervisor")
    factories.assign(guard, site)
    factories.assign(supervisor, site)
    db.session.commit()
    return site, guard, supervisor


def test_a_dispatch_reaches_the_guards_phone_encrypted_and_signed(app, receiver, world):
    site, guard, supervisor = world
    phone = receiver.device("guard-phone")
    subscribe(guard, phone)
    alarm = dispatch_alarm(site, supervisor, guard)
    note = db.session.scalars(select(Notification).where(Notification.user_id == guard.id)).one()
    assert note.kind == "alarm_dispatched"
    assert receiver.received == []  # the request sent nothing: the jobs runner does

    assert run_push_job() == 1
    [request] = receiver.for_device(phone)
    assert request["headers"]["content-encoding"] == "aes128gcm"
    assert request["headers"]["urgency"] == "high"
    assert int(request["headers"]["ttl"]) > 0
    assert "信義".encode() not in request["body"]  # only the device can read it
    assert phone.decrypt(request["body"]) == {
        "title": "Guardpost",
        "body": "You are dispatched to an alarm at 信義商辦大樓",
        "url": f"/alarms/{alarm.id}",
        "tag": f"n{note.id}",
        "lang": "en",
    }
    verify_vapid(
        request["headers"]["authorization"],
        public_key=app.config["VAPID_PUBLIC_KEY"],
        audience=receiver.origin,
    )
    device = db.session.scalars(select(PushSubscription)).one()
    assert device.last_success_at is not None
    assert run_push_job() == 0 and len(receiver.received) == 1  # nothing goes twice


def test_a_forged_signature_does_not_verify(app, receiver, world):
    _site, guard, _supervisor = world
    phone = receiver.device("p")
    subscribe(guard, phone)
    push.send_test(guard)
    db.session.commit()
    run_push_job()
    header = receiver.received[0]["headers"]["authorization"]
    other = push.new_key_pair()[1]
    with pytest.raises(AssertionError):
        verify_vapid(header, public_key=other, audience=receiver.origin)
    forged = header.replace("t=", "t=x", 1)
    with pytest.raises((InvalidSignature, ValueError)):
        verify_vapid(forged, public_key=app.config["VAPID_PUBLIC_KEY"], audience=receiver.origin)


def test_the_push_is_in_the_users_language(app, receiver, world):
    site, _guard, supervisor = world
    phone = receiver.device("supervisor")
    subscribe(supervisor, phone)  # locale zh_Hant_TW (the default)
    alarm = incidents.open_alarm(
        site,
        signal_type="intrusion",
        user=supervisor,
        uuid=new_uuid(),
        received_at=utcnow() - timedelta(minutes=40),
    )
    db.session.commit()
    assert incidents.notify_late_alarms(utcnow()) >= 1
    db.session.commit()
    run_push_job()
    message = phone.decrypt(receiver.for_device(phone)[0]["body"])
    assert message["body"] == "信義商辦大樓 的警報處理已逾時"
    assert message["lang"] == "zh-Hant-TW" and message["url"] == f"/alarms/{alarm.id}"


def test_topics_the_user_turned_off_are_not_pushed_but_stay_in_the_bell(app, receiver, world):
    site, guard, supervisor = world
    phone = receiver.device("g")
    subscribe(guard, phone)
    assert push.topics(guard) == dict.fromkeys(push.TOPICS, True)  # on by default
    push.choose_topics(guard, wanted={"alarm_late", "key_overdue", "briefing"})
    db.session.commit()
    dispatch_alarm(site, supervisor, guard)
    assert db.session.scalar(select(func.count(PushDelivery.id))) == 0
    assert db.session.scalar(select(func.count(Notification.id))) == 1  # the bell has it
    push.choose_topics(guard, wanted=set(push.TOPICS))
    db.session.commit()
    dispatch_alarm(site, supervisor, guard)
    assert run_push_job() == 1


def test_kinds_that_are_not_pushed_make_no_delivery(app, receiver, world, client, login):
    site, guard, supervisor = world
    subscribe(supervisor, receiver.device("s"))
    incidents.report_incident(
        site,
        user=guard,
        uuid=new_uuid(),
        category="fire",
        severity="critical",
        occurred_at=utcnow() - timedelta(minutes=1),
        narrative="B1 機房冒煙",
    )
    db.session.commit()
    assert db.session.scalar(select(func.count(Notification.id))) >= 1
    assert db.session.scalar(select(func.count(PushDelivery.id))) == 0


def test_every_device_of_the_user_gets_it_once(app, receiver, world):
    site, guard, supervisor = world
    phone, tablet = receiver.device("phone"), receiver.device("tablet")
    subscribe(guard, phone)
    subscribe(guard, tablet)
    dispatch_alarm(site, supervisor, guard)
    assert run_push_job() == 2
    assert run_push_job() == 0
    assert len(receiver.for_device(phone)) == 1 and len(receiver.for_device(tablet)) == 1


def test_a_claimed_delivery_is_not_claimed_again(app, receiver, world):
    site, guard, supervisor = world
    subscribe(guard, receiver.device("g"))
    dispatch_alarm(site, supervisor, guard)
    now = utcnow()
    first = push.claim(now)
    db.session.commit()
    assert len(first) == 1
    assert push.claim(now) == []  # a second runner finds nothing to claim
    # A runner that died mid-send: after CLAIM_TIMEOUT the row may be tried again.
    assert push.claim(now + push.CLAIM_TIMEOUT + timedelta(seconds=1)) == first


def test_410_from_the_push_service_deletes_the_device(app, receiver, world):
    site, guard, supervisor = world
    gone, kept = receiver.device("gone"), receiver.device("kept")
    subscribe(guard, gone)
    subscribe(guard, kept)
    receiver.statuses["/push/gone"] = [410]
    dispatch_alarm(site, supervisor, guard)
    assert run_push_job() == 1
    endpoints = set(db.session.scalars(select(PushSubscription.endpoint)))
    assert endpoints == {kept.endpoint}
    assert db.session.scalar(select(func.count(PushDelivery.id))) == 1  # the kept one's, sent
    dispatch_alarm(site, supervisor, guard)
    run_push_job()
    assert len(receiver.for_device(gone)) == 1  # never tried again


def test_404_deletes_the_device_too(app, receiver, world):
    _site, guard, _supervisor = world
    phone = receiver.device("p")
    subscribe(guard, phone)
    receiver.statuses["/push/p"] = [404]
    push.send_test(guard)
    db.session.commit()
    assert run_push_job() == 0
    assert db.session.scalar(select(func.count(PushSubscription.id))) == 0


def test_a_failing_push_service_is_retried_with_backoff_then_delivers_once(app, receiver, world):
    site, guard, supervisor = world
    phone = receiver.device("flaky")
    subscribe(guard, phone)
    receiver.statuses["/push/flaky"] = [503, 429]
    dispatch_alarm(site, supervisor, guard)
    now = utcnow()
    assert run_push_job(now) == 0
    delivery = db.session.scalars(select(PushDelivery)).one()
    assert delivery.attempts == 1 and delivery.retry_at == now + push.backoff(1)
    assert run_push_job(now + timedelta(minutes=1)) == 0  # not before its retry time
    assert len(receiver.received) == 1
    assert run_push_job(now + timedelta(minutes=2)) == 0  # 429
    assert run_push_job(now + timedelta(minutes=7)) == 1
    assert run_push_job(now + timedelta(minutes=30)) == 0
    tags = [phone.decrypt(r["body"])["tag"] for r in receiver.for_device(phone)]
    assert len(tags) == 3 and len(set(tags)) == 1  # the same message three times, then done
    db.session.refresh(delivery)
    assert delivery.sent_at is not None and delivery.attempts == 3


def test_an_unreachable_push_service_is_retried_and_given_up_after_max_attempts(
    app, receiver, world
):
    _site, guard, _supervisor = world
    subscribe(guard, receiver.device("x"))
    push.send_test(guard)
    db.session.commit()
    delivery = db.session.scalars(select(PushDelivery)).one()
    receiver.close()  # nobody answers at that address any more
    now = utcnow()
    for _ in range(push.MAX_ATTEMPTS + 2):
        assert run_push_job(now) == 0
        db.session.refresh(delivery)
        if delivery.retry_at is None:
            break
        now = delivery.retry_at
        delivery.created_at = now - timedelta(minutes=1)  # young enough to send (MAX_AGE)
        db.session.commit()
    assert delivery.attempts == push.MAX_ATTEMPTS and delivery.sent_at is None
    assert delivery.retry_at is None  # given up; the device stays (it may just be offline)
    assert db.session.scalar(select(func.count(PushSubscription.id))) == 1


def test_a_refused_message_is_given_up_at_once(app, receiver, world):
    _site, guard, _supervisor = world
    subscribe(guard, receiver.device("r"))
    receiver.statuses["/push/r"] = [400]
    push.send_test(guard)
    db.session.commit()
    assert run_push_job() == 0
    assert run_push_job(utcnow() + timedelta(hours=1)) == 0
    assert len(receiver.received) == 1


def test_an_inactive_users_devices_get_nothing(app, receiver, world):
    site, guard, supervisor = world
    subscribe(guard, receiver.device("g"))
    dispatch_alarm(site, supervisor, guard)
    guard.is_active = False
    db.session.commit()
    assert run_push_job() == 0 and receiver.received == []


def test_a_new_briefing_is_pushed_to_its_audience(app, receiver, world):
    from app.briefings import services as briefings

    site, guard, supervisor = world
    phone = receiver.device("g")
    subscribe(guard, phone)
    briefing = briefings.save_briefing(
        None,
        actor=supervisor,
        kind="notice",
        title="颱風停班注意事項",
        body="請注意",
        requires_ack=True,
        due_on=None,
        audience_kind="sites",
        site_ids={site.id},
        user_ids=set(),
    )
    briefings.publish(briefing, actor=supervisor)
    db.session.commit()
    run_push_job()
    message = phone.decrypt(receiver.for_device(phone)[0]["body"])
    assert message["body"] == "New briefing: 颱風停班注意事項"
    assert message["url"] == f"/briefings/{briefing.id}"


def test_endpoints_must_be_on_a_push_service(app, world):
    _site, guard, _supervisor = world
    device = Device("https://evil.example/collect")
    with pytest.raises(push.PushError) as refused:
        subscribe(guard, device)
    assert refused.value.key == "bad_endpoint"
    for endpoint in (
        "http://fcm.googleapis.com/fcm/send/x",  # not https
        "https://fcm.googleapis.com.evil.example/x",
        "https://user:pw@fcm.googleapis.com/x",
        "http://127.0.0.1:6379/",  # loopback only when listed (a test's receiver)
    ):
        assert not push.is_push_service(endpoint), endpoint
    assert push.is_push_service("https://fcm.googleapis.com/fcm/send/abc")
    assert push.is_push_service("https://web.push.apple.com/QGx")
    with pytest.raises(push.PushError) as bad:
        push.subscribe(
            guard, endpoint="https://fcm.googleapis.com/fcm/send/a", p256dh="AAAA", auth="BBBB"
        )
    assert bad.value.key == "bad_keys"


def test_an_endpoint_subscribed_by_another_user_moves_to_him(app, receiver, world, make_user):
    site, guard, supervisor = world
    shared = receiver.device("shared")
    subscribe(guard, shared)
    dispatch_alarm(site, supervisor, guard)  # waiting for the guard on that phone
    other = make_user("guard")
    subscribe(other, shared)
    assert db.session.scalars(select(PushSubscription.user_id)).all() == [other.id]
    assert run_push_job() == 0  # the guard's push does not go to the other's phone


def test_push_off_writes_no_delivery(app, receiver, world):
    site, guard, supervisor = world
    subscribe(guard, receiver.device("g"))
    app.config["WEB_PUSH"] = False
    dispatch_alarm(site, supervisor, guard)
    assert db.session.scalar(select(func.count(PushDelivery.id))) == 0
    with pytest.raises(push.PushError):
        push.send_test(guard)


def test_a_vapid_public_key_of_another_pair_stops_the_start(tmp_path):
    from tests.conftest import BASE_CONFIG, make_app

    with pytest.raises(RuntimeError, match="VAPID_PUBLIC_KEY"):
        make_app(
            tmp_path, "sqlite://", **{**BASE_CONFIG, "VAPID_PUBLIC_KEY": push.new_key_pair()[1]}
        )


def test_the_settings_page_subscribes_chooses_tests_and_removes(app, client, login, receiver):
    guard = factories.gen_user("guard", locale="en")
    db.session.commit()
    login(guard)
    account = client.get("/account?lang=en").text
    assert 'href="/account/push"' in account
    page = client.get("/account/push").text
    assert f'data-public-key="{app.config["VAPID_PUBLIC_KEY"]}"' in page
    assert "No device receives your push notifications yet." in page
    phone = receiver.device("browser")
    answer = client.post(
        "/account/push/subscribe",
        json={"endpoint": phone.endpoint, "p256dh": phone.p256dh, "auth": b64(phone.auth)},
        headers={"User-Agent": "Mozilla/5.0 (Linux; Android 14) Chrome/131.0 Mobile"},
    )
    assert answer.status_code == 200 and answer.json["ok"] is True
    refused = client.post(
        "/account/push/subscribe",
        json={"endpoint": "https://evil.example/x", "p256dh": phone.p256dh, "auth": "x"},
    )
    assert refused.status_code == 422
    assert refused.json["message"] == "This browser's push service is not one Guardpost sends to."
    page = client.get("/account/push").text
    assert "Chrome · Android" in page and phone.endpoint not in page  # never the endpoint
    assert client.post("/account/push/topics", data={"briefing": "y"}).status_code == 303
    assert push.topics(guard) == {
        "dispatch": False,
        "alarm_late": False,
        "key_overdue": False,
        "briefing": True,
    }
    assert client.post("/account/push/test").status_code == 303
    run_push_job()
    assert phone.decrypt(receiver.received[0]["body"])["body"] == (
        "Test notification: push works on this phone."
    )
    device = db.session.scalars(select(PushSubscription)).one()
    assert client.post(f"/account/push/devices/{device.id}/delete").status_code == 303
    assert db.session.scalar(select(func.count(PushSubscription.id))) == 0


def test_the_settings_page_says_when_push_is_off(app, client, login):
    guard = factories.gen_user("guard", locale="en")
    db.session.commit()
    login(guard)
    app.config["WEB_PUSH"] = False
    page = client.get("/account/push").text
    assert "Push notifications are turned off on this server." in page
    assert "data-public-key" not in page and "js/push.js" not in page


def test_flask_push_keys_prints_a_pair_that_starts_the_app(runner, tmp_path):
    from tests.conftest import BASE_CONFIG, make_app

    result = runner.invoke(args=["push", "keys"])
    assert result.exit_code == 0
    keys = dict(line.split("=", 1) for line in result.output.split())
    built = make_app(tmp_path, "sqlite://", **{**BASE_CONFIG, **keys})
    assert built.config["VAPID_PUBLIC_KEY"] == keys["VAPID_PUBLIC_KEY"]

"""Web Push: a notification reaches the phone even when the app is closed.

A user turns push on per device (the settings page subscribes the browser's PushManager with
our VAPID public key) and chooses the topics he wants: a guard's dispatch, a late alarm, a key
bag out past its time, a new briefing. When notify() writes a notification of such a kind, a
PushDelivery row per device of that user who wants the topic is written in the same
transaction. The jobs runner's push job claims those rows (committed before anything is sent,
so nothing goes twice), encrypts the message for the device (RFC 8291, aes128gcm, by
pywebpush) and posts it to the device's push service, signed with our VAPID key (RFC 8292).
A failed send is retried with backoff; a push service that answers 404 or 410 says the device
unsubscribed: the device is deleted.

What a push carries: a title, the notification's one-line message in the user's language (a
site's name, a bag number, a briefing's title: never a confidential value) and the link a tap
opens. The push service sees only the encrypted body.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import time
from datetime import datetime, timedelta
from functools import lru_cache
from typing import ClassVar
from urllib.parse import urlsplit

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from flask import Flask, current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from py_vapid import Vapid
from pywebpush import WebPusher, WebPushException
from sqlalchemy import delete, or_, select

from app import audit, i18n
from app.auth.models import User
from app.db import utcnow
from app.errors import DomainError
from app.extensions import db
from app.notifications import outbox
from app.notifications.messages import message
from app.notifications.models import Notification, PushDelivery, PushPreference, PushSubscription

log = logging.getLogger(__name__)

#: The topics a user chooses from, and the notification kinds each one pushes.
TOPICS: dict[str, tuple[str, ...]] = {
    "dispatch": ("alarm_dispatched",),
    "alarm_late": ("alarm_late",),
    "key_overdue": ("key_overdue",),
    "briefing": ("briefing_published",),
}
TOPIC_LABELS = {
    "dispatch": _l("I am dispatched to an alarm"),
    "alarm_late": _l("An alarm response is running late at my sites"),
    "key_overdue": _l("A key bag is out past its return time"),
    "briefing": _l("A new briefing for me"),
}
KIND_TOPIC = {kind: topic for topic, kinds in TOPICS.items() for kind in kinds}
#: Kinds the push service should deliver at once, waking the phone (header Urgency: high).
URGENT_KINDS = frozenset({"alarm_dispatched", "alarm_late"})

#: Devices one user may have; subscribing one more forgets the one unused longest.
MAX_DEVICES = 10
#: Deliveries claimed at a time; the claim is committed before any of them is sent.
BATCH = 20
#: Sends tried per delivery before it is given up (the bell still shows the notification).
MAX_ATTEMPTS = 8
#: A claim this old belongs to a runner that died while sending: the row may be tried again.
CLAIM_TIMEOUT = timedelta(minutes=15)
#: Older deliveries are not sent: a push about an alarm of yesterday helps nobody.
MAX_AGE = timedelta(hours=6)
#: How long the push service keeps a message for a phone that is off (seconds).
TTL_SECONDS = 6 * 3600
#: Sent and given-up deliveries are deleted after this long.
KEEP = timedelta(days=7)
#: Seconds to wait for a push service.
TIMEOUT_SECONDS = 10
#: Push services, by host name (and its sub-domains): a device's endpoint must be on one of
#: them, over HTTPS, so that the server never posts to an address a user made up.
DEFAULT_SERVICE_HOSTS = (
    "fcm.googleapis.com",  # Chrome, Edge, Samsung Internet, other Android browsers
    "push.services.mozilla.com",  # Firefox
    "push.apple.com",  # Safari, iOS home-screen apps
    "notify.windows.com",  # older Edge
)
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


class PushError(DomainError):
    messages: ClassVar = {
        "off": _l("Push notifications are turned off on this server."),
        "bad_endpoint": _l("This browser's push service is not one Guardpost sends to."),
        "bad_keys": _l("The browser sent a subscription Guardpost cannot use. Try again."),
        "no_devices": _l("Turn on push on this phone first."),
    }


# ---------------------------------------------------------------- keys and settings


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


@lru_cache(maxsize=4)
def _vapid(private_key: str) -> Vapid:
    return Vapid.from_string(private_key)


def init_app(app: Flask) -> None:
    """Check the VAPID key pair at start and derive the public key from the private one.

    A key that does not parse, or a VAPID_PUBLIC_KEY of another pair, stops the start with a
    clear message (browsers subscribed with one key cannot be sent to with another).
    """
    private = app.config.get("VAPID_PRIVATE_KEY") or ""
    if not private:
        return
    try:
        vapid = _vapid(private)
    except Exception as exc:
        raise RuntimeError(
            "VAPID_PRIVATE_KEY is not a P-256 private key (base64url of its 32 bytes, "
            "as `flask push keys` prints)"
        ) from exc
    public = _b64encode(
        vapid.public_key.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
    )
    given = (app.config.get("VAPID_PUBLIC_KEY") or "").rstrip("=")
    if given and given != public:
        raise RuntimeError("VAPID_PUBLIC_KEY does not belong to VAPID_PRIVATE_KEY")
    app.config["VAPID_PUBLIC_KEY"] = public


def new_key_pair() -> tuple[str, str]:
    """A fresh VAPID key pair (private, public), both base64url: for `flask push keys`."""
    key = ec.generate_private_key(ec.SECP256R1())
    private = _b64encode(key.private_numbers().private_value.to_bytes(32, "big"))
    public = _b64encode(
        key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
    )
    return private, public


def is_enabled() -> bool:
    """Push is on: WEB_PUSH is not turned off and there is a VAPID key."""
    config = current_app.config
    return bool(config.get("WEB_PUSH") and config.get("VAPID_PRIVATE_KEY"))


def public_key() -> str:
    """The VAPID public key the browser subscribes with (applicationServerKey)."""
    return current_app.config.get("VAPID_PUBLIC_KEY") or ""


def subject() -> str:
    """Who the push services may contact about our pushes: VAPID_SUBJECT, else BASE_URL if
    it is https, else mailto: the sender address of e-mails."""
    config = current_app.config
    if config.get("VAPID_SUBJECT"):
        return config["VAPID_SUBJECT"]
    base = (config.get("BASE_URL") or "").rstrip("/")
    if base.startswith("https://"):
        return base
    return "mailto:" + (config.get("MAIL_FROM") or "guardpost@localhost")


def _service_hosts() -> tuple[str, ...]:
    return tuple(current_app.config.get("PUSH_SERVICE_HOSTS") or DEFAULT_SERVICE_HOSTS)


def is_push_service(endpoint: str) -> bool:
    """The endpoint is on a known push service, over HTTPS (plain HTTP only to a loopback
    host that is listed, which only a test does)."""
    try:
        parts = urlsplit(endpoint)
        host = (parts.hostname or "").lower()
        parts.port  # noqa: B018 (a port that does not parse raises)
    except ValueError:
        return False
    if not host or parts.username or parts.password:
        return False
    listed = any(host == h or host.endswith("." + h) for h in _service_hosts())
    if parts.scheme == "https":
        return listed
    return parts.scheme == "http" and host in LOOPBACK_HOSTS and listed


def _valid_keys(p256dh: str, auth: str) -> bool:
    try:
        point = _b64decode(p256dh)
        secret = _b64decode(auth)
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except (ValueError, binascii.Error):
        return False
    return len(point) == 65 and len(secret) == 16


# ---------------------------------------------------------------- devices and topics


def devices(user) -> list[PushSubscription]:
    """The user's devices, newest first."""
    return list(
        db.session.scalars(
            select(PushSubscription)
            .where(PushSubscription.user_id == user.id)
            .order_by(PushSubscription.created_at.desc(), PushSubscription.id.desc())
        )
    )


def subscribe(
    user, *, endpoint: str, p256dh: str, auth: str, user_agent: str = ""
) -> PushSubscription:
    """This browser receives the user's pushes from now on (again, if it did already).

    An endpoint is one browser: if another user had subscribed it (a shared phone), it is his
    no more, and what was waiting for him there is not sent.
    """
    if not is_enabled():
        raise PushError("off")
    if len(endpoint) > 1000 or not is_push_service(endpoint):
        raise PushError("bad_endpoint")
    if not _valid_keys(p256dh, auth):
        raise PushError("bad_keys")
    device = db.session.scalar(
        select(PushSubscription).where(PushSubscription.endpoint == endpoint)
    )
    if device is not None and device.user_id != user.id:
        db.session.execute(delete(PushDelivery).where(PushDelivery.subscription_id == device.id))
        device.user_id = user.id
        device.created_at = utcnow()
        device.last_success_at = None
    elif device is None:
        device = PushSubscription(user_id=user.id, endpoint=endpoint)
        db.session.add(device)
    device.p256dh, device.auth, device.user_agent = p256dh, auth, user_agent[:255]
    db.session.flush()
    _forget_extra_devices(user)
    audit.record("push.subscribed", actor=user, target=f"push_device:{device.id}")
    return device


def _forget_extra_devices(user) -> None:
    ids = list(
        db.session.scalars(
            select(PushSubscription.id)
            .where(PushSubscription.user_id == user.id)
            .order_by(
                PushSubscription.last_success_at.desc().nulls_last(),
                PushSubscription.created_at.desc(),
                PushSubscription.id.desc(),
            )
        )
    )
    _delete_devices(ids[MAX_DEVICES:])


def _delete_devices(ids) -> None:
    ids = list(ids)
    if ids:
        db.session.execute(delete(PushDelivery).where(PushDelivery.subscription_id.in_(ids)))
        db.session.execute(delete(PushSubscription).where(PushSubscription.id.in_(ids)))


def remove_device(device: PushSubscription, *, user) -> None:
    """The device receives no more pushes (the browser may still think it is subscribed)."""
    device_id = device.id
    _delete_devices([device_id])
    audit.record("push.removed", actor=user, target=f"push_device:{device_id}")


def own_device(user, device_id: int) -> PushSubscription | None:
    """One of the user's devices, or None (another's device does not exist for him)."""
    return db.session.scalar(
        select(PushSubscription).where(
            PushSubscription.id == device_id, PushSubscription.user_id == user.id
        )
    )


def topics(user) -> dict[str, bool]:
    """Each topic and whether the user wants it (on unless he turned it off)."""
    chosen = dict(
        db.session.execute(
            select(PushPreference.topic, PushPreference.is_on).where(
                PushPreference.user_id == user.id
            )
        ).all()
    )
    return {topic: chosen.get(topic, True) for topic in TOPICS}


def choose_topics(user, *, wanted: set[str]) -> None:
    """Keep the user's choice of topics (those not named are turned off)."""
    stored = {
        p.topic: p
        for p in db.session.scalars(select(PushPreference).where(PushPreference.user_id == user.id))
    }
    for topic in TOPICS:
        row = stored.get(topic)
        if row is None:
            db.session.add(PushPreference(user_id=user.id, topic=topic, is_on=topic in wanted))
        else:
            row.is_on = topic in wanted
    db.session.flush()
    audit.record(
        "push.topics",
        actor=user,
        target=f"user:{user.id}",
        detail={"on": sorted(t for t in TOPICS if t in wanted)},
    )


def send_test(user) -> int:
    """A test push to each of the user's devices (sent by the jobs runner within a minute);
    a device with a test still waiting gets no second one."""
    if not is_enabled():
        raise PushError("off")
    ids = [d.id for d in devices(user)]
    if not ids:
        raise PushError("no_devices")
    waiting = set(
        db.session.scalars(
            select(PushDelivery.subscription_id).where(
                PushDelivery.subscription_id.in_(ids),
                PushDelivery.notification_id.is_(None),
                PushDelivery.sent_at.is_(None),
                PushDelivery.attempts < MAX_ATTEMPTS,
            )
        )
    )
    fresh = [PushDelivery(subscription_id=i) for i in ids if i not in waiting]
    db.session.add_all(fresh)
    db.session.flush()
    audit.record("push.test", actor=user, target=f"user:{user.id}", detail={"count": len(ids)})
    return len(ids)


# ---------------------------------------------------------------- the outbox


def queue(notes: list[Notification]) -> int:
    """Pushes for these new notifications: one per device of each user who wants the topic.
    Called by notify(), in the event's transaction; no query at all for kinds never pushed."""
    pushed = [n for n in notes if n.kind in KIND_TOPIC]
    if not pushed or not is_enabled():
        return 0
    user_ids = {n.user_id for n in pushed}
    devices_of: dict[int, list[int]] = {}
    for device_id, user_id in db.session.execute(
        select(PushSubscription.id, PushSubscription.user_id).where(
            PushSubscription.user_id.in_(user_ids)
        )
    ):
        devices_of.setdefault(user_id, []).append(device_id)
    if not devices_of:
        return 0
    off = set(
        db.session.execute(
            select(PushPreference.user_id, PushPreference.topic).where(
                PushPreference.user_id.in_(list(devices_of)), PushPreference.is_on.is_(False)
            )
        ).all()
    )
    rows = [
        PushDelivery(subscription_id=device_id, notification_id=note.id)
        for note in pushed
        if (note.user_id, KIND_TOPIC[note.kind]) not in off
        for device_id in devices_of.get(note.user_id, ())
    ]
    db.session.add_all(rows)
    db.session.flush()
    return len(rows)


def backoff(attempts: int) -> timedelta:
    """How long to wait after the n-th failed send: 2, 4, 8 … minutes, at most 6 hours."""
    return min(timedelta(minutes=2**attempts), timedelta(hours=6))


def _sendable(now: datetime) -> tuple:
    """Conditions on the row itself for it to be claimable now."""
    return (
        PushDelivery.sent_at.is_(None),
        PushDelivery.attempts < MAX_ATTEMPTS,
        PushDelivery.created_at >= now - MAX_AGE,
        or_(PushDelivery.retry_at.is_(None), PushDelivery.retry_at <= now),
        or_(PushDelivery.claimed_at.is_(None), PushDelivery.claimed_at < now - CLAIM_TIMEOUT),
    )


def claim(now: datetime, *, limit: int = BATCH) -> list[int]:
    """Claim up to `limit` unsent deliveries to active users' devices for this runner; returns
    their ids (the caller commits the claim before sending, as for the e-mail outbox)."""
    active = (
        select(PushSubscription.id)
        .join(User, User.id == PushSubscription.user_id)
        .where(User.is_active.is_(True))
    )
    return outbox.claim(
        PushDelivery,
        sendable=_sendable(now),
        eligible=PushDelivery.subscription_id.in_(active),
        values={"claimed_at": now, "attempts": PushDelivery.attempts + 1},
        limit=limit,
    )


def payload(note: Notification | None, user) -> dict:
    """What the phone shows, in the user's language: never a confidential value."""
    locale = user.locale or "zh_Hant_TW"
    with force_locale(locale):
        title = _("Guardpost")
        if note is None:
            body, url, tag = _("Test notification: push works on this phone."), "/", "test"
        else:
            body, url, tag = message(note), note.link or "/notifications", f"n{note.id}"
    return {
        "title": title,
        "body": body,
        "url": url,
        "tag": tag,
        "lang": i18n.SUPPORTED.get(locale, "zh-Hant-TW"),
    }


def _post(http: requests.Session, device: PushSubscription, body: dict, *, urgent: bool):
    """Encrypt `body` for the device and post it to its push service, signed with VAPID."""
    parts = urlsplit(device.endpoint)
    claims = {
        "sub": subject(),
        "aud": f"{parts.scheme}://{parts.netloc}",
        "exp": int(time.time()) + 12 * 3600,
    }
    headers = _vapid(current_app.config["VAPID_PRIVATE_KEY"]).sign(claims)
    headers["Urgency"] = "high" if urgent else "normal"
    pusher = WebPusher(
        {"endpoint": device.endpoint, "keys": {"p256dh": device.p256dh, "auth": device.auth}},
        requests_session=http,
    )
    data = json.dumps(body, ensure_ascii=False).encode()
    return pusher.send(data, headers, ttl=TTL_SECONDS, timeout=TIMEOUT_SECONDS)


def _retry_after(response) -> timedelta:
    try:
        return timedelta(seconds=min(int(response.headers.get("Retry-After", "")), 6 * 3600))
    except ValueError:
        return timedelta(0)


def _release_failed(delivery: PushDelivery, now: datetime, reason: str, *, wait=None) -> None:
    """A send failed: retry after a backoff, or give up after MAX_ATTEMPTS."""
    delivery.claimed_at = None
    if delivery.attempts >= MAX_ATTEMPTS:
        delivery.retry_at = None
        log.error(
            "push delivery=%s given_up attempts=%s error=%s", delivery.id, delivery.attempts, reason
        )
        return
    delivery.retry_at = now + max(backoff(delivery.attempts), wait or timedelta(0))
    log.warning(
        "push delivery=%s failed attempts=%s retry_at=%s error=%s",
        delivery.id,
        delivery.attempts,
        delivery.retry_at.isoformat(),
        reason,
    )


def _give_up(delivery: PushDelivery, reason: str) -> None:
    """The push service refused this message for good (not the device): no retry."""
    delivery.claimed_at, delivery.retry_at, delivery.attempts = None, None, MAX_ATTEMPTS
    log.error("push delivery=%s refused error=%s", delivery.id, reason)


def send_claimed(ids: list[int], now: datetime) -> int:
    """Send these claimed deliveries; returns how many the push services accepted. Flushes,
    never commits. Each row ends sent, or released with a later retry time, or given up; a
    device its push service no longer knows (404, 410) is deleted with what waits for it."""
    if not ids or not is_enabled():
        return 0
    rows = db.session.execute(
        select(PushDelivery, PushSubscription, User, Notification)
        .join(PushSubscription, PushSubscription.id == PushDelivery.subscription_id)
        .join(User, User.id == PushSubscription.user_id)
        .outerjoin(Notification, Notification.id == PushDelivery.notification_id)
        .where(PushDelivery.id.in_(ids), PushDelivery.sent_at.is_(None))
        .order_by(PushDelivery.id)
        .execution_options(populate_existing=True)
    ).all()
    sent = 0
    gone: set[int] = set()
    with requests.Session() as http:
        for delivery, device, user, note in rows:
            if device.id in gone:
                continue
            urgent = note is not None and note.kind in URGENT_KINDS
            try:
                response = _post(http, device, payload(note, user), urgent=urgent)
            except requests.RequestException as exc:
                _release_failed(delivery, now, type(exc).__name__)
                continue
            except WebPushException as exc:  # keys the library cannot encrypt for
                _give_up(delivery, type(exc).__name__)
                continue
            status = response.status_code
            if status in (200, 201, 202):
                delivery.sent_at, delivery.claimed_at, delivery.retry_at = now, None, None
                device.last_success_at = now
                sent += 1
            elif status in (404, 410):
                gone.add(device.id)
                log.info("push device=%s gone status=%s: deleted", device.id, status)
            elif status == 429 or status >= 500:
                _release_failed(delivery, now, f"HTTP {status}", wait=_retry_after(response))
            else:  # 400, 403, 413 …: this message will never be taken
                _give_up(delivery, f"HTTP {status}")
    db.session.flush()
    _delete_devices(gone)
    return sent


def prune(now: datetime) -> int:
    """Deliveries older than KEEP (sent, given up or too old to send) are deleted."""
    result = db.session.execute(
        delete(PushDelivery).where(PushDelivery.created_at < now - KEEP),
        execution_options={"synchronize_session": False},
    )
    return result.rowcount or 0

"""gen_* factories with a default for every field; each flushes and returns the object."""

from __future__ import annotations

import base64
import itertools

from app.auth import passwords, totp
from app.auth.models import Passkey, TotpCredential, User
from app.db import new_uuid, utcnow
from app.extensions import db
from app.notifications.models import PushSubscription
from app.sites.models import Client, Site, SiteAssignment

PASSWORD = "correct-horse-battery"
_seq = itertools.count(1)


def gen_user(role: str = "guard", **overrides) -> User:
    """A user; staff have acknowledged the current collection notice unless
    `notice_acknowledged=False` (so that a test reaches its page, not the notice)."""
    acknowledged = overrides.pop("notice_acknowledged", True)
    n = next(_seq)
    fields = {
        "username": f"{role}{n}",
        "display_name": f"Test {role.title()} {n}",
        "role": role,
        "password_hash": passwords.hash_password(overrides.pop("password", PASSWORD)),
        "must_change_password": False,
        "is_active": True,
    }
    fields.update(overrides)
    user = User(**fields)
    db.session.add(user)
    db.session.flush()
    if acknowledged:
        acknowledge_notice(user)
    return user


def acknowledge_notice(user: User) -> None:
    """Record that a staff user acknowledged the current collection notice (no audit row)."""
    from app.auth import policy
    from app.privacy.models import NoticeAcknowledgement
    from app.privacy.notice import current_version

    if policy.must_read_privacy_notice(user):
        db.session.add(NoticeAcknowledgement(user_id=user.id, version=current_version()))
        db.session.flush()


TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def gen_totp(user: User, secret: str = TOTP_SECRET) -> str:
    """Enrol the user in TOTP with `secret` (confirmed); returns the secret."""
    credential = TotpCredential(uuid=new_uuid(), user_id=user.id, confirmed_at=utcnow())
    totp._seal(credential, secret)
    db.session.add(credential)
    db.session.flush()
    return secret


#: A device's P-256 public key and auth secret as a browser sends them (base64url).
PUSH_P256DH = (
    "BE8l7AEnG0Jz5AoNDg9JKWcXzucqv8m7PA0MlFWE3QBLkxWRZ-cXfLWZvbtm6ByBg1x-hgqCsGyAAi77SqCHtjc"
)
PUSH_AUTH = "dGVzdC1hdXRoLXNlY3JldA"


def gen_push_device(user: User, **overrides) -> PushSubscription:
    """A device that receives the user's pushes (its endpoint on no real push service)."""
    n = next(_seq)
    fields = {
        "user_id": user.id,
        "endpoint": f"https://fcm.googleapis.com/fcm/send/test-{n}",
        "p256dh": PUSH_P256DH,
        "auth": PUSH_AUTH,
        "user_agent": "Mozilla/5.0 (Linux; Android 14) Chrome/131.0 Mobile Safari/537.36",
    }
    fields.update(overrides)
    device = PushSubscription(**fields)
    db.session.add(device)
    db.session.flush()
    return device


def gen_passkey(user: User, **overrides) -> Passkey:
    """A stored passkey row (not a usable key: for lists, removal and permission tests)."""
    n = next(_seq)
    fields = {
        "user_id": user.id,
        "name": f"Phone {n}",
        # Stored as the browser sends it, base64url (a plain name would not decode at every length).
        "credential_id": base64.urlsafe_b64encode(f"test-credential-{n}".encode())
        .decode()
        .rstrip("="),
        "public_key": b"\x00",
        "sign_count": 0,
        "user_handle": f"handle-{user.id}",
    }
    fields.update(overrides)
    passkey = Passkey(**fields)
    db.session.add(passkey)
    db.session.flush()
    return passkey


def gen_client(**overrides) -> Client:
    n = next(_seq)
    fields = {"name": f"Client {n}", "address": "臺北市信義區", "main_phone": "02-2720-0000"}
    fields.update(overrides)
    client = Client(**fields)
    db.session.add(client)
    db.session.flush()
    return client


def gen_site(client: Client | None = None, **overrides) -> Site:
    n = next(_seq)
    client = client or gen_client()
    fields = {
        "client": client,
        "code": f"TST-{n:04d}",
        "name": f"Site {n}",
        "address": "臺北市大安區",
        "latitude": 25.03,
        "longitude": 121.56,
    }
    fields.update(overrides)
    site = Site(**fields)
    db.session.add(site)
    db.session.flush()
    return site


def assign(user: User, site: Site) -> SiteAssignment:
    row = SiteAssignment(user_id=user.id, site_id=site.id)
    db.session.add(row)
    db.session.flush()
    return row


def gen_inspection(site: Site, inspector: User, **overrides):
    from app.db import new_uuid, utcnow
    from app.inspections.models import Inspection
    from app.inspections.services import active_template

    fields = {
        "uuid": new_uuid(),
        "site_id": site.id,
        "template_id": active_template().id,
        "inspector_id": inspector.id,
        "status": "draft",
    }
    fields.update(overrides)
    if fields["status"] != "draft":
        fields.setdefault("submitted_at", utcnow())
        fields.setdefault("score", 100.0)
    inspection = Inspection(**fields)
    db.session.add(inspection)
    db.session.flush()
    return inspection


def png_bytes(size=(64, 48), colour=(200, 30, 30)) -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def gen_photo(owner: User, site: Site):
    from app.photos.services import store_photo

    return store_photo(png_bytes(), owner=owner, site_id=site.id)


def gen_incident(site: Site, reporter: User, **overrides):
    from app.db import new_uuid, utcnow
    from app.incidents.models import Incident

    fields = {
        "uuid": new_uuid(),
        "site_id": site.id,
        "reporter_id": reporter.id,
        "category": "intrusion",
        "severity": "medium",
        "occurred_at": utcnow(),
        "narrative": "Door contact triggered at the back entrance.",
    }
    fields.update(overrides)
    incident = Incident(**fields)
    db.session.add(incident)
    db.session.flush()
    return incident


def passing_reading(item) -> str:
    """A reading that passes a number item (the middle of its passing range)."""
    low = item.min_value if item.min_value is not None else item.max_value
    high = item.max_value if item.max_value is not None else item.min_value
    if low is None:
        return "12"
    return f"{(low + high) / 2:g}"


def control_panel_item(template):
    """The checklist's control-panel item (a photo on failure, a repair ticket offered)."""
    return next(i for i in template.live_items if i.equipment_kind == "control_panel")


def use_checklist_version(version: int, key: str = "default") -> None:
    """Make this version of the checklist the one new inspections use (tests written against
    version 1's items and ranges pin it; the migrations make the latest version active)."""
    from sqlalchemy import update

    from app.inspections.models import ChecklistTemplate

    db.session.execute(
        update(ChecklistTemplate)
        .where(ChecklistTemplate.key == key)
        .values(is_active=ChecklistTemplate.version == version)
    )
    db.session.commit()

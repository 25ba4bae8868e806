"""Registry, assignments, QR tokens and check-ins. Services flush and audit, never commit."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import ClassVar

from flask import g, has_request_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, func, or_, select

from app import audit, links
from app.auth import policy
from app.auth import services as auth_services
from app.auth.models import User
from app.db import utcnow
from app.errors import DomainError
from app.extensions import db
from app.pagination import Page, paginate
from app.sites import geo
from app.sites.models import (
    CHECK_IN_METHODS,
    CLOCK_SKEW_LIMIT_S,
    LOCATION_RETRY_MINUTES,
    CheckIn,
    Client,
    Equipment,
    RetiredQrToken,
    Site,
    SiteAssignment,
    new_qr_token,
)

CLIENT_FIELDS = ("name", "tax_id", "address", "main_phone", "contract_start_on", "contract_end_on")
SITE_FIELDS = (
    "client_id",
    "code",
    "name",
    "postal_code",
    "city",
    "district",
    "address",
    "police_station",
    "police_phone",
    "fire_station",
    "fire_phone",
    "latitude",
    "longitude",
    "geofence_m",
    "system_types",
    "inspection_interval_days",
    "arrival_target_minutes",
    "is_active",
)
EQUIPMENT_FIELDS = (
    "kind",
    "model",
    "serial",
    "location",
    "installed_on",
    "maintenance_interval_days",
    "last_maintained_on",
    "status",
)


class RegistryError(DomainError):
    """A refused change, with the field it concerns."""

    messages: ClassVar = {
        "tax_id_taken": _l("Another client already has this tax ID."),
        "end_before_start": _l("The contract cannot end before it starts."),
        "code_taken": _l("Another site already has this code."),
        "client_required": _l("Choose the client."),
        "both_coordinates": _l("Give both latitude and longitude, or neither."),
        "unknown_code": _l("None of your sites has this code. Check the label and try again."),
        "not_assignable": _l("Only guards and supervisors are assigned to sites."),
    }

    def __init__(self, field: str, key: str, *, keep_record: bool = False):
        super().__init__(key, field=field, keep_record=keep_record)


class CheckInLocationError(DomainError):
    """A location sent again for a check-in that cannot take one."""

    messages: ClassVar = {
        "has_location": _l("This check-in already has a location."),
        "too_late": _l("This check-in is too old to add a location. Check in again."),
        "no_location": _l(
            "Still no location from your phone. Allow it as shown and try again; the check-in "
            "is kept without location."
        ),
    }


class CheckInConflict(DomainError):
    """The same device uuid came back with a different check-in."""

    status = 409
    messages: ClassVar = {"uuid_conflict": _l("This check-in belongs to another site or person.")}

    def __init__(self, uuid: str):
        super().__init__("uuid_conflict")
        self.uuid = uuid


#: What other features do when a check-in is recorded (an alarm response's arrival): each
#: takes the check-in and the user and returns a message for the user, or None. Features
#: above `sites` register here, so that `sites` never imports them.
CHECK_IN_FOLLOW_UPS: list[Callable[[CheckIn, User], object | None]] = []


def follow_up_check_in(check_in: CheckIn, *, user: User) -> list:
    """Run the registered follow-ups of a check-in; the messages they return, in order."""
    return [m for follow_up in CHECK_IN_FOLLOW_UPS if (m := follow_up(check_in, user))]


# ---------------------------------------------------------------- scoping


def assigned_site_ids(user) -> frozenset[int]:
    """The sites a user is assigned to: read once per request, fresh on every request, so
    unassigning is immediate and a page asks the database once however many checks it makes.
    """
    cache = g.setdefault("assigned_site_ids", {}) if has_request_context() else {}
    if user.id not in cache:
        cache[user.id] = frozenset(
            db.session.scalars(
                select(SiteAssignment.site_id).where(SiteAssignment.user_id == user.id)
            )
        )
    return cache[user.id]


def _forget_assignments() -> None:
    """Assignments changed in this request: the next check reads them again."""
    if has_request_context():
        g.pop("assigned_site_ids", None)


def visible_sites_query(user) -> Select:
    """Active sites whose operational data the user may see (DESIGN.md §3: one scoping helper)."""
    return select(Site).where(policy.visible_sites_clause(user))


def scope_to_sites(stmt: Select, site_column, user) -> Select:
    """Rows that belong to sites the user may see (every site's for a manager)."""
    if policy.sees_all_sites(user):
        return stmt
    return stmt.where(site_column.in_(visible_sites_query(user).with_only_columns(Site.id)))


def listable_sites_query(user) -> Select:
    """The sites list: the registry (active or not) for admins and managers, else visible sites."""
    if policy.can_view_registry(user):
        return select(Site)
    return visible_sites_query(user)


def visible_sites(user, *, limit: int | None = None) -> list[Site]:
    stmt = visible_sites_query(user).order_by(Site.code)
    if limit:
        stmt = stmt.limit(limit)
    return list(db.session.scalars(stmt))


def count_visible_sites(user) -> int:
    return db.session.scalar(select(func.count()).select_from(visible_sites_query(user).subquery()))


def registry_counts() -> dict[str, int]:
    """Totals for the admin's and manager's home."""
    return {
        "clients": db.session.scalar(select(func.count(Client.id))) or 0,
        "sites": db.session.scalar(select(func.count(Site.id)).where(Site.is_active.is_(True)))
        or 0,
    }


# ---------------------------------------------------------------- clients


def list_clients(*, q: str = "", page: int = 1, per_page: int = 25) -> Page:
    stmt = select(Client)
    if q:
        like = f"%{q.strip()}%"
        stmt = stmt.where(
            or_(Client.name.like(like), Client.tax_id.like(like), Client.address.like(like))
        )
    return paginate(stmt.order_by(Client.name), page=page, per_page=per_page)


def all_clients() -> list[Client]:
    return list(db.session.scalars(select(Client).order_by(Client.name)))


def _check_client(values: dict, client: Client | None) -> None:
    if values.get("tax_id"):
        clash = db.session.scalar(select(Client).where(Client.tax_id == values["tax_id"]))
        if clash is not None and clash is not client:
            raise RegistryError("tax_id", "tax_id_taken")
    start, end = values.get("contract_start_on"), values.get("contract_end_on")
    if start and end and end < start:
        raise RegistryError("contract_end_on", "end_before_start")


#: Called after a client is saved, as hook(client, before={field: old value}, actor=...):
#: features above the registry follow its changes (the vault's retention follows the
#: contract end) without the registry importing them.
CLIENT_SAVED: list[Callable[..., None]] = []


def save_client(client: Client | None, *, actor: User, **values) -> Client:
    """Create (client=None) or change a client."""
    values = {k: v for k, v in values.items() if k in CLIENT_FIELDS}
    values["tax_id"] = values.get("tax_id") or None
    _check_client(values, client)
    before = {k: getattr(client, k) for k in values} if client is not None else {}
    before = {k: v for k, v in before.items() if v != values[k]}
    saved = _save(client, Client, values, actor=actor, noun="client")
    for hook in CLIENT_SAVED:
        hook(saved, before=before, actor=actor)
    return saved


def _save(obj, model, values: dict, *, actor, noun: str, detail: dict | None = None):
    """Create (obj None) or change a registry row; audit what changed (names, not values)."""
    created = obj is None
    obj = obj or model()
    changed = set()
    for key, value in values.items():
        if getattr(obj, key, None) != value:
            setattr(obj, key, value)
            changed.add(key)
    if created:
        db.session.add(obj)
    db.session.flush()
    if created or changed:
        audit.record(
            f"{noun}.created" if created else f"{noun}.updated",
            actor=actor,
            target=f"{noun}:{obj.id}",
            detail={**(detail or {}), "fields": sorted(changed)},
        )
    return obj


# ---------------------------------------------------------------- sites


def list_sites(
    user,
    *,
    q: str = "",
    client_id: int | None = None,
    active: str = "",
    page: int = 1,
    per_page: int = 25,
) -> Page:
    """Sites the user may list, searched by code, name or address, filtered by client and status."""
    stmt = listable_sites_query(user)
    if q:
        like = f"%{q.strip()}%"
        stmt = stmt.where(
            or_(
                Site.code.ilike(like),
                Site.name.like(like),
                Site.address.like(like),
                Site.district.like(like),
                Site.postal_code.like(like),
            )
        )
    if client_id:
        stmt = stmt.where(Site.client_id == client_id)
    if active in ("1", "0"):
        stmt = stmt.where(Site.is_active.is_(active == "1"))
    return paginate(stmt.order_by(Site.code), page=page, per_page=per_page)


def save_site(site: Site | None, *, actor: User, **values) -> Site:
    """Create (site=None) or change a site."""
    values = {k: v for k, v in values.items() if k in SITE_FIELDS}
    if "code" in values:
        values["code"] = values["code"].strip().upper()
        clash = db.session.scalar(select(Site).where(Site.code == values["code"]))
        if clash is not None and clash is not site:
            raise RegistryError("code", "code_taken")
    if db.session.get(Client, values.get("client_id") or (site.client_id if site else 0)) is None:
        raise RegistryError("client_id", "client_required")
    if (values.get("latitude") is None) != (values.get("longitude") is None):
        raise RegistryError("longitude", "both_coordinates")
    return _save(site, Site, values, actor=actor, noun="site")


def assignable_users() -> list[User]:
    return list(
        db.session.scalars(
            select(User)
            .where(policy.assignable_users_clause(User))
            .order_by(User.role.desc(), User.display_name)
        )
    )


def site_user_ids(site: Site) -> set[int]:
    return set(
        db.session.scalars(select(SiteAssignment.user_id).where(SiteAssignment.site_id == site.id))
    )


def _change_assignments(added: set[tuple[int, int]], removed: set[tuple[int, int]]) -> None:
    """Add and remove (user id, site id) assignments: the one place assignments are written."""
    for user_id, site_id in sorted(added):
        db.session.add(SiteAssignment(user_id=user_id, site_id=site_id))
    for user_id, site_id in sorted(removed):
        db.session.execute(
            SiteAssignment.__table__.delete().where(
                SiteAssignment.user_id == user_id, SiteAssignment.site_id == site_id
            )
        )
    db.session.flush()
    _forget_assignments()


def set_site_users(site: Site, *, actor: User, user_ids: set[int]) -> None:
    """Make exactly these guards and supervisors assigned to the site."""
    allowed = {u.id for u in assignable_users()}
    wanted = user_ids & allowed
    current = site_user_ids(site)
    added, removed = wanted - current, current - wanted
    _change_assignments({(u, site.id) for u in added}, {(u, site.id) for u in removed})
    if added or removed:
        audit.record(
            "site.assignments_changed",
            actor=actor,
            target=f"site:{site.id}",
            detail={"added": sorted(added), "removed": sorted(removed)},
        )


def set_user_sites(user: User, *, actor: User, site_ids: set[int]) -> None:
    """Make the user's assignments exactly `site_ids` (only for guards and supervisors)."""
    if not policy.role_is_assignable(user.role):
        raise RegistryError("site_id", "not_assignable")
    known = (
        set(db.session.scalars(select(Site.id).where(Site.id.in_(site_ids)))) if site_ids else set()
    )
    current = assigned_site_ids(user)
    added, removed = known - current, current - known
    _change_assignments({(user.id, s) for s in added}, {(user.id, s) for s in removed})
    if added or removed:
        audit.record(
            "user.sites_assigned",
            actor=actor,
            target=f"user:{user.id}",
            detail={"added": sorted(added), "removed": sorted(removed)},
        )


def _end_assignments_a_role_cannot_hold(user: User) -> None:
    """A user whose new role is not assigned to sites keeps none (auth's role-change hook)."""
    if not policy.role_is_assignable(user.role):
        current = assigned_site_ids(user)
        _change_assignments(set(), {(user.id, s) for s in current})


if _end_assignments_a_role_cannot_hold not in auth_services.ROLE_CHANGE_FOLLOW_UPS:
    auth_services.ROLE_CHANGE_FOLLOW_UPS.append(_end_assignments_a_role_cannot_hold)


def bulk_assign(*, actor: User, site_ids: set[int], user_ids: set[int]) -> int:
    """Add the users to every one of the sites (keeping what they had); returns rows added."""
    allowed = {u.id for u in assignable_users()} & user_ids
    sites = (
        set(db.session.scalars(select(Site.id).where(Site.id.in_(site_ids)))) if site_ids else set()
    )
    existing = {
        (row.user_id, row.site_id)
        for row in db.session.execute(
            select(SiteAssignment.user_id, SiteAssignment.site_id).where(
                SiteAssignment.site_id.in_(sites), SiteAssignment.user_id.in_(allowed)
            )
        )
    }
    pairs = sorted((u, s) for u in allowed for s in sites if (u, s) not in existing)
    _change_assignments(set(pairs), set())
    if pairs:
        audit.record(
            "site.bulk_assigned",
            actor=actor,
            detail={"sites": sorted(sites), "users": sorted(allowed), "added": len(pairs)},
        )
    return len(pairs)


# ---------------------------------------------------------------- QR codes


def qr_url(site: Site) -> str | None:
    """The URL in the site's QR code: the public address (BASE_URL, or a trusted host) +
    /s/<token>; None when neither is set (never the Host the request happened to carry)."""
    return links.public_url(f"/s/{site.qr_token}")


def rotate_qr_token(site: Site, *, actor: User) -> None:
    """Give the site a new code; printed labels with the old one stop working (and say so)."""
    db.session.add(RetiredQrToken(token=site.qr_token, site_id=site.id, retired_by_id=actor.id))
    site.qr_token = new_qr_token()
    db.session.flush()
    audit.record("site.qr_rotated", actor=actor, target=f"site:{site.id}")


def find_site_by_token(token: str) -> tuple[Site | None, RetiredQrToken | None]:
    """(the site whose current code this is, or the retired entry if it was replaced)."""
    site = db.session.scalar(select(Site).where(Site.qr_token == token))
    if site is not None:
        return site, None
    return None, db.session.scalar(select(RetiredQrToken).where(RetiredQrToken.token == token))


def find_site_by_code(code: str) -> Site | None:
    return db.session.scalar(select(Site).where(Site.code == code.strip().upper()))


# ---------------------------------------------------------------- equipment


def save_equipment(equipment: Equipment | None, *, site: Site, actor: User, **values) -> Equipment:
    """Add equipment to a site (equipment=None) or change it."""
    values = {k: v for k, v in values.items() if k in EQUIPMENT_FIELDS}
    if equipment is None:
        values["site_id"] = site.id
    return _save(
        equipment, Equipment, values, actor=actor, noun="equipment", detail={"site": site.id}
    )


def equipment_due(site: Site, *, on: date) -> list[Equipment]:
    """Equipment of the site whose maintenance is due on or before `on`."""
    return [e for e in site.equipment if e.maintenance_due_on and e.maintenance_due_on <= on]


# ---------------------------------------------------------------- check-ins


def record_check_in(
    site: Site,
    *,
    user: User,
    uuid: str,
    method: str,
    scanned_at: datetime | None,
    latitude: float | None,
    longitude: float | None,
    accuracy_m: float | None,
) -> CheckIn:
    """Record that the user reached the site; the same uuid again returns the first record.

    `method` is the route's finding ("qr" through /s/<token>, "code" otherwise); the location
    is the device's claim and is stored as reported.
    """
    if method not in CHECK_IN_METHODS:
        raise ValueError(f"unknown check-in method {method!r}")
    existing = db.session.scalar(select(CheckIn).where(CheckIn.uuid == uuid))
    if existing is not None:
        if existing.site_id != site.id or existing.user_id != user.id:
            raise CheckInConflict(uuid)
        return existing
    verdict, distance = _judge_position(site, latitude, longitude, accuracy_m)
    received_at = utcnow()
    check_in = CheckIn(
        uuid=uuid,
        site_id=site.id,
        user_id=user.id,
        method=method,
        scanned_at=scanned_at,
        received_at=received_at,
        clock_skew_s=round((scanned_at - received_at).total_seconds()) if scanned_at else None,
        latitude=latitude,
        longitude=longitude,
        accuracy_m=accuracy_m,
        distance_m=round(distance, 1) if distance is not None else None,
        verdict=verdict,
    )
    db.session.add(check_in)
    db.session.flush()
    return check_in


def add_check_in_location(
    check_in: CheckIn,
    *,
    latitude: float | None,
    longitude: float | None,
    accuracy_m: float | None,
) -> CheckIn:
    """The location for a check-in recorded without one (the guard allowed it and tried
    again), within LOCATION_RETRY_MINUTES; like the first, it is the device's claim."""
    if check_in.verdict != "no_fix" or check_in.latitude is not None:
        raise CheckInLocationError("has_location")
    if not takes_location(check_in):
        raise CheckInLocationError("too_late")
    verdict, distance = _judge_position(check_in.site, latitude, longitude, accuracy_m)
    if latitude is None or longitude is None:
        raise CheckInLocationError("no_location")
    check_in.latitude, check_in.longitude, check_in.accuracy_m = latitude, longitude, accuracy_m
    check_in.distance_m = round(distance, 1) if distance is not None else None
    check_in.verdict = verdict
    db.session.flush()
    return check_in


def _judge_position(site, latitude, longitude, accuracy_m) -> tuple[str, float | None]:
    """The verdict and distance for the position a device reported at a site."""
    return geo.verdict(
        site_lat=site.latitude,
        site_lon=site.longitude,
        geofence_m=site.geofence_m,
        lat=latitude,
        lon=longitude,
        accuracy_m=accuracy_m,
    )


def takes_location(check_in: CheckIn | None) -> bool:
    """A check-in made without a location that can still be given one (the card offers to
    try again)."""
    return (
        check_in is not None
        and check_in.verdict == "no_fix"
        and check_in.latitude is None
        and utcnow() - check_in.received_at <= timedelta(minutes=LOCATION_RETRY_MINUTES)
    )


def check_ins_query(user) -> Select:
    """Check-ins the user may see: his own (guard), his sites' (supervisor), all (manager)."""
    stmt = select(CheckIn)
    if policy.sees_all_sites(user):
        return stmt
    if policy.sees_others_check_ins(user):
        assigned = select(SiteAssignment.site_id).where(SiteAssignment.user_id == user.id)
        return stmt.where(or_(CheckIn.site_id.in_(assigned), CheckIn.user_id == user.id))
    return stmt.where(CheckIn.user_id == user.id)


def check_in_people(user) -> list[User]:
    """The people whose check-ins the user may filter by: all field staff, or his sites' staff."""
    stmt = select(User).where(policy.briefable_by_name_clause(User)).order_by(User.display_name)
    if not policy.sees_all_sites(user):
        mine = select(SiteAssignment.site_id).where(SiteAssignment.user_id == user.id)
        colleagues = select(SiteAssignment.user_id).where(SiteAssignment.site_id.in_(mine))
        stmt = stmt.where(or_(User.id.in_(colleagues), User.id == user.id))
    return list(db.session.scalars(stmt))


def list_check_ins(
    user,
    *,
    site_id: int | None = None,
    user_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    flagged: bool = False,
    page: int = 1,
    per_page: int = 25,
) -> Page:
    stmt = check_ins_query(user)
    if site_id:
        stmt = stmt.where(CheckIn.site_id == site_id)
    if user_id:
        stmt = stmt.where(CheckIn.user_id == user_id)
    if since:
        stmt = stmt.where(CheckIn.received_at >= since)
    if until:
        stmt = stmt.where(CheckIn.received_at < until)
    if flagged:
        skewed = func.abs(CheckIn.clock_skew_s) > CLOCK_SKEW_LIMIT_S
        stmt = stmt.where(or_(CheckIn.verdict != "on_site", skewed))
    return paginate(stmt.order_by(CheckIn.received_at.desc()), page=page, per_page=per_page)


def check_in_by_uuid(uuid: str) -> CheckIn | None:
    return db.session.scalar(select(CheckIn).where(CheckIn.uuid == uuid))


def own_check_in(user: User, uuid: str) -> CheckIn | None:
    """The user's own check-in with this device uuid (the card thanks him for it)."""
    return db.session.scalar(
        select(CheckIn).where(CheckIn.uuid == uuid, CheckIn.user_id == user.id)
    )


def latest_check_in_site_id(user: User, *, since: datetime) -> int | None:
    """The site of the user's latest check-in since `since` (where he is working now)."""
    return db.session.scalar(
        select(CheckIn.site_id)
        .where(CheckIn.user_id == user.id, CheckIn.received_at >= since)
        .order_by(CheckIn.received_at.desc(), CheckIn.id.desc())
        .limit(1)
    )


def last_check_in(site: Site, user: User) -> CheckIn | None:
    return db.session.scalar(
        select(CheckIn)
        .where(CheckIn.site_id == site.id, CheckIn.user_id == user.id)
        .order_by(CheckIn.received_at.desc())
        .limit(1)
    )

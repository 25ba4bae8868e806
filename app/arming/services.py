"""Arm/disarm records: opening hours, events (API, CSV, by hand), integrations, the jobs' checks.
Flush, never commit.

A day's rules, all on Taipei's wall clock with the site's hours for that weekday:
- a disarm is *in hours* from `ARMING_GRACE_MINUTES` before opening to closing; on a day
  closed all day every disarm is out of hours; a site without hours is not monitored;
- the site is *armed for the night* when its last event up to closing plus the grace is an arm
  made after that day's opening; otherwise, once that moment has passed, it is *not armed*
  (an arm later that night still shows, as late).
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, ClassVar

from flask import current_app, has_app_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    Integer,
    and_,
    bindparam,
    cast,
    delete,
    exists,
    func,
    literal,
    literal_column,
    select,
    true,
    union,
    update,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased, selectinload
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import Float

from app import audit
from app.arming.models import (
    KINDS,
    ArmEvent,
    ArmIntegration,
    ArmIntegrationSite,
    OpeningHours,
)
from app.auth import policy
from app.db import UTCDateTime, utcnow
from app.errors import DomainError
from app.extensions import db
from app.i18n import TAIPEI
from app.notifications import services as notifications
from app.pagination import Page, paginate
from app.sites.models import Site

#: Minutes after closing before a site not armed is notified, and before opening from which a
#: disarm is still in hours (config ARMING_GRACE_MINUTES).
DEFAULT_GRACE_MINUTES = 30
#: Days the site card shows.
CARD_DAYS = 30
#: Events one API call or one CSV file may carry.
MAX_EVENTS = 500
#: The longest CSV file taken, in bytes.
MAX_CSV_BYTES = 2 * 1024 * 1024
#: How far ahead of the server's clock an event may be (a panel's clock a little fast).
FUTURE_SLACK = timedelta(minutes=10)
#: How old an event may be: older ones are refused (a typo in the year, not a record).
MAX_AGE = timedelta(days=400)
#: A panel's user number: digits, letters, dash; never a code or a password.
USER_CODE = re.compile(r"^[0-9A-Za-z-]{0,20}$")
#: Tokens: a recognisable prefix and 256 random bits.
TOKEN_PREFIX = "gpa_"  # noqa: S105 (a marker, not a secret)

notifications.MESSAGES.setdefault("site_not_armed", _l("Not armed after closing: %(subject)s"))
notifications.MESSAGES.setdefault(
    "disarm_out_of_hours", _l("Disarmed outside opening hours: %(subject)s")
)

KIND_LABELS = {"arm": _l("Armed"), "disarm": _l("Disarmed")}
SOURCE_LABELS = {"api": _l("Monitoring centre"), "csv": _l("CSV import"), "manual": _l("By hand")}
WEEKDAY_LABELS = (
    _l("Monday"),
    _l("Tuesday"),
    _l("Wednesday"),
    _l("Thursday"),
    _l("Friday"),
    _l("Saturday"),
    _l("Sunday"),
)


class ArmingError(DomainError):
    messages: ClassVar = {
        "bad_span": _l(
            "Closing must be after opening on the same day. Opening hours past midnight are "
            "not supported: close at 23:59 and open at 00:00 the next day."
        ),
        "times_required": _l("Give the opening and the closing time, or mark the day closed."),
        "name_required": _l("Give the integration a name."),
        "sites_required": _l("Choose at least one site."),
        "bad_site": _l("One of the chosen sites cannot be used."),
        "already_revoked": _l("This integration is already revoked."),
        "bad_kind": _l("Choose armed or disarmed."),
        "bad_time": _l("Give a time that is not in the future and not over a year ago."),
        "bad_user_code": _l("User number: up to 20 letters, digits or dashes."),
        "csv_invalid": _l(
            "The file has errors: nothing was imported. Correct it and upload again."
        ),
        "csv_gone": _l("The uploaded file is no longer here. Upload it again."),
        "csv_empty": _l("The file has no events."),
        "csv_missing": _l("Choose a CSV file."),
        "csv_too_large": _l("The file is larger than 2 MB."),
    }


def grace_minutes() -> int:
    if has_app_context():
        return int(current_app.config.get("ARMING_GRACE_MINUTES", DEFAULT_GRACE_MINUTES))
    return DEFAULT_GRACE_MINUTES


# ---------------------------------------------------------------- opening hours


@dataclass
class DaySpec:
    """One weekday as the form gives it: closed all day, or open from `opens` to `closes`."""

    weekday: int
    is_closed: bool
    opens: time | None = None
    closes: time | None = None


def hours_of(site_id: int) -> dict[int, OpeningHours]:
    """A site's opening hours by weekday; empty: not monitored."""
    rows = db.session.scalars(select(OpeningHours).where(OpeningHours.site_id == site_id))
    return {row.weekday: row for row in rows}


def _hours_by_site(site_ids: list[int]) -> dict[int, dict[int, OpeningHours]]:
    found: dict[int, dict[int, OpeningHours]] = {site_id: {} for site_id in site_ids}
    if site_ids:
        rows = db.session.scalars(select(OpeningHours).where(OpeningHours.site_id.in_(site_ids)))
        for row in rows:
            found[row.site_id][row.weekday] = row
    return found


def set_opening_hours(site: Site, *, user, days: list[DaySpec] | None) -> None:
    """Replace the site's hours with `days` (one per weekday), or with none: not monitored."""
    specs = sorted(days or [], key=lambda d: d.weekday)
    for day in specs:
        if day.is_closed:
            day.opens = day.closes = None
            continue
        if day.opens is None or day.closes is None:
            raise ArmingError("times_required", field=f"d{day.weekday}_opens")
        if day.opens >= day.closes:
            raise ArmingError("bad_span", field=f"d{day.weekday}_closes")
    db.session.execute(delete(OpeningHours).where(OpeningHours.site_id == site.id))
    for day in specs:
        db.session.add(
            OpeningHours(
                site_id=site.id,
                weekday=day.weekday,
                is_closed=day.is_closed,
                opens_at=day.opens,
                closes_at=day.closes,
            )
        )
    db.session.flush()
    audit.record(
        "arming.hours_change",
        actor=user,
        target=f"site:{site.id}",
        detail={
            "monitored": bool(specs),
            "days": [
                "closed" if d.is_closed else f"{d.opens:%H:%M}-{d.closes:%H:%M}" for d in specs
            ],
        },
    )


def _at(day: date, moment: time) -> datetime:
    return datetime.combine(day, moment, tzinfo=TAIPEI).astimezone(UTC)


def is_in_hours(hours: dict[int, OpeningHours], occurred_at: datetime) -> bool:
    """A disarm at `occurred_at` is within the hours (see the module doc); unmonitored: yes."""
    if not hours:
        return True
    local = occurred_at.astimezone(TAIPEI)
    row = hours.get(local.weekday())
    if row is None or row.is_closed:
        return False
    day = local.date()
    start = _at(day, row.opens_at) - timedelta(minutes=grace_minutes())
    return start <= occurred_at <= _at(day, row.closes_at)


def arm_deadline(hours: dict[int, OpeningHours], day: date) -> tuple[datetime, datetime] | None:
    """(opening, closing plus grace) of a Taipei day as UTC instants; None if closed all day
    or not monitored."""
    row = hours.get(day.weekday())
    if row is None or row.is_closed:
        return None
    return _at(day, row.opens_at), _at(day, row.closes_at) + timedelta(minutes=grace_minutes())


# ---------------------------------------------------------------- events


@dataclass
class EventInput:
    """One event to record, parsed and checked."""

    site: Site
    kind: str
    occurred_at: datetime
    user_code: str = ""
    external_id: str | None = None


@dataclass
class Recorded:
    created: list[ArmEvent] = field(default_factory=list)
    #: Indexes of the inputs already recorded (the same event sent again).
    duplicates: list[int] = field(default_factory=list)


def _same(event: ArmEvent, item: EventInput) -> bool:
    return (
        event.site_id == item.site.id
        and event.kind == item.kind
        and event.occurred_at == item.occurred_at
    )


def existing_by_external_id(integration_id: int, external_ids: list[str]) -> dict[str, ArmEvent]:
    if not external_ids:
        return {}
    rows = db.session.scalars(
        select(ArmEvent).where(
            ArmEvent.integration_id == integration_id, ArmEvent.external_id.in_(external_ids)
        )
    )
    return {row.external_id: row for row in rows}


def existing_same(items: list[EventInput]) -> set[tuple[int, str, datetime]]:
    """(site, kind, instant) of the items already recorded, whatever their source."""
    if not items:
        return set()
    site_ids = {i.site.id for i in items}
    first = min(i.occurred_at for i in items)
    last = max(i.occurred_at for i in items)
    rows = db.session.execute(
        select(ArmEvent.site_id, ArmEvent.kind, ArmEvent.occurred_at).where(
            ArmEvent.site_id.in_(site_ids),
            ArmEvent.occurred_at >= first,
            ArmEvent.occurred_at <= last,
        )
    )
    return {(r.site_id, r.kind, r.occurred_at.astimezone(UTC)) for r in rows}


def record_events(
    items: list[EventInput],
    *,
    source: str,
    user=None,
    integration: ArmIntegration | None = None,
) -> Recorded:
    """Record the events; one already recorded (by the integration's id for it, or the same
    site, kind and instant) is not recorded twice. All or nothing: the caller checked them."""
    result = Recorded()
    known = existing_same(items)
    by_external = (
        existing_by_external_id(integration.id, [i.external_id for i in items if i.external_id])
        if integration is not None
        else {}
    )
    hours = _hours_by_site(sorted({i.site.id for i in items}))
    for index, item in enumerate(items):
        key = (item.site.id, item.kind, item.occurred_at.astimezone(UTC))
        if key in known or (item.external_id and item.external_id in by_external):
            result.duplicates.append(index)
            continue
        event = ArmEvent(
            site_id=item.site.id,
            kind=item.kind,
            occurred_at=item.occurred_at,
            source=source,
            user_code=item.user_code,
            integration_id=integration.id if integration is not None else None,
            external_id=item.external_id or None,
            entered_by_id=getattr(user, "id", None),
            is_out_of_hours=item.kind == "disarm"
            and not is_in_hours(hours[item.site.id], item.occurred_at),
        )
        db.session.add(event)
        result.created.append(event)
        known.add(key)
        if item.external_id and integration is not None:
            by_external[item.external_id] = event
    db.session.flush()
    return result


def check_time(occurred_at: datetime, now: datetime) -> bool:
    return now - MAX_AGE <= occurred_at <= now + FUTURE_SLACK


def record_by_hand(
    site: Site, *, user, kind: str, occurred_at: datetime, user_code: str = ""
) -> ArmEvent | None:
    """An event typed by the site's supervisor or a manager (the same one again: nothing new)."""
    if kind not in KINDS:
        raise ArmingError("bad_kind", field="kind")
    if not check_time(occurred_at, utcnow()):
        raise ArmingError("bad_time", field="occurred_at")
    code = (user_code or "").strip()
    if not USER_CODE.match(code):
        raise ArmingError("bad_user_code", field="user_code")
    result = record_events(
        [EventInput(site=site, kind=kind, occurred_at=occurred_at, user_code=code)],
        source="manual",
        user=user,
    )
    event = result.created[0] if result.created else None
    audit.record(
        "arming.event_manual",
        actor=user,
        target=f"site:{site.id}",
        detail={"kind": kind, "at": occurred_at.isoformat(), "duplicate": event is None},
    )
    return event


def site_events(site: Site, *, page: int, per_page: int) -> Page:
    """A site's events, newest first."""
    stmt = (
        select(ArmEvent)
        .options(selectinload(ArmEvent.entered_by), selectinload(ArmEvent.integration))
        .where(ArmEvent.site_id == site.id)
        .order_by(ArmEvent.occurred_at.desc(), ArmEvent.id.desc())
    )
    return paginate(stmt, page=page, per_page=per_page)


# ---------------------------------------------------------------- the site card's 30 days


@dataclass
class DayRow:
    day: date
    #: The first disarm and the last arm of the Taipei day (UTC instants), if any.
    disarmed_at: datetime | None
    armed_at: datetime | None
    is_closed: bool
    #: Open that day, the deadline passed and the site not armed by it.
    is_not_armed: bool
    #: Armed, but only after closing plus the grace.
    is_late: bool
    has_out_of_hours: bool


@dataclass
class SiteArming:
    is_monitored: bool
    days: list[DayRow]

    @property
    def has_events(self) -> bool:
        return any(d.armed_at or d.disarmed_at for d in self.days)

    @property
    def flagged(self) -> int:
        return sum(1 for d in self.days if d.is_not_armed or d.is_late or d.has_out_of_hours)


def _day_rows(
    hours: dict[int, OpeningHours],
    events: list[ArmEvent],
    days: list[date],
    now: datetime,
    *,
    since: datetime | None,
) -> list[DayRow]:
    """The days' rows; a day is judged only from the site's first recorded event on (`since`;
    None: no event yet), so a site whose records begin today is not "not armed" last month."""
    by_day: dict[date, list[ArmEvent]] = {}
    for event in events:
        by_day.setdefault(event.occurred_at.astimezone(TAIPEI).date(), []).append(event)
    rows = []
    for day in days:
        todays = by_day.get(day, [])
        disarms = [e for e in todays if e.kind == "disarm"]
        arms = [e for e in todays if e.kind == "arm"]
        row = hours.get(day.weekday())
        window = arm_deadline(hours, day)
        not_armed = late = False
        if window is not None and window[1] <= now and since is not None and since <= window[1]:
            opened, deadline = window
            before = [e for e in todays if e.occurred_at <= deadline]
            last = before[-1] if before else None
            if not (last is not None and last.kind == "arm" and last.occurred_at >= opened):
                later_arm = any(e.occurred_at > deadline for e in arms)
                late, not_armed = later_arm, not later_arm
        rows.append(
            DayRow(
                day=day,
                disarmed_at=disarms[0].occurred_at if disarms else None,
                armed_at=arms[-1].occurred_at if arms else None,
                is_closed=row is not None and row.is_closed,
                is_not_armed=not_armed,
                is_late=late,
                has_out_of_hours=any(e.is_out_of_hours for e in disarms),
            )
        )
    return rows


def site_arming(site: Site, *, today: date, now: datetime | None = None) -> SiteArming:
    """The last CARD_DAYS Taipei days of a site, newest first (two statements)."""
    now = now or utcnow()
    hours = hours_of(site.id)
    days = [today - timedelta(days=n) for n in range(CARD_DAYS)]
    start = _at(days[-1], time(0))
    end = _at(today + timedelta(days=1), time(0))
    events = list(
        db.session.scalars(
            select(ArmEvent)
            .where(
                ArmEvent.site_id == site.id,
                ArmEvent.occurred_at >= start,
                ArmEvent.occurred_at < end,
            )
            .order_by(ArmEvent.occurred_at, ArmEvent.id)
        )
    )
    since = db.session.scalar(
        select(func.min(ArmEvent.occurred_at)).where(ArmEvent.site_id == site.id)
    )
    return SiteArming(
        is_monitored=bool(hours),
        days=_day_rows(hours, events, days, now, since=_aware(since)),
    )


def _aware(value: datetime | None) -> datetime | None:
    """An aggregate's instant (SQLite returns text or a naive value) as aware UTC."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# ---------------------------------------------------------------- a period's days in SQL


class _seconds_of_day(FunctionElement):
    """SQL: seconds since midnight of a TIME column (SQLite keeps it as 'HH:MM:SS.ffffff')."""

    type = Float()
    inherit_cache = True
    name = "seconds_of_day"


@compiles(_seconds_of_day)
def _seconds_of_day_default(element, compiler, **kw):
    (value,) = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"CAST(EXTRACT(EPOCH FROM {value}) AS DOUBLE PRECISION)"


@compiles(_seconds_of_day, "sqlite")
def _seconds_of_day_sqlite(element, compiler, **kw):
    (value,) = (compiler.process(arg, **kw) for arg in element.clauses)
    return (
        f"(CAST(substr({value}, 1, 2) AS INTEGER) * 3600"
        f" + CAST(substr({value}, 4, 2) AS INTEGER) * 60 + CAST(substr({value}, 7) AS REAL))"
    )


class _shifted(FunctionElement):
    """SQL: an instant plus whole days (of 24 hours: Taipei has no DST) plus seconds, as the
    column type stores it (on SQLite the text SQLAlchemy writes, so comparisons hold)."""

    type = UTCDateTime()
    inherit_cache = True
    name = "shifted"


@compiles(_shifted)
def _shifted_default(element, compiler, **kw):
    start, days, seconds = (compiler.process(arg, **kw) for arg in element.clauses)
    return (
        f"({start} + ({days}) * INTERVAL '24 hours'"
        f" + CAST({seconds} AS DOUBLE PRECISION) * INTERVAL '1 second')"
    )


@compiles(_shifted, "sqlite")
def _shifted_sqlite(element, compiler, **kw):
    start, days, seconds = (compiler.process(arg, **kw) for arg in element.clauses)
    return (
        f"(strftime('%Y-%m-%d %H:%M:%f', {start}, '+' || ({days}) || ' days',"
        f" '+' || ({seconds}) || ' seconds') || '000')"
    )


def _windows_sqlite(days, start, firsts, open_hours, weekday: int, grace: int):
    """The open days' windows (site, opening, deadline, the day's bounds, first event)."""
    # Instants are worked out once per day (its bounds) and once per day and distinct time of
    # the hours (opening; closing plus the grace), not once per site and day: a year at 500
    # sites has 150 000 windows but a few thousand instants.
    bounds = (
        select(
            days.c.n,
            _shifted(start, days.c.n, literal(0)).label("day_start"),
            _shifted(start, days.c.n + 1, literal(0)).label("day_end"),
        )
        .cte("arm_bounds")
        .prefix_with("MATERIALIZED")
    )
    times = union(
        select(OpeningHours.opens_at.label("t"), literal_column("0").label("extra")).where(
            open_hours
        ),
        select(OpeningHours.closes_at, literal_column(str(grace))).where(open_hours),
    ).cte("arm_times")
    instants = (
        select(
            days.c.n,
            # Cast: SQLite indexes the CTE on it only with the column's integer affinity.
            cast((days.c.n + weekday) % 7, Integer).label("weekday"),
            times.c.t,
            times.c.extra,
            _shifted(start, days.c.n, _seconds_of_day(times.c.t) + times.c.extra).label("at"),
        )
        .select_from(days)
        .join(times, true())
        .cte("arm_instants")
        .prefix_with("MATERIALIZED")
    )
    opening, closing = instants.alias("arm_opening"), instants.alias("arm_closing")
    windows = (
        select(
            OpeningHours.site_id,
            opening.c.at.label("opened"),
            closing.c.at.label("deadline"),
            bounds.c.day_start,
            bounds.c.day_end,
            firsts.c.first_at,
        )
        .select_from(OpeningHours)
        .join(firsts, firsts.c.site_id == OpeningHours.site_id)
        .join(
            opening,
            and_(
                opening.c.weekday == OpeningHours.weekday,
                opening.c.t == OpeningHours.opens_at,
                opening.c.extra == 0,
            ),
        )
        .join(
            closing,
            and_(
                closing.c.n == opening.c.n,
                closing.c.t == OpeningHours.closes_at,
                closing.c.extra == grace,
            ),
        )
        .join(bounds, bounds.c.n == opening.c.n)
        .where(open_hours)
        .cte("arm_windows")
    )
    return windows


def _windows_postgres(days, start, firsts, open_hours, weekday: int, grace: int):
    """The open days' windows, each instant computed in place (cheap on PostgreSQL)."""
    return (
        select(
            OpeningHours.site_id,
            _shifted(start, days.c.n, _seconds_of_day(OpeningHours.opens_at)).label("opened"),
            _shifted(start, days.c.n, _seconds_of_day(OpeningHours.closes_at) + grace).label(
                "deadline"
            ),
            _shifted(start, days.c.n, literal(0)).label("day_start"),
            _shifted(start, days.c.n + 1, literal(0)).label("day_end"),
            firsts.c.first_at,
        )
        .select_from(days)
        .join(OpeningHours, OpeningHours.weekday == (days.c.n + weekday) % 7)
        .join(firsts, firsts.c.site_id == OpeningHours.site_id)
        .where(open_hours)
        .cte("arm_windows")
    )


def not_armed_counts(site_ids, first: date, last: date, now: datetime) -> dict[int, int]:
    """Per monitored site among `site_ids` (a subquery), on how many Taipei days from `first`
    to `last` it was not armed on time (not armed, or armed late): `_day_rows`' judgement,
    worked out in SQL for a year at 500 sites in two statements, whatever the number of days.

    A recursive CTE numbers the days; each open day of a site's hours gives its window
    (opening, closing plus the grace, the day's bounds); a day is judged once its deadline has
    passed and from the site's first event on; it is fine when the day's last event up to the
    deadline is an arm made after opening. The days start no earlier than the first event of
    any of the sites (none before it can be judged)."""
    first_event = _aware(
        db.session.scalar(
            select(func.min(ArmEvent.occurred_at)).where(ArmEvent.site_id.in_(site_ids))
        )
    )
    if first_event is None:
        return {}
    # The day before the first event's: a deadline just after midnight may follow it.
    first = max(first, first_event.astimezone(TAIPEI).date() - timedelta(days=1))
    if first > last:
        return {}
    start = bindparam("start", _at(first, time(0)), type_=UTCDateTime())
    span = (last - first).days
    postgres = db.session.get_bind().dialect.name == "postgresql"
    if postgres:
        # generate_series: the planner knows how many days (a recursive CTE it guesses at 31,
        # and then joins a year's 150 000 windows in nested loops).
        days = select(func.generate_series(0, literal_column(str(span))).label("n")).cte("arm_days")
    else:
        days = select(literal_column("0").label("n")).cte("arm_days", recursive=True)
        days = days.union_all(select(days.c.n + 1).where(days.c.n < span))
    firsts = (
        select(ArmEvent.site_id, func.min(ArmEvent.occurred_at).label("first_at"))
        .where(ArmEvent.site_id.in_(site_ids))
        .group_by(ArmEvent.site_id)
        .cte("arm_firsts")
    )
    grace = grace_minutes() * 60
    open_hours = and_(OpeningHours.is_closed.is_(False), OpeningHours.site_id.in_(site_ids))
    if postgres:
        windows = _windows_postgres(days, start, firsts, open_hours, first.weekday(), grace)
    else:
        windows = _windows_sqlite(days, start, firsts, open_hours, first.weekday(), grace)
    due = windows.c.deadline <= bindparam("now", now, type_=UTCDateTime())
    judged = (
        select(windows).where(due, windows.c.first_at <= windows.c.deadline).subquery("arm_judged")
    )
    last_event = (
        select(ArmEvent.id)
        .where(
            ArmEvent.site_id == judged.c.site_id,
            ArmEvent.occurred_at >= judged.c.day_start,
            ArmEvent.occurred_at < judged.c.day_end,
            ArmEvent.occurred_at <= judged.c.deadline,
        )
        .order_by(ArmEvent.occurred_at.desc(), ArmEvent.id.desc())
        .limit(1)
        .correlate(judged)
        .scalar_subquery()
    )
    fine = aliased(ArmEvent)
    armed = (
        exists()
        .where(fine.id == last_event, fine.kind == "arm", fine.occurred_at >= judged.c.opened)
        .correlate(judged)
    )
    rows = db.session.execute(
        select(judged.c.site_id, func.count()).where(~armed).group_by(judged.c.site_id)
    )
    return {site_id: count for site_id, count in rows}


# ---------------------------------------------------------------- integrations (API tokens)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_integration(*, user, name: str, site_ids: set[int]) -> tuple[ArmIntegration, str]:
    """A new integration for these sites; returns it and its token (shown once, kept hashed)."""
    name = (name or "").strip()[:100]
    if not name:
        raise ArmingError("name_required", field="name")
    if not site_ids:
        raise ArmingError("sites_required", field="site_ids")
    sites = list(
        db.session.scalars(
            select(Site).where(Site.id.in_(site_ids), policy.arming_sites_clause(user))
        )
    )
    if len(sites) != len(site_ids):
        raise ArmingError("bad_site", field="site_ids")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    integration = ArmIntegration(
        name=name,
        token_hash=hash_token(token),
        token_prefix=token[:10],
        created_by_id=user.id,
    )
    db.session.add(integration)
    db.session.flush()
    for site in sites:
        db.session.add(ArmIntegrationSite(integration_id=integration.id, site_id=site.id))
    db.session.flush()
    audit.record(
        "arming.integration_create",
        actor=user,
        target=f"arm_integration:{integration.id}",
        detail={"name": name, "site_ids": sorted(s.id for s in sites)},
    )
    return integration, token


def revoke_integration(integration: ArmIntegration, *, user) -> None:
    """The token stops working at once; its events stay."""
    changed = db.session.execute(
        update(ArmIntegration)
        .where(ArmIntegration.id == integration.id, ArmIntegration.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoked_by_id=user.id),
        execution_options={"synchronize_session": False},
    ).rowcount
    db.session.expire(integration)
    if changed != 1:
        raise ArmingError("already_revoked")
    audit.record(
        "arming.integration_revoke", actor=user, target=f"arm_integration:{integration.id}"
    )


def integrations() -> list[ArmIntegration]:
    return list(
        db.session.scalars(
            select(ArmIntegration)
            .options(selectinload(ArmIntegration.sites), selectinload(ArmIntegration.created_by))
            .order_by(ArmIntegration.revoked_at.is_not(None), ArmIntegration.name)
        )
    )


def integration_by_token(token: str) -> ArmIntegration | None:
    """The integration whose token this is (revoked or not), compared in constant time."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    digest = hash_token(token)
    found = db.session.scalar(select(ArmIntegration).where(ArmIntegration.token_hash == digest))
    if found is None or not hmac.compare_digest(found.token_hash, digest):
        return None
    return found


def integration_site_ids(integration: ArmIntegration) -> set[int]:
    return set(
        db.session.scalars(
            select(ArmIntegrationSite.site_id).where(
                ArmIntegrationSite.integration_id == integration.id
            )
        )
    )


# ---------------------------------------------------------------- the API's payload


#: The API's error codes and their messages (English and Traditional Chinese: the reader is
#: a program first, then a person at the monitoring centre).
API_ERRORS = {
    "not_json": ("The body must be JSON.", "內容必須是 JSON。"),
    "bad_shape": ("Send one event object or a list of them.", "請送出一筆事件物件或事件清單。"),
    "empty": ("The list has no events.", "清單中沒有事件。"),
    "too_many": (f"At most {MAX_EVENTS} events per request.", f"每次最多 {MAX_EVENTS} 筆事件。"),
    "not_object": ("Each event must be a JSON object.", "每筆事件必須是 JSON 物件。"),
    "unknown_field": ("This field is not known.", "無此欄位。"),
    "required": ("This field is required.", "此欄位為必填。"),
    "bad_type": ("This field must be a string.", "此欄位必須是字串。"),
    "bad_kind": ('kind must be "arm" or "disarm".', "kind 必須是 arm（設定）或 disarm（解除）。"),
    "bad_time": (
        "occurred_at must be ISO 8601 with a UTC offset, e.g. 2026-11-20T18:05:00+08:00.",
        "occurred_at 必須是含時區的 ISO 8601 時間，例如 2026-11-20T18:05:00+08:00。",
    ),
    "time_out_of_range": (
        "occurred_at is in the future or more than 400 days ago.",
        "occurred_at 在未來或超過 400 天前。",
    ),
    "bad_external_id": ("external_id: 1 to 100 characters.", "external_id 須為 1 至 100 個字元。"),
    "bad_user_code": (
        "user_code: up to 20 letters, digits or dashes.",
        "user_code（使用者編號）最多 20 個英數字或連字號。",
    ),
    "site_not_allowed": (
        "This integration may not post events for this site.",
        "此介接無權送出此案場的事件。",
    ),
    "external_id_conflict": (
        "This external_id was already used for a different event.",
        "此 external_id 已用於另一筆不同的事件。",
    ),
    "duplicate_in_request": (
        "This external_id appears twice in the request.",
        "此 external_id 在同一請求中重複。",
    ),
}

API_FIELDS = ("site", "kind", "occurred_at", "external_id", "user_code")


def api_error(code: str, *, index: int | None = None, field: str | None = None) -> dict[str, Any]:
    english, chinese = API_ERRORS[code]
    error: dict[str, Any] = {"code": code, "message": english, "message_zh": chinese}
    if index is not None:
        error["index"] = index
    if field is not None:
        error["field"] = field
    return error


class ApiRefusal(Exception):
    """A request the API refuses as a whole: its status and its errors."""

    def __init__(self, status: int, errors: list[dict[str, Any]]):
        super().__init__(errors[0]["code"] if errors else str(status))
        self.status = status
        self.errors = errors


def parse_instant(value: str) -> datetime | None:
    """ISO 8601 with an offset (or Z); None if it has none or does not parse."""
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    return parsed.astimezone(UTC)


def parse_api_events(body: Any, integration: ArmIntegration, *, now: datetime) -> list[EventInput]:
    """Check every event of the body; raise ApiRefusal with all the errors found (422), or
    with the events of sites outside the integration's scope (403). Nothing is written."""
    if isinstance(body, dict):
        body = [body]
    if not isinstance(body, list):
        raise ApiRefusal(422, [api_error("bad_shape")])
    if not body:
        raise ApiRefusal(422, [api_error("empty")])
    if len(body) > MAX_EVENTS:
        raise ApiRefusal(422, [api_error("too_many")])
    errors: list[dict[str, Any]] = []
    parsed: list[tuple[int, dict[str, Any]]] = []
    seen_ids: set[str] = set()
    for index, raw in enumerate(body):
        if not isinstance(raw, dict):
            errors.append(api_error("not_object", index=index))
            continue
        mine = []
        for name in sorted(set(raw) - set(API_FIELDS)):
            mine.append(api_error("unknown_field", index=index, field=str(name)[:40]))
        values: dict[str, Any] = {}
        for name in API_FIELDS:
            value = raw.get(name)
            if value is None or value == "":
                if name != "user_code":
                    mine.append(api_error("required", index=index, field=name))
                continue
            if not isinstance(value, str):
                mine.append(api_error("bad_type", index=index, field=name))
                continue
            values[name] = value.strip()
        if "kind" in values and values["kind"] not in KINDS:
            mine.append(api_error("bad_kind", index=index, field="kind"))
        if "occurred_at" in values:
            instant = parse_instant(values["occurred_at"])
            if instant is None:
                mine.append(api_error("bad_time", index=index, field="occurred_at"))
            elif not check_time(instant, now):
                mine.append(api_error("time_out_of_range", index=index, field="occurred_at"))
            values["occurred_at"] = instant
        if "external_id" in values:
            if not 1 <= len(values["external_id"]) <= 100:
                mine.append(api_error("bad_external_id", index=index, field="external_id"))
            elif values["external_id"] in seen_ids:
                mine.append(api_error("duplicate_in_request", index=index, field="external_id"))
            seen_ids.add(values["external_id"])
        if not USER_CODE.match(values.get("user_code", "")):
            mine.append(api_error("bad_user_code", index=index, field="user_code"))
        errors.extend(mine)
        if not mine:
            parsed.append((index, values))
    # The sites: by code, within the integration's scope (an unknown code is outside it too,
    # so a token cannot probe which codes exist).
    codes = {values["site"] for _, values in parsed}
    allowed = integration_site_ids(integration)
    sites = {
        s.code: s
        for s in db.session.scalars(
            select(Site).where(Site.code.in_(codes), Site.id.in_(allowed), Site.is_active)
        )
    }
    outside = [
        api_error("site_not_allowed", index=index, field="site")
        for index, values in parsed
        if values["site"] not in sites
    ]
    if errors:
        raise ApiRefusal(422, sorted(errors + outside, key=lambda e: e.get("index", -1)))
    if outside:
        raise ApiRefusal(403, outside)
    items = [
        EventInput(
            site=sites[values["site"]],
            kind=values["kind"],
            occurred_at=values["occurred_at"],
            user_code=values.get("user_code", ""),
            external_id=values["external_id"],
        )
        for _, values in parsed
    ]
    known = existing_by_external_id(integration.id, [i.external_id for i in items])
    conflicts = [
        api_error("external_id_conflict", index=index, field="external_id")
        for index, item in enumerate(items)
        if item.external_id in known and not _same(known[item.external_id], item)
    ]
    if conflicts:
        raise ApiRefusal(422, conflicts)
    return items


def post_events(integration: ArmIntegration, body: Any, *, now: datetime) -> Recorded:
    """The API call: check everything, then record all events (or none); audited."""
    items = parse_api_events(body, integration, now=now)
    result = record_events(items, source="api", integration=integration)
    integration.last_used_at = now
    db.session.flush()
    audit.record(
        "arming.api",
        actor_name=f"integration:{integration.id}",
        target=f"arm_integration:{integration.id}",
        detail={
            "events": len(items),
            "created": len(result.created),
            "duplicates": len(result.duplicates),
            "site_ids": sorted({i.site.id for i in items}),
        },
    )
    return result


def audit_api_refusal(
    integration: ArmIntegration | None, *, status: int, reason: str, events: int | None = None
) -> None:
    """A refused API call leaves its trace (the caller commits it after the rollback)."""
    audit.record(
        "arming.api",
        actor_name=f"integration:{integration.id}" if integration else "",
        target=f"arm_integration:{integration.id}" if integration else "",
        outcome="denied" if status in (401, 403) else "refused",
        detail={"status": status, "reason": reason, **({"events": events} if events else {})},
    )


# ---------------------------------------------------------------- CSV import

#: The template's headers (Chinese, whatever the reader's language), and the English ones
#: a file may use instead.
CSV_HEADERS = ("案場代碼", "設定/解除", "時間", "使用者編號", "外部編號")
CSV_ALIASES = {
    "site": ("案場代碼", "site", "site_code"),
    "kind": ("設定/解除", "設定／解除", "kind"),
    "occurred_at": ("時間", "occurred_at", "time"),
    "user_code": ("使用者編號", "user_code"),
    "external_id": ("外部編號", "external_id"),
}
CSV_KINDS = {"設定": "arm", "解除": "disarm", "arm": "arm", "disarm": "disarm"}
CSV_TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M")

CSV_ERRORS = {
    "encoding": _l("The file is neither UTF-8 nor Big5 text."),
    "no_header": _l("The first row must name the columns: 案場代碼, 設定/解除, 時間."),
    "missing_column": _l("Column missing: %(column)s."),
    "too_many": _l("At most %(max)d rows per file.", max=MAX_EVENTS),
    "site": _l("No site with this code among your sites."),
    "kind": _l("Write 設定 (arm) or 解除 (disarm)."),
    "time": _l("Write the time as 2026-11-20 18:05 (Taiwan time), or ISO 8601 with an offset."),
    "time_range": _l("The time is in the future or more than 400 days ago."),
    "user_code": _l("Up to 20 letters, digits or dashes."),
    "external_id": _l("At most 100 characters."),
    "repeated": _l("The same event appears twice in the file."),
}


@dataclass
class CsvRow:
    line: int
    values: dict[str, str]
    item: EventInput | None = None
    is_duplicate: bool = False


@dataclass
class CsvError:
    line: int | None
    column: str
    key: str
    column_label: str = ""

    @property
    def message(self) -> str:
        text = CSV_ERRORS[self.key]
        if self.key == "missing_column":
            return str(text) % {"column": self.column_label}
        return str(text)


@dataclass
class CsvPreview:
    rows: list[CsvRow]
    errors: list[CsvError]

    @property
    def is_valid(self) -> bool:
        return not self.errors and any(r.item for r in self.rows)

    @property
    def new_count(self) -> int:
        return sum(1 for r in self.rows if r.item is not None and not r.is_duplicate)

    @property
    def duplicate_count(self) -> int:
        return sum(1 for r in self.rows if r.is_duplicate)


def decode_csv(data: bytes) -> str | None:
    """UTF-8 (with or without a byte-order mark), else Big5 (cp950, as Excel in Taiwan saves)."""
    for encoding in ("utf-8-sig", "cp950"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


def _csv_time(text: str) -> datetime | None:
    instant = parse_instant(text) if ("+" in text or text.endswith("Z")) else None
    if instant is not None:
        return instant
    for pattern in CSV_TIME_FORMATS:
        try:
            return datetime.strptime(text.strip(), pattern).replace(tzinfo=TAIPEI).astimezone(UTC)
        except ValueError:
            continue
    return None


def preview_csv(data: bytes, *, user, now: datetime) -> CsvPreview:
    """Every row parsed and checked against the user's sites; nothing is written."""
    text = decode_csv(data)
    if text is None:
        return CsvPreview([], [CsvError(None, "", "encoding")])
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if not header:
        return CsvPreview([], [CsvError(None, "", "no_header")])
    names = [h.strip() for h in header]
    columns: dict[str, int] = {}
    for key, aliases in CSV_ALIASES.items():
        for position, name in enumerate(names):
            if name in aliases or name.lower() in aliases:
                columns[key] = position
                break
    missing = [
        CsvError(None, key, "missing_column", column_label=CSV_ALIASES[key][0])
        for key in ("site", "kind", "occurred_at")
        if key not in columns
    ]
    if missing:
        return CsvPreview([], missing)
    rows: list[CsvRow] = []
    for line, record in enumerate(reader, start=2):
        if not any(cell.strip() for cell in record):
            continue
        values = {
            key: (record[pos].strip() if pos < len(record) else "") for key, pos in columns.items()
        }
        rows.append(CsvRow(line=line, values=values))
        if len(rows) > MAX_EVENTS:
            return CsvPreview(rows[:MAX_EVENTS], [CsvError(line, "", "too_many")])
    codes = {r.values["site"] for r in rows}
    sites = {
        s.code: s
        for s in db.session.scalars(
            select(Site).where(Site.code.in_(codes), policy.arming_sites_clause(user))
        )
    }
    errors: list[CsvError] = []
    seen: set[tuple[int, str, datetime]] = set()
    for row in rows:
        mine = []
        site = sites.get(row.values["site"])
        if site is None:
            mine.append(CsvError(row.line, "site", "site"))
        kind = CSV_KINDS.get(row.values["kind"].lower())
        if kind is None:
            mine.append(CsvError(row.line, "kind", "kind"))
        instant = _csv_time(row.values["occurred_at"])
        if instant is None:
            mine.append(CsvError(row.line, "occurred_at", "time"))
        elif not check_time(instant, now):
            mine.append(CsvError(row.line, "occurred_at", "time_range"))
        code = row.values.get("user_code", "")
        if not USER_CODE.match(code):
            mine.append(CsvError(row.line, "user_code", "user_code"))
        external = row.values.get("external_id", "")
        if len(external) > 100:
            mine.append(CsvError(row.line, "external_id", "external_id"))
        if not mine:
            key = (site.id, kind, instant)
            if key in seen:
                mine.append(CsvError(row.line, "occurred_at", "repeated"))
            seen.add(key)
        errors.extend(mine)
        if not mine:
            row.item = EventInput(
                site=site,
                kind=kind,
                occurred_at=instant,
                user_code=code,
                external_id=external or None,
            )
    known = existing_same([r.item for r in rows if r.item])
    for row in rows:
        if row.item and (row.item.site.id, row.item.kind, row.item.occurred_at) in known:
            row.is_duplicate = True
    return CsvPreview(rows, errors)


def import_csv(data: bytes, *, user, now: datetime, filename: str = "") -> Recorded:
    """Import the file's events, all of them or, if any row has an error, none."""
    preview = preview_csv(data, user=user, now=now)
    if preview.errors:
        raise ArmingError("csv_invalid")
    if not preview.rows:
        raise ArmingError("csv_empty")
    items = [r.item for r in preview.rows if r.item is not None]
    result = record_events(items, source="csv", user=user)
    audit.record(
        "arming.csv_import",
        actor=user,
        target="arm_event",
        detail={
            "file": filename[:100],
            "rows": len(items),
            "created": len(result.created),
            "duplicates": len(result.duplicates),
            "site_ids": sorted({i.site.id for i in items}),
        },
    )
    return result


def csv_template() -> str:
    """The template file: the headers and two example rows."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADERS)
    writer.writerow(["TPE-0001", "解除", "2026-11-20 08:52", "01", ""])
    writer.writerow(["TPE-0001", "設定", "2026-11-20 18:05", "01", ""])
    return out.getvalue()


# ---------------------------------------------------------------- the jobs


def notify_not_armed(now: datetime) -> int:
    """Each monitored site whose closing plus grace passed within the last day without being
    armed notifies its supervisors (or the managers), once per site and Taipei day."""
    today = now.astimezone(TAIPEI).date()
    days = [today - timedelta(days=1), today]
    site_ids = list(
        db.session.scalars(
            select(OpeningHours.site_id)
            .join(Site, Site.id == OpeningHours.site_id)
            .where(Site.is_active.is_(True))
            .distinct()
        )
    )
    if not site_ids:
        return 0
    hours = _hours_by_site(site_ids)
    due: list[tuple[int, date]] = []
    for site_id in site_ids:
        for day in days:
            window = arm_deadline(hours[site_id], day)
            if window is not None and now - timedelta(days=1) < window[1] <= now:
                due.append((site_id, day))
    if not due:
        return 0
    keys = {(s, d): f"arming:not_armed:{s}:{d.isoformat()}" for s, d in due}
    already = notifications.notified_keys(list(keys.values()))
    due = [(s, d) for s, d in due if keys[(s, d)] not in already]
    if not due:
        return 0
    start = _at(days[0], time(0))
    events = db.session.scalars(
        select(ArmEvent)
        .where(
            ArmEvent.site_id.in_({s for s, _ in due}),
            ArmEvent.occurred_at >= start,
            ArmEvent.occurred_at <= now,
        )
        .order_by(ArmEvent.occurred_at, ArmEvent.id)
    ).all()
    due_sites = {s for s, _ in due}
    sites = {s.id: s for s in db.session.scalars(select(Site).where(Site.id.in_(due_sites)))}
    first = {
        row.site_id: _aware(row.first)
        for row in db.session.execute(
            select(ArmEvent.site_id, func.min(ArmEvent.occurred_at).label("first"))
            .where(ArmEvent.site_id.in_(due_sites))
            .group_by(ArmEvent.site_id)
        )
    }
    count = 0
    for site_id, day in due:
        mine = [e for e in events if e.site_id == site_id]
        row = _day_rows(hours[site_id], mine, [day], now, since=first.get(site_id))[0]
        if not (row.is_not_armed or row.is_late):
            continue
        site = sites[site_id]
        count += len(
            notifications.notify(
                notifications.site_supervisors_or_managers(site_id),
                kind="site_not_armed",
                dedupe_key=keys[(site_id, day)],
                subject=f"{site.name} · {day.isoformat()}",
                link=f"/sites/{site_id}/arming",
            )
        )
    db.session.flush()
    return count


def notify_out_of_hours(now: datetime) -> int:
    """Each disarm outside opening hours notifies the site's supervisors (or the managers),
    once per event (marked on the row, and deduplicated by the notifications too)."""
    events = db.session.scalars(
        select(ArmEvent)
        .options(selectinload(ArmEvent.site))
        .where(
            ArmEvent.is_out_of_hours.is_(True),
            ArmEvent.out_of_hours_notified_at.is_(None),
        )
        .order_by(ArmEvent.id)
        .limit(500)
    ).all()
    count = 0
    for event in events:
        local = event.occurred_at.astimezone(TAIPEI)
        # A disarm long past (an old CSV) is marked, not announced.
        if now - event.occurred_at < timedelta(days=2):
            count += len(
                notifications.notify(
                    notifications.site_supervisors_or_managers(event.site_id),
                    kind="disarm_out_of_hours",
                    dedupe_key=f"arming:out_of_hours:{event.id}",
                    subject=f"{event.site.name} · {local:%Y-%m-%d %H:%M}",
                    link=f"/sites/{event.site_id}/arming",
                )
            )
        event.out_of_hours_notified_at = now
    db.session.flush()
    return count


def count_events(site_id: int) -> int:
    return db.session.scalar(select(func.count(ArmEvent.id)).where(ArmEvent.site_id == site_id))

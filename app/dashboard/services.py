"""The manager's dashboard: a period's figures over the sites a user may see, filtered by
client, supervisor and site.

Every figure is an aggregate the database computes (GROUP BY, COUNT, AVG), and the number of
statements is fixed whatever the data: a year at 500 sites sends as many as a day at one.
Trends are counted into buckets (weeks, or months for long periods) whose edges are worked
out here and handed to SQL as a CASE, which SQLite and PostgreSQL read alike.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Select, and_, case, exists, func, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import Float

from app.arming import services as arming
from app.auth import policy
from app.auth.models import User
from app.briefings import compliance
from app.briefings import services as briefings
from app.briefings.models import Acknowledgement, Briefing, BriefingSite, BriefingUser
from app.db import utcnow
from app.extensions import db
from app.i18n import TAIPEI
from app.incidents.models import CATEGORIES, FALSE_ALARM_CAUSES, AlarmResponse, Incident
from app.inspections.models import Answer, ChecklistItem, Inspection
from app.maintenance import services as maintenance
from app.maintenance.models import OPEN_TICKET_STATUSES, RepairTicket
from app.sites.models import Client, Equipment, Site, SiteAssignment

#: The default period: the last 30 Taipei days, today included.
DEFAULT_DAYS = 30
#: Periods up to this many days trend by week; longer ones by month.
WEEKLY_UP_TO_DAYS = 92
#: The most failed checklist items shown.
TOP_FAILED = 10
#: Repairs still waiting for work (a fixed ticket only waits for its verification).
WAITING_TICKET_STATUSES = tuple(s for s in OPEN_TICKET_STATUSES if s != "fixed")
#: Sites not armed on time listed by name (the count covers all).
ARMING_LISTED = 10
#: Training statuses that still count as current (expiring soon is still valid).
VALID_TRAINING = ("current", "expiring")


@dataclass(frozen=True)
class Period:
    """Taipei days, both included."""

    first: date
    last: date

    @property
    def since(self) -> datetime:
        return _day_start(self.first)

    @property
    def until(self) -> datetime:
        return _day_start(self.last + timedelta(days=1))

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def query(self) -> dict[str, str]:
        return {"from": self.first.isoformat(), "to": self.last.isoformat()}


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=TAIPEI).astimezone(UTC)


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def preset_period(name: str, *, today: date) -> Period | None:
    """The named periods: this month, last month, the last 12 months (to today)."""
    if name == "this_month":
        return Period(_month_start(today), today)
    if name == "last_month":
        first = _add_months(_month_start(today), -1)
        return Period(first, _month_start(today) - timedelta(days=1))
    if name == "12_months":
        return Period(_add_months(_month_start(today), -11), today)
    return None


def period_of(first: date | None, last: date | None, *, today: date) -> Period:
    """The period asked for; the last 30 days unless one is given; days in order."""
    last = last or today
    first = first or last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        first, last = last, first
    return Period(first, last)


@dataclass(frozen=True)
class Filters:
    period: Period
    client_id: int | None = None
    supervisor_id: int | None = None
    site_id: int | None = None

    def query(self, **extra) -> dict[str, str | int]:
        """The query string of a link that keeps these filters."""
        args: dict[str, str | int] = dict(self.period.query())
        for key, value in (
            ("client", self.client_id),
            ("supervisor", self.supervisor_id),
            ("site", self.site_id),
        ):
            if value:
                args[key] = value
        args.update(extra)
        return args


def scoped_site_ids(user, filters: Filters) -> Select:
    """SQL: ids of the sites the figures cover — those the user may see, narrowed by the
    filters (a supervisor filter means the sites he is assigned to)."""
    stmt = select(Site.id).where(policy.visible_sites_clause(user))
    if filters.client_id:
        stmt = stmt.where(Site.client_id == filters.client_id)
    if filters.site_id:
        stmt = stmt.where(Site.id == filters.site_id)
    if filters.supervisor_id:
        stmt = stmt.where(
            Site.id.in_(
                select(SiteAssignment.site_id).where(
                    SiteAssignment.user_id == filters.supervisor_id
                )
            )
        )
    return stmt


# ---------------------------------------------------------------- trend buckets


@dataclass
class Bucket:
    first: date
    last: date
    count: int = 0
    value: float | None = None

    def query(self, extra: dict | None = None) -> dict:
        """The query string of a link to the bucket's rows (with the site filter)."""
        return {"from": self.first.isoformat(), "to": self.last.isoformat(), **(extra or {})}


def buckets(period: Period) -> tuple[str, list[Bucket]]:
    """The trend's buckets: ISO weeks (Monday first) for up to three months, months beyond;
    the first and last cut to the period."""
    result = []
    if period.days <= WEEKLY_UP_TO_DAYS:
        unit = "week"
        start = period.first - timedelta(days=period.first.weekday())
        while start <= period.last:
            end = start + timedelta(days=6)
            result.append(Bucket(max(start, period.first), min(end, period.last)))
            start = end + timedelta(days=1)
    else:
        unit = "month"
        start = _month_start(period.first)
        while start <= period.last:
            end = _add_months(start, 1) - timedelta(days=1)
            result.append(Bucket(max(start, period.first), min(end, period.last)))
            start = end + timedelta(days=1)
    return unit, result


def _bucket_of(column, edges: list[Bucket]):
    """SQL: the index of the bucket an instant falls in (edges at Taipei midnights)."""
    whens = [(column < _day_start(b.last + timedelta(days=1)), i) for i, b in enumerate(edges)]
    return case(*whens, else_=len(edges) - 1)


# ---------------------------------------------------------------- seconds between instants


class _seconds_between(FunctionElement):
    """SQL: seconds from one timestamp to another, on SQLite and PostgreSQL."""

    type = Float()
    inherit_cache = True
    name = "seconds_between"


@compiles(_seconds_between)
def _seconds_between_default(element, compiler, **kw):
    start, end = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"EXTRACT(EPOCH FROM ({end} - {start}))"


@compiles(_seconds_between, "sqlite")
def _seconds_between_sqlite(element, compiler, **kw):
    start, end = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"((julianday({end}) - julianday({start})) * 86400.0)"


def nearest_rank(fraction: float, count: int) -> int:
    """The 0-based row of a percentile by the nearest-rank method (the median of 4 values is
    the 2nd, their 90th percentile the 4th)."""
    return max(0, math.ceil(fraction * count) - 1)


# ---------------------------------------------------------------- the figures


@dataclass
class Counted:
    key: str
    count: int
    label_zh: str = ""
    label_en: str = ""
    item_id: int | None = None


@dataclass
class Figures:
    filters: Filters
    today: date
    trend_unit: str
    sites: int = 0
    sites_covered: int = 0
    inspections: int = 0
    average_score: float | None = None
    score_trend: list[Bucket] = field(default_factory=list)
    failed_items: list[Counted] = field(default_factory=list)
    incidents: int = 0
    incidents_by_category: list[Counted] = field(default_factory=list)
    incident_trend: list[Bucket] = field(default_factory=list)
    alarms: int = 0
    alarms_closed: int = 0
    false_alarms: int = 0
    arrivals: int = 0
    arrival_median_s: float | None = None
    arrival_p90_s: float | None = None
    repairs_open: int = 0
    repairs_overdue: int = 0
    maintenance_overdue: int = 0
    guards: int = 0
    guards_current: int = 0
    guards_meeting_hours: int = 0
    month_hours: float = 0.0
    training_month: date | None = None
    acks_due: int = 0
    acks_done: int = 0
    #: Sites not armed on time (or armed late) on a day of `arming_days` (the period's days up
    #: to today), with how many days.
    not_armed: list[tuple[Site, int]] = field(default_factory=list)
    not_armed_sites: int = 0
    arming_days: list[date] = field(default_factory=list)

    @property
    def ack_pct(self) -> float | None:
        return 100.0 * self.acks_done / self.acks_due if self.acks_due else None

    @property
    def coverage_pct(self) -> float | None:
        return 100.0 * self.sites_covered / self.sites if self.sites else None

    @property
    def false_alarm_pct(self) -> float | None:
        return 100.0 * self.false_alarms / self.alarms_closed if self.alarms_closed else None

    @property
    def max_failed(self) -> int:
        return max((c.count for c in self.failed_items), default=0)

    @property
    def max_category(self) -> int:
        return max((c.count for c in self.incidents_by_category), default=0)

    @property
    def max_incident_bucket(self) -> int:
        return max((b.count for b in self.incident_trend), default=0)


def figures(user, filters: Filters, *, today: date) -> Figures:
    """Every figure of the dashboard, in a fixed number of statements."""
    period = filters.period
    unit, score_buckets = buckets(period)
    _, incident_buckets = buckets(period)
    result = Figures(filters=filters, today=today, trend_unit=unit)
    sites = scoped_site_ids(user, filters)
    _inspections(result, sites, period, score_buckets)
    _failed_items(result, sites, period)
    _incidents(result, sites, period, incident_buckets)
    _alarms(result, sites, period)
    _repairs(result, user, sites, today)
    _training(result, user, sites, period)
    _acknowledgements(result, user, sites, period)
    _arming(result, sites, period)
    return result


def _inspections(result: Figures, sites: Select, period: Period, edges: list[Bucket]) -> None:
    """Coverage (one row per site: its interval and last inspection up to the period's end),
    then the average score overall and per bucket."""
    submitted = and_(
        Inspection.status != "draft",
        Inspection.submitted_at.is_not(None),
        Inspection.submitted_at < period.until,
    )
    # Each site's last submission. Only submit() sets submitted_at (a draft has none), so
    # the status test is left out here: without it SQLite reads each site's newest entry of
    # the site-and-time index instead of walking its year (a year at 500 sites: 285 → 46 ms).
    last = (
        select(Inspection.site_id, func.max(Inspection.submitted_at).label("last_at"))
        .where(
            Inspection.submitted_at.is_not(None),
            Inspection.submitted_at < period.until,
            Inspection.site_id.in_(sites),
        )
        .group_by(Inspection.site_id)
        .subquery()
    )
    rows = db.session.execute(
        select(Site.inspection_interval_days, last.c.last_at)
        .outerjoin(last, last.c.site_id == Site.id)
        .where(Site.id.in_(sites))
    ).all()
    result.sites = len(rows)
    end = period.until
    for interval, last_at in rows:
        if last_at is None:
            continue
        if last_at.tzinfo is None:
            last_at = last_at.replace(tzinfo=UTC)
        if last_at >= end - timedelta(days=interval or 0):
            result.sites_covered += 1
    bucket = _bucket_of(Inspection.submitted_at, edges).label("bucket")
    trend = db.session.execute(
        select(bucket, func.count(), func.avg(Inspection.score))
        .where(
            submitted,
            Inspection.submitted_at >= period.since,
            Inspection.site_id.in_(sites),
        )
        .group_by(bucket)
    ).all()
    total = 0.0
    scored = 0
    for index, count, average in trend:
        edges[index].count = count
        edges[index].value = float(average) if average is not None else None
        result.inspections += count
        if average is not None:
            total += float(average) * count
            scored += count
    result.average_score = total / scored if scored else None
    result.score_trend = edges


def _failed_items(result: Figures, sites: Select, period: Period) -> None:
    """The checklist items failed most often in the period's inspections. Only inspections
    with a failure are looked into (`failed_count`), and the answers are counted per item
    before the ten items' texts are joined: a year's two million answers stay in the index."""
    failing = select(Inspection.id).where(
        Inspection.status != "draft",
        Inspection.failed_count > 0,
        Inspection.submitted_at >= period.since,
        Inspection.submitted_at < period.until,
        Inspection.site_id.in_(sites),
    )
    counted = (
        select(Answer.item_id, func.count().label("failures"))
        .where(Answer.inspection_id.in_(failing), Answer.is_pass.is_(False))
        .group_by(Answer.item_id)
        .order_by(func.count().desc(), Answer.item_id)
        .limit(TOP_FAILED)
        .subquery()
    )
    rows = db.session.execute(
        select(ChecklistItem.id, ChecklistItem.text_zh, ChecklistItem.text_en, counted.c.failures)
        .join(counted, counted.c.item_id == ChecklistItem.id)
        .order_by(counted.c.failures.desc(), ChecklistItem.id)
    ).all()
    result.failed_items = [
        Counted(key=str(i), count=n, label_zh=zh, label_en=en, item_id=i) for i, zh, en, n in rows
    ]


def _incidents(result: Figures, sites: Select, period: Period, edges: list[Bucket]) -> None:
    """Incidents by category and by bucket: one statement grouped by both."""
    bucket = _bucket_of(Incident.occurred_at, edges).label("bucket")
    rows = db.session.execute(
        select(Incident.category, bucket, func.count())
        .where(
            Incident.occurred_at >= period.since,
            Incident.occurred_at < period.until,
            Incident.site_id.in_(sites),
        )
        .group_by(Incident.category, bucket)
    ).all()
    by_category = dict.fromkeys(CATEGORIES, 0)
    for category, index, count in rows:
        by_category[category] = by_category.get(category, 0) + count
        edges[index].count += count
        result.incidents += count
    result.incidents_by_category = sorted(
        (Counted(key=c, count=n) for c, n in by_category.items() if n),
        key=lambda c: (-c.count, c.key),
    )
    result.incident_trend = edges


def _alarms(result: Figures, sites: Select, period: Period) -> None:
    """Alarms received in the period: counts, false alarms among the closed, and the median
    and 90th percentile of the arrival time (nearest rank: the row at that place in order)."""
    in_period = and_(
        AlarmResponse.received_at >= period.since,
        AlarmResponse.received_at < period.until,
        AlarmResponse.site_id.in_(sites),
    )
    is_false = and_(
        AlarmResponse.cleared_at.is_not(None),
        AlarmResponse.cause.in_(sorted(FALSE_ALARM_CAUSES)),
    )
    alarms, closed, false_alarms, arrived = db.session.execute(
        select(
            func.count(),
            func.count(AlarmResponse.cleared_at),
            func.coalesce(func.sum(case((is_false, 1), else_=0)), 0),
            func.count(AlarmResponse.arrived_at),
        ).where(in_period)
    ).one()
    result.alarms, result.alarms_closed = alarms, closed
    result.false_alarms, result.arrivals = int(false_alarms), arrived
    if not arrived:
        return
    # One sort: the arrival times numbered in order, the two ranks picked out.
    seconds = _seconds_between(AlarmResponse.received_at, AlarmResponse.arrived_at)
    ranked = (
        select(seconds.label("seconds"), func.row_number().over(order_by=seconds).label("rank"))
        .where(in_period, AlarmResponse.arrived_at.is_not(None))
        .subquery()
    )
    median, p90 = nearest_rank(0.5, arrived) + 1, nearest_rank(0.9, arrived) + 1
    found = dict(
        db.session.execute(
            select(ranked.c.rank, ranked.c.seconds).where(ranked.c.rank.in_((median, p90)))
        ).all()
    )
    result.arrival_median_s = float(found[median]) if found.get(median) is not None else None
    result.arrival_p90_s = float(found[p90]) if found.get(p90) is not None else None


def _repairs(result: Figures, user, sites: Select, today: date) -> None:
    """Repairs open now, those past their due date, and equipment whose maintenance is."""
    overdue = and_(
        RepairTicket.status.in_(WAITING_TICKET_STATUSES),
        RepairTicket.due_on.is_not(None),
        RepairTicket.due_on < today,
    )
    opened, late = db.session.execute(
        select(func.count(), func.coalesce(func.sum(case((overdue, 1), else_=0)), 0)).where(
            RepairTicket.status.in_(OPEN_TICKET_STATUSES), RepairTicket.site_id.in_(sites)
        )
    ).one()
    result.repairs_open, result.repairs_overdue = opened, int(late)
    due = maintenance.overdue_equipment_query(user, today=today).where(Equipment.site_id.in_(sites))
    result.maintenance_overdue = db.session.scalar(
        select(func.count()).select_from(due.order_by(None).subquery())
    )


def _training(result: Figures, user, sites: Select, period: Period) -> None:
    """Guards in the user's care who serve the sites: how many have every topic current,
    and, in the period's last month, how many have their 4 on-the-job hours (§10-2)."""
    in_scope = select(SiteAssignment.user_id).where(SiteAssignment.site_id.in_(sites))
    guards = list(
        db.session.scalars(briefings.people_in_care_query(user).where(User.id.in_(in_scope)))
    )
    result.guards = len(guards)
    month = _month_start(period.last)
    result.training_month = month
    if not guards:
        return
    statuses = briefings.training_statuses(guards, today=min(result.today, period.last))
    result.guards_current = sum(
        1 for g in guards if all(s.status in VALID_TRAINING for s in statuses[g.id])
    )
    hours = compliance.hours_by_user(
        select(User.id).where(User.id.in_([g.id for g in guards])), month
    )
    for g in guards:
        on_the_job = hours.get(g.id, (0.0, 0.0))[0]
        result.month_hours += on_the_job
        result.guards_meeting_hours += on_the_job >= compliance.MONTHLY_HOURS


def _guard_addressed():
    """SQL, correlated on `Briefing` and a guard's `User` row: the briefing is addressed to
    him (all guards, the pledge, one of his sites, or him by name), as the inbox resolves it."""
    return or_(
        Briefing.audience.in_(("all_guards", "confidential")),
        and_(
            Briefing.audience == "sites",
            exists().where(
                BriefingSite.briefing_id == Briefing.id,
                BriefingSite.site_id == SiteAssignment.site_id,
                SiteAssignment.user_id == User.id,
            ),
        ),
        and_(
            Briefing.audience == "users",
            exists().where(
                BriefingUser.briefing_id == Briefing.id, BriefingUser.user_id == User.id
            ),
        ),
    )


def _acknowledgements(result: Figures, user, sites: Select, period: Period) -> None:
    """Of the briefings published in the period that ask for it, addressed to the guards who
    serve the sites: the (briefing, guard) pairs, and those acknowledged in the current version.

    One statement, counted by audience rather than pair by pair (a year's 150 briefings and
    240 guards would be 36 000 pairs): every guard for the briefings to all, the guards of the
    briefing's sites, the guards named; and the acknowledgements whose pair is addressed."""
    in_scope = select(SiteAssignment.user_id).where(SiteAssignment.site_id.in_(sites))
    guards = (
        briefings.people_in_care_query(user)
        .where(User.id.in_(in_scope))
        .with_only_columns(User.id)
        .order_by(None)
    )
    asked = and_(
        Briefing.status == "published",
        Briefing.requires_ack.is_(True),
        Briefing.published_at >= period.since,
        Briefing.published_at < period.until,
    )
    to_all = (
        select(func.count())
        .select_from(Briefing)
        .where(asked, Briefing.audience.in_(("all_guards", "confidential")))
        .scalar_subquery()
    )
    guard_count = select(func.count()).select_from(guards.subquery()).scalar_subquery()
    site_pairs = (
        select(BriefingSite.briefing_id, SiteAssignment.user_id)
        .join(SiteAssignment, SiteAssignment.site_id == BriefingSite.site_id)
        .join(Briefing, Briefing.id == BriefingSite.briefing_id)
        .where(asked, Briefing.audience == "sites", SiteAssignment.user_id.in_(guards))
        .distinct()
        .subquery()
    )
    to_sites = select(func.count()).select_from(site_pairs).scalar_subquery()
    to_users = (
        select(func.count())
        .select_from(BriefingUser)
        .join(Briefing, Briefing.id == BriefingUser.briefing_id)
        .where(asked, Briefing.audience == "users", BriefingUser.user_id.in_(guards))
        .scalar_subquery()
    )
    done = (
        select(func.count())
        .select_from(Acknowledgement)
        .join(
            Briefing,
            and_(
                Briefing.id == Acknowledgement.briefing_id,
                Briefing.version == Acknowledgement.version,
            ),
        )
        .join(User, User.id == Acknowledgement.user_id)
        .where(asked, User.id.in_(guards), _guard_addressed())
        .scalar_subquery()
    )
    briefings_to_all, guard_total, sites_due, users_due, acknowledged = db.session.execute(
        select(to_all, guard_count, to_sites, to_users, done)
    ).one()
    result.acks_due = briefings_to_all * guard_total + sites_due + users_due
    result.acks_done = acknowledged


def _arming(result: Figures, sites: Select, period: Period) -> None:
    """Sites not armed on time on a day of the period (up to today), judged in SQL."""
    last = min(period.last, result.today)
    result.arming_days = [
        period.first + timedelta(days=n) for n in range((last - period.first).days + 1)
    ]
    if not result.arming_days:
        return
    counts = arming.not_armed_counts(sites, period.first, last, now=utcnow())
    result.not_armed_sites = len(counts)
    if not counts:
        return
    worst = sorted(counts, key=lambda s: (-counts[s], s))[:ARMING_LISTED]
    by_id = {s.id: s for s in db.session.scalars(select(Site).where(Site.id.in_(worst)))}
    result.not_armed = [(by_id[s], counts[s]) for s in worst]


def filter_choices(user) -> tuple[list[Client], list[User], list[Site]]:
    """The clients, supervisors and sites the filters offer: those of the user's sites."""
    visible = select(Site.id).where(policy.visible_sites_clause(user))
    clients = list(
        db.session.scalars(
            select(Client)
            .where(Client.id.in_(select(Site.client_id).where(Site.id.in_(visible))))
            .order_by(Client.name)
        )
    )
    supervisors = list(
        db.session.scalars(
            select(User)
            .where(
                policy.supervisors_clause(User),
                User.id.in_(
                    select(SiteAssignment.user_id).where(SiteAssignment.site_id.in_(visible))
                ),
            )
            .order_by(User.display_name)
        )
    )
    sites = list(db.session.scalars(select(Site).where(Site.id.in_(visible)).order_by(Site.code)))
    return clients, supervisors, sites

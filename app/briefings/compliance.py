"""The training ledger under 保全業法 §10-2 and 施行細則 §8: each guard's on-the-job hours in a
calendar month (at least 4), his pre-employment training (at least a week: read as 40 hours),
the month's list per guard and per site, its CSV, and the reminder before the month ends.

Dates are Taipei dates (a session's held_on is the day in Taiwan), so a month is the Taipei
calendar month: from its first day to the first day of the next, whatever the server's zone.
"""

from __future__ import annotations

import calendar
import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import and_, case, func, or_, select

from app.auth import policy
from app.auth.models import User
from app.briefings.models import (
    MONTHLY_HOURS,
    PRE_EMPLOYMENT_HOURS,
    TrainingAttendance,
    TrainingSession,
)
from app.briefings.services import csv_cell, people_in_care_query
from app.extensions import db
from app.i18n import TAIPEI
from app.notifications import services as notifications
from app.sites.models import Site, SiteAssignment

#: The reminder goes out in the last this-many days of the month (Taipei dates).
REMIND_IN_LAST_DAYS = 5
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def month_start(value: str | None, *, today: date) -> date:
    """The first day of the month `YYYY-MM`; this month when absent or not a month."""
    match = _MONTH.match(value or "")
    if match:
        year, month = int(match[1]), int(match[2])
        if 2000 <= year <= 2100 and 1 <= month <= 12:
            return date(year, month, 1)
    return today.replace(day=1)


def next_month(first: date) -> date:
    return date(first.year + first.month // 12, first.month % 12 + 1, 1)


def previous_month(first: date) -> date:
    return date(first.year - (first.month == 1), (first.month - 2) % 12 + 1, 1)


def in_last_days(today: date) -> bool:
    """Is `today` (a Taipei date) one of the month's last REMIND_IN_LAST_DAYS days?"""
    last = calendar.monthrange(today.year, today.month)[1]
    return today.day > last - REMIND_IN_LAST_DAYS


@dataclass
class GuardMonth:
    user: User
    hours: float = 0.0
    pre_hours: float = 0.0
    sites: list[Site] = field(default_factory=list)

    @property
    def meets(self) -> bool:
        return self.hours >= MONTHLY_HOURS

    @property
    def missing(self) -> float:
        return max(0.0, MONTHLY_HOURS - self.hours)

    @property
    def pre_done(self) -> bool:
        return self.pre_hours >= PRE_EMPLOYMENT_HOURS


@dataclass
class SiteMonth:
    site: Site
    guards: int = 0
    meeting: int = 0
    hours: float = 0.0

    @property
    def below(self) -> int:
        return self.guards - self.meeting


def hours_by_user(guards, first: date) -> dict[int, tuple[float, float]]:
    """(on-the-job hours in the month, pre-employment hours up to its end) per guard id, for
    the guards selected by `guards` (a subquery of ids): one statement."""
    end = next_month(first)
    in_month = and_(
        TrainingSession.kind == "on_the_job",
        TrainingSession.held_on >= first,
        TrainingSession.held_on < end,
    )
    pre = and_(TrainingSession.kind == "pre_employment", TrainingSession.held_on < end)
    rows = db.session.execute(
        select(
            TrainingAttendance.user_id,
            func.sum(case((in_month, TrainingSession.hours), else_=0)),
            func.sum(case((pre, TrainingSession.hours), else_=0)),
        )
        .join(TrainingSession, TrainingSession.id == TrainingAttendance.session_id)
        .where(TrainingAttendance.user_id.in_(guards), or_(in_month, pre))
        .group_by(TrainingAttendance.user_id)
    )
    return {uid: (float(h or 0), float(p or 0)) for uid, h, p in rows}


def _scope_sites(user):
    """The sites a list covers: a supervisor's own; every site for a manager (None)."""
    if policy.sees_all_sites(user):
        return None
    return select(SiteAssignment.site_id).where(SiteAssignment.user_id == user.id)


def monthly_compliance(user, first: date) -> tuple[list[GuardMonth], list[SiteMonth]]:
    """Per guard in the user's care: on-the-job hours in the month starting `first`, and
    pre-employment hours; per site (of the user's): guards, how many have their 4 hours.
    Three statements however many guards, sites and sessions."""
    guards_query = people_in_care_query(user)
    guards = list(db.session.scalars(guards_query))
    ids = guards_query.with_only_columns(User.id).order_by(None)
    hours = hours_by_user(ids, first)
    assignments = (
        select(SiteAssignment.user_id, Site)
        .join(Site, Site.id == SiteAssignment.site_id)
        .where(SiteAssignment.user_id.in_(ids))
        .order_by(Site.code)
    )
    if (scope := _scope_sites(user)) is not None:
        assignments = assignments.where(SiteAssignment.site_id.in_(scope))
    rows = {g.id: GuardMonth(g, *hours.get(g.id, (0.0, 0.0))) for g in guards}
    by_site: dict[int, SiteMonth] = {}
    for user_id, site in db.session.execute(assignments):
        row = rows[user_id]
        row.sites.append(site)
        summary = by_site.setdefault(site.id, SiteMonth(site))
        summary.guards += 1
        summary.meeting += row.meets
        summary.hours += row.hours
    return list(rows.values()), sorted(by_site.values(), key=lambda s: s.site.code)


def _fmt_hours(value: float) -> str:
    return f"{value:g}"


CSV_HEADER = [
    "月份",
    "帳號",
    "姓名",
    "服務案場",
    "本月在職訓練時數",
    "在職訓練（每月至少4小時）",
    "職前訓練時數",
    "職前訓練（至少一週，以40小時計）",
    "匯出時間（台北時間）",
]


def monthly_csv(rows: list[GuardMonth], first: date, *, now: datetime) -> str:
    """The month's list in Chinese, whatever the reader's language (保全業法 §10-2 records
    are shown to the authorities as they are), with the export time in Taipei."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    exported = now.astimezone(TAIPEI).strftime("%Y-%m-%d %H:%M（UTC+8）")
    for row in rows:
        on_the_job = "已達4小時" if row.meets else f"未達4小時（尚缺{_fmt_hours(row.missing)}小時）"
        cells = [
            f"{first.year}-{first.month:02d}",
            row.user.username,
            row.user.display_name,
            "、".join(f"{s.code} {s.name}" for s in row.sites),
            _fmt_hours(row.hours),
            on_the_job,
            _fmt_hours(row.pre_hours),
            "已完成" if row.pre_done else "未完成",
            exported,
        ]
        writer.writerow([csv_cell(c) for c in cells])
    return out.getvalue()


def notify_short_of_hours(now: datetime) -> int:
    """In the month's last REMIND_IN_LAST_DAYS days (Taipei), each active guard below
    MONTHLY_HOURS on-the-job hours this month is told, and so are his sites' supervisors (or
    the managers, for a guard without a supervisor): once per guard and month, however often
    the job runs."""
    today = now.astimezone(TAIPEI).date()
    if not in_last_days(today):
        return 0
    first = today.replace(day=1)
    month = f"{first.year}-{first.month:02d}"
    guards_query = select(User).where(policy.guards_clause(User), User.is_active.is_(True))
    guards = list(db.session.scalars(guards_query.order_by(User.id)))
    hours = hours_by_user(guards_query.with_only_columns(User.id), first)
    short = [g for g in guards if hours.get(g.id, (0.0, 0.0))[0] < MONTHLY_HOURS]
    keys = {g.id: f"training_month:{month}:{g.id}" for g in short}
    done = notifications.notified_keys(list(keys.values()))
    short = [g for g in short if keys[g.id] not in done]
    if not short:
        return 0
    sites_of: dict[int, list[int]] = {}
    for user_id, site_id in db.session.execute(
        select(SiteAssignment.user_id, SiteAssignment.site_id).where(
            SiteAssignment.user_id.in_([g.id for g in short])
        )
    ):
        sites_of.setdefault(user_id, []).append(site_id)
    watchers: dict[int, list[User]] = {}
    count = 0
    for guard in short:
        supervisors: dict[int, User] = {}
        for site_id in sites_of.get(guard.id, []):
            if site_id not in watchers:
                watchers[site_id] = notifications.site_supervisors_or_managers(site_id)
            supervisors.update({u.id: u for u in watchers[site_id]})
        if not supervisors:
            supervisors = {
                u.id: u
                for u in db.session.scalars(select(User).where(policy.all_sites_staff_clause(User)))
            }
        subject = f"{guard.display_name} · {month}"
        count += len(
            notifications.notify(
                [guard],
                kind="training_hours_short",
                dedupe_key=keys[guard.id],
                subject=subject,
                link="/training",
            )
        )
        count += len(
            notifications.notify(
                list(supervisors.values()),
                kind="training_hours_short",
                dedupe_key=keys[guard.id],
                subject=subject,
                link=f"/training/month?month={month}",
            )
        )
    return count

"""The training ledger under 保全業法 §10-2: on-the-job hours per Taipei calendar month (at
least 4), pre-employment training (a week, read as 40 hours), the month's list per guard and
per site, its Chinese CSV, and the reminder in the month's last five days."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from app.briefings import compliance
from app.briefings import services as svc
from app.briefings.models import TrainingSession
from app.extensions import db
from app.notifications.models import Notification
from tests import factories


@pytest.fixture
def team(app, make_user):
    site, other_site = factories.gen_site(), factories.gen_site()
    supervisor = make_user("supervisor")
    guard, short, elsewhere = make_user("guard"), make_user("guard"), make_user("guard")
    other_supervisor = make_user("supervisor")
    for user in (supervisor, guard, short):
        factories.assign(user, site)
    for user in (other_supervisor, elsewhere):
        factories.assign(user, other_site)
    db.session.commit()
    return {
        "site": site,
        "other_site": other_site,
        "supervisor": supervisor,
        "other_supervisor": other_supervisor,
        "guard": guard,
        "short": short,
        "elsewhere": elsewhere,
    }


def record(team, held_on: date, hours: float, *, who=("guard",), kind="on_the_job", topic="law"):
    session = svc.record_training(
        actor=team["supervisor"],
        kind=kind,
        topic=topic,
        held_on=held_on,
        hours=hours,
        trainer="",
        note="",
        attendee_ids={team[w].id for w in who},
    )
    db.session.commit()
    return session


def by_user(rows):
    return {r.user.id: r for r in rows}


def test_hours_sum_within_the_taipei_calendar_month_only(team):
    record(team, date(2026, 10, 31), 3)  # the month before: not counted
    record(team, date(2026, 11, 1), 1.5, topic="anti_theft")
    record(team, date(2026, 11, 30), 2.5, topic="anti_robbery", who=("guard", "short"))
    record(team, date(2026, 12, 1), 6)  # the month after: not counted
    record(team, date(2026, 11, 10), 8, kind="pre_employment", topic="technique")

    rows, sites = compliance.monthly_compliance(team["supervisor"], date(2026, 11, 1))
    rows = by_user(rows)
    assert rows[team["guard"].id].hours == 4.0 and rows[team["guard"].id].meets
    assert rows[team["short"].id].hours == 2.5 and not rows[team["short"].id].meets
    assert rows[team["short"].id].missing == 1.5
    # Pre-employment hours do not count towards the month's 4 hours, and a day is not a week.
    assert rows[team["guard"].id].pre_hours == 8 and not rows[team["guard"].id].pre_done
    # A supervisor sees his own guards and site only.
    assert team["elsewhere"].id not in rows
    assert [(s.site.id, s.guards, s.meeting, s.below) for s in sites] == [
        (team["site"].id, 2, 1, 1)
    ]

    october = by_user(compliance.monthly_compliance(team["supervisor"], date(2026, 10, 1))[0])
    assert october[team["guard"].id].hours == 3 and october[team["guard"].id].pre_hours == 0


def test_pre_employment_week_is_forty_hours_and_managers_see_every_site(team, make_user):
    for day in range(2, 7):  # five eight-hour days
        record(team, date(2026, 11, day), 8, kind="pre_employment", topic="law")
    rows, sites = compliance.monthly_compliance(make_user("manager"), date(2026, 11, 1))
    assert by_user(rows)[team["guard"].id].pre_done
    assert team["elsewhere"].id in by_user(rows)
    assert {s.site.id for s in sites} == {team["site"].id, team["other_site"].id}


@pytest.mark.parametrize("hours", [0, -1, 12.25])
def test_a_session_counts_more_than_0_and_at_most_12_hours(team, hours):
    with pytest.raises(svc.BriefingError):
        record(team, date(2026, 11, 2), hours)


def test_existing_sessions_count_as_on_the_job(team):
    session = record(team, date(2026, 11, 2), 2.25)
    db.session.expire_all()
    assert db.session.get(TrainingSession, session.id).kind == "on_the_job"
    assert db.session.get(TrainingSession, session.id).hours == 2.25


@pytest.mark.parametrize(
    ("value", "first"),
    [("2026-02", date(2026, 2, 1)), ("2026-13", date(2026, 11, 1)), ("x", date(2026, 11, 1))],
)
def test_month_argument(value, first):
    assert compliance.month_start(value, today=date(2026, 11, 26)) == first
    assert compliance.next_month(date(2026, 12, 1)) == date(2027, 1, 1)
    assert compliance.previous_month(date(2026, 1, 1)) == date(2025, 12, 1)


def test_page_says_below_in_words_and_csv_is_chinese_with_taipei_time(
    client, team, login, monkeypatch
):
    record(team, date(2026, 11, 3), 4)
    record(team, date(2026, 11, 3), 1, who=("short",))
    login(team["supervisor"])
    english = client.get("/training/month?month=2026-11&lang=en").text
    assert "On-the-job: 4 h — meets 4 h" in english
    assert "On-the-job: 1 h — below 4 h, 3 h short" in english
    assert "1 guard below 4 hours in 2026-11." in english
    chinese = client.get("/training/month?month=2026-11&lang=zh-TW").text
    assert "未達" in chinese

    # 23:30 UTC on 30 November is 07:30 on 1 December in Taipei.
    monkeypatch.setattr(
        "app.briefings.routes.utcnow", lambda: datetime(2026, 11, 30, 23, 30, tzinfo=UTC)
    )
    response = client.get("/training/month.csv?month=2026-11")
    assert response.mimetype == "text/csv"
    assert response.data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0] == compliance.CSV_HEADER and rows[0][0] == "月份"
    by_name = {r[2]: r for r in rows[1:]}
    short = by_name[team["short"].display_name]
    assert short[0] == "2026-11" and short[4] == "1"
    assert short[5] == "未達4小時（尚缺3小時）"
    assert by_name[team["guard"].display_name][5] == "已達4小時"
    assert short[7] == "未完成"
    assert short[8] == "2026-12-01 07:30（UTC+8）"
    assert team["elsewhere"].display_name not in by_name


def _notes(user=None):
    query = select(func.count(Notification.id)).where(Notification.kind == "training_hours_short")
    if user is not None:
        query = query.where(Notification.user_id == user.id)
    return db.session.scalar(query)


def test_reminder_only_in_the_last_five_taipei_days_and_once_per_month(team):
    record(team, date(2026, 11, 3), 4)  # guard has his hours; short and elsewhere do not
    # 15:59 UTC on 25 November is 23:59 on the 25th in Taipei: not yet the last five days.
    assert compliance.notify_short_of_hours(datetime(2026, 11, 25, 15, 59, tzinfo=UTC)) == 0
    # 16:00 UTC is midnight of the 26th in Taipei: the last five days (26–30).
    sent = compliance.notify_short_of_hours(datetime(2026, 11, 25, 16, 0, tzinfo=UTC))
    db.session.commit()
    # short + his supervisor; elsewhere + his supervisor.
    assert sent == 4
    assert _notes(team["guard"]) == 0
    assert _notes(team["short"]) == 1 and _notes(team["supervisor"]) == 1
    assert _notes(team["elsewhere"]) == 1 and _notes(team["other_supervisor"]) == 1
    # The job runs every hour: nobody hears twice in the month.
    assert compliance.notify_short_of_hours(datetime(2026, 11, 30, 15, 0, tzinfo=UTC)) == 0
    db.session.commit()
    assert _notes() == 4
    # 16:00 UTC on 30 November is 1 December in Taipei: a new month, not its last days.
    assert compliance.notify_short_of_hours(datetime(2026, 11, 30, 16, 0, tzinfo=UTC)) == 0
    # December's last days remind again (a new month's key).
    assert (
        compliance.notify_short_of_hours(datetime(2026, 12, 27, 1, 0, tzinfo=UTC)) == 6
    )  # three guards, each with his supervisor
    db.session.commit()
    assert _notes(team["guard"]) == 1


def test_reminder_runs_as_a_job(app):
    from app.jobs.tasks import JOBS

    assert "training_hours" in [job.name for job in JOBS]

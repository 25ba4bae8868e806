"""The guard's own training page: validity in words, and the history of his own sessions."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from app.briefings import services as svc
from app.extensions import db
from app.i18n import taipei_today
from tests import factories


@pytest.fixture
def people(app, make_user):
    site = factories.gen_site()
    supervisor, guard, other = make_user("supervisor"), make_user("guard"), make_user("guard")
    for user in (supervisor, guard, other):
        factories.assign(user, site)
    db.session.commit()
    return {"site": site, "supervisor": supervisor, "guard": guard, "other": other}


def record(people, topic, held_on: date, hours: float, *, who="guard", evidence=None, trainer=""):
    session = svc.record_training(
        actor=people["supervisor"],
        topic=topic,
        held_on=held_on,
        hours=hours,
        trainer=trainer,
        note="",
        attendee_ids={people[who].id},
        evidence=evidence,
    )
    db.session.commit()
    return session


def test_valid_until_and_expired_are_said_in_words_in_both_languages(client, people, login):
    today = taipei_today()
    # first aid: valid 730 days; fire safety: 365 days.
    record(people, "first_aid", today - timedelta(days=730 - 96), 8)
    record(people, "fire_safety", today - timedelta(days=365 + 5), 4)
    first_aid_until = today + timedelta(days=96)
    fire_until = today - timedelta(days=5)
    login(people["guard"])

    english = client.get("/training?lang=en").text
    assert f"valid until {first_aid_until.day} {first_aid_until:%B %Y} (96 days left)" in english
    assert f"expired on {fire_until.day} {fire_until:%B %Y} (5 days ago)" in english
    assert "No training recorded" in english  # personal-data protection

    chinese = client.get("/training?lang=zh-TW").text
    until = f"{first_aid_until.year}年{first_aid_until.month}月{first_aid_until.day}日"
    assert f"有效至 {until}（還有 96 天）" in chinese
    expired = f"{fire_until.year}年{fire_until.month}月{fire_until.day}日"
    assert f"已於 {expired} 到期（5 天前）" in chinese


def test_validity_on_its_last_day_and_one_day_left(client, people, login):
    today = taipei_today()
    record(people, "first_aid", today - timedelta(days=730), 8)
    record(people, "fire_safety", today - timedelta(days=364), 4)
    login(people["guard"])
    english = client.get("/training?lang=en").text
    assert "(last day)" in english and "(1 day left)" in english


def test_the_guard_sees_the_history_of_his_own_sessions_with_hours_and_evidence(
    client, people, login
):
    today = taipei_today()
    photo = factories.gen_photo(people["supervisor"], people["site"])
    mine = record(
        people, "first_aid", today - timedelta(days=30), 7.5, evidence=photo, trainer="紅十字會"
    )
    record(people, "fire_safety", today - timedelta(days=10), 3)
    record(people, "personal_data", today - timedelta(days=3), 2, who="other", trainer="某講師")
    login(people["guard"])
    page = client.get("/training?lang=en").text
    assert "My sessions" in page
    history = page[page.index("My sessions") :]
    assert "7.5 h" in history and "3 h" in history and "紅十字會" in history
    assert "10.5 h in all" in history
    # the evidence link is the session's own (the guard may open it; /photos/ would be 404)
    assert f"/training/{mine.id}/evidence" in history
    assert client.get(f"/training/{mine.id}/evidence").status_code == 200
    assert "某講師" not in history  # another guard's session
    assert history.index("Fire safety") < history.index("First aid")  # newest first


def test_a_guard_without_sessions_is_told_so(client, people, login):
    login(people["guard"])
    page = client.get("/training?lang=en").text
    assert "No training sessions recorded for you yet." in page

"""Briefings: audience, versions and re-acknowledgement, pledge, inert text; training validity."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app.briefings import services as svc
from app.briefings.models import Acknowledgement
from app.extensions import db
from app.notifications.models import Notification
from tests import factories

TODAY = date(2026, 11, 25)


@pytest.fixture
def team(app, make_user):
    site, other = factories.gen_site(), factories.gen_site()
    supervisor, guard, stranger, manager = (
        make_user("supervisor"),
        make_user("guard"),
        make_user("guard"),
        make_user("manager"),
    )
    factories.assign(supervisor, site)
    factories.assign(guard, site)
    factories.assign(stranger, other)
    db.session.commit()
    return {
        "site": site,
        "other": other,
        "supervisor": supervisor,
        "guard": guard,
        "stranger": stranger,
        "manager": manager,
    }


def brief(team, **overrides):
    values = {
        "kind": "pre_duty",
        "title": "今日勤前教育",
        "body": "夜間巡邏加強後門",
        "requires_ack": True,
        "due_on": TODAY,
        "audience_kind": "sites",
        "site_ids": {team["site"].id},
        "user_ids": set(),
    }
    values.update(overrides)
    briefing = svc.save_briefing(None, actor=team["supervisor"], **values)
    svc.publish(briefing, actor=team["supervisor"])
    return briefing


def test_audience_of_a_site_briefing_includes_guards_assigned_later(team, make_user):
    briefing = brief(team)
    assert [u.id for u in svc.audience(briefing)] == [team["guard"].id]
    newcomer = make_user("guard")
    factories.assign(newcomer, team["site"])
    assert newcomer.id in {u.id for u in svc.audience(briefing)}
    assert briefing in svc.inbox(newcomer)[0].items
    assert briefing not in svc.inbox(team["stranger"])[0].items


def test_a_supervisor_cannot_brief_another_sites_guards(team):
    with pytest.raises(svc.BriefingError, match="not_your_site"):
        brief(team, site_ids={team["other"].id})


def test_acknowledging_twice_is_one_record_and_a_substantive_edit_asks_again(team):
    briefing = brief(team)
    assert svc.unread_count(team["guard"]) == 1
    first = svc.acknowledge(briefing, user=team["guard"])
    assert svc.acknowledge(briefing, user=team["guard"]).id == first.id
    assert svc.unread_count(team["guard"]) == 0
    svc.save_briefing(
        briefing,
        actor=team["supervisor"],
        kind="pre_duty",
        title="今日勤前教育",
        body="夜間巡邏加強前門與後門",
        requires_ack=True,
        due_on=TODAY,
        audience_kind="sites",
        site_ids={team["site"].id},
        user_ids=set(),
    )
    assert briefing.version == 2 and svc.unread_count(team["guard"]) == 1
    svc.acknowledge(briefing, user=team["guard"])
    versions = sorted(a.version for a in db.session.scalars(select(Acknowledgement)))
    assert versions == [1, 2]


def test_a_minor_edit_needs_no_new_acknowledgement(team):
    briefing = brief(team)
    svc.acknowledge(briefing, user=team["guard"])
    svc.save_briefing(
        briefing,
        actor=team["supervisor"],
        kind="pre_duty",
        title="今日勤前教育",
        body="夜間巡邏加強後門。",
        requires_ack=True,
        due_on=TODAY,
        audience_kind="sites",
        site_ids={team["site"].id},
        user_ids=set(),
        substantive=False,
    )
    assert briefing.version == 1 and svc.unread_count(team["guard"]) == 0


def test_people_outside_the_audience_cannot_acknowledge(team):
    briefing = brief(team)
    with pytest.raises(svc.BriefingError, match="not_for_you"):
        svc.acknowledge(briefing, user=team["stranger"])


def test_progress_overdue_reminders_and_csv(team):
    briefing = brief(team, due_on=TODAY - timedelta(days=1))
    (row,) = svc.progress(briefing, today=TODAY)
    assert row.acknowledged_at is None and row.is_overdue
    assert svc.remind(briefing, actor=team["supervisor"], today=TODAY) == 1
    assert svc.remind(briefing, actor=team["supervisor"], today=TODAY) == 0  # once a day
    assert db.session.scalar(select(Notification)).user_id == team["guard"].id
    svc.acknowledge(briefing, user=team["guard"])
    csv_text = svc.acknowledgements_csv(briefing, today=TODAY)
    assert team["guard"].username in csv_text and csv_text.startswith("briefing,version")


def test_the_pledge_goes_to_everyone_who_may_see_confidential_information(team, make_user):
    admin = make_user("admin")
    assert not svc.has_current_pledge(team["guard"])
    pledge = svc.save_briefing(
        None,
        actor=team["manager"],
        kind="pledge",
        title="保密切結書",
        body="本人承諾…",
        requires_ack=False,
        due_on=None,
        audience_kind="users",
        site_ids=set(),
        user_ids={team["guard"].id},
    )
    svc.publish(pledge, actor=team["manager"])
    members = {u.id for u in svc.audience(pledge)}
    assert {
        team["guard"].id,
        team["supervisor"].id,
        team["manager"].id,
    } <= members and admin.id not in members
    assert pledge.requires_ack
    svc.acknowledge(pledge, user=team["guard"])
    assert svc.has_current_pledge(team["guard"]) and not svc.has_current_pledge(team["supervisor"])
    svc.save_briefing(
        pledge,
        actor=team["manager"],
        kind="pledge",
        title="保密切結書",
        body="本人承諾（修訂）",
        requires_ack=True,
        due_on=None,
        audience_kind="confidential",
        site_ids=set(),
        user_ids=set(),
    )
    assert not svc.has_current_pledge(team["guard"])  # a new version needs a new acknowledgement


def test_briefing_text_with_markup_renders_inert(app, client, team, login):
    evil = (
        "<script>alert(1)</script><img src=x onerror=alert(2)> "
        '<a hx-post="/logout" hx-trigger="load">x</a> javascript:alert(3) '
        'https://example.com/a?b=1&c="2"'
    )
    briefing = brief(team, body=evil)
    db.session.commit()
    login(team["guard"])
    page = client.get(f"/briefings/{briefing.id}").text
    body = page.split('class="briefing-body">', 1)[1].split("</div>", 1)[0]
    assert (
        "<script" not in body
        and "<img" not in body
        and "hx-post" not in body.replace("hx-post=&#34;", "")
    )
    assert "&lt;script&gt;" in body
    assert '<a href="https://example.com/a?b=1&amp;c=&#34;2&#34;"' in body
    assert 'href="javascript' not in body


def test_training_validity(team):
    guard = team["guard"]
    svc.record_training(
        actor=team["supervisor"],
        topic="first_aid",
        held_on=TODAY - timedelta(days=700),
        hours=8,
        trainer="紅十字會",
        note="",
        attendee_ids={guard.id},
    )
    svc.record_training(
        actor=team["supervisor"],
        topic="fire_safety",
        held_on=TODAY - timedelta(days=400),
        hours=4,
        trainer="消防局",
        note="",
        attendee_ids={guard.id},
    )
    status = {s.topic: s for s in svc.training_status(guard, today=TODAY)}
    assert status["first_aid"].status == "expiring"  # 730 days, 30 left
    assert status["fire_safety"].status == "expired"
    assert status["personal_data"].status == "missing"
    assert status["first_aid"].expires_on == TODAY - timedelta(days=700) + timedelta(days=730)
    assert svc.site_training_current(team["site"], today=TODAY) is False
    svc.record_training(
        actor=team["supervisor"],
        topic="fire_safety",
        held_on=TODAY,
        hours=4,
        trainer="",
        note="",
        attendee_ids={guard.id},
    )
    assert svc.site_training_current(team["site"], today=TODAY) is True


def test_validity_is_configurable(app, team):
    app.config["TRAINING_VALIDITY_DAYS"] = {"first_aid": 30}
    svc.record_training(
        actor=team["supervisor"],
        topic="first_aid",
        held_on=TODAY - timedelta(days=40),
        hours=8,
        trainer="",
        note="",
        attendee_ids={team["guard"].id},
    )
    status = {s.topic: s for s in svc.training_status(team["guard"], today=TODAY)}
    assert status["first_aid"].status == "expired"


def test_pdf_and_image_attachments_are_served_only_to_readers(app, client, team, login, make_user):
    import io

    briefing = brief(team)
    db.session.commit()
    login(team["supervisor"])
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    buffer = io.BytesIO()
    writer.write(buffer)
    pdf = buffer.getvalue()
    client.post(
        f"/briefings/{briefing.id}/attachments",
        data={"file": (io.BytesIO(pdf), "SOP.pdf")},
        content_type="multipart/form-data",
    )
    client.post(
        f"/briefings/{briefing.id}/attachments",
        data={"file": (io.BytesIO(b"not a pdf, not an image"), "x.pdf")},
        content_type="multipart/form-data",
    )
    client.post(
        f"/briefings/{briefing.id}/attachments",
        data={"file": (io.BytesIO(factories.png_bytes()), "map.png")},
        content_type="multipart/form-data",
    )
    db.session.refresh(briefing)
    kinds = sorted("pdf" if a.path else "image" for a in briefing.attachments)
    assert kinds == ["image", "pdf"]
    pdf_id = next(a.id for a in briefing.attachments if a.path)
    reader = app.test_client()
    login(team["guard"], test_client=reader)
    served = reader.get(f"/briefing-files/{pdf_id}")
    assert served.status_code == 200 and served.data == pdf
    assert served.headers["Cache-Control"] == "private, no-store"
    outsider = app.test_client()
    login(team["stranger"], test_client=outsider)
    assert outsider.get(f"/briefing-files/{pdf_id}").status_code == 404


def test_csv_cells_never_become_formulas(team):
    team["guard"].display_name = '=HYPERLINK("http://evil")'
    briefing = brief(team)
    text = svc.acknowledgements_csv(briefing, today=TODAY)
    assert "'=HYPERLINK" in text


def test_only_managers_publish_the_pledge_and_every_pledge_edit_asks_again(team):
    with pytest.raises(svc.BriefingError, match="pledge_managers"):
        svc.save_briefing(
            None,
            actor=team["supervisor"],
            kind="pledge",
            title="x",
            body="y",
            requires_ack=True,
            due_on=None,
            audience_kind="confidential",
            site_ids=set(),
            user_ids=set(),
        )
    pledge = svc.save_briefing(
        None,
        actor=team["manager"],
        kind="pledge",
        title="保密切結書",
        body="v1",
        requires_ack=True,
        due_on=None,
        audience_kind="confidential",
        site_ids=set(),
        user_ids=set(),
    )
    svc.publish(pledge, actor=team["manager"])
    svc.save_briefing(
        pledge,
        actor=team["manager"],
        kind="pledge",
        title="保密切結書",
        body="v1.",
        requires_ack=True,
        due_on=None,
        audience_kind="confidential",
        site_ids=set(),
        user_ids=set(),
        substantive=False,
    )
    assert pledge.version == 2


def test_a_supervisor_cannot_address_people_outside_his_sites(team):
    with pytest.raises(svc.BriefingError, match="not_your_people"):
        svc.save_briefing(
            None,
            actor=team["supervisor"],
            kind="notice",
            title="x",
            body="y",
            requires_ack=True,
            due_on=None,
            audience_kind="users",
            site_ids=set(),
            user_ids={team["stranger"].id},
        )


def test_acknowledgements_stay_in_the_progress_after_unassignment(team):
    from app.sites.models import SiteAssignment

    briefing = brief(team)
    svc.acknowledge(briefing, user=team["guard"])
    db.session.execute(
        SiteAssignment.__table__.delete().where(SiteAssignment.user_id == team["guard"].id)
    )
    rows = svc.progress(briefing, today=TODAY)
    assert [(r.user.id, bool(r.acknowledged_at)) for r in rows] == [(team["guard"].id, True)]


def test_image_attachments_are_served_to_readers_from_any_site(app, team, login, make_user):
    import io

    far_guard = make_user("guard")
    factories.assign(far_guard, team["other"])
    briefing = svc.save_briefing(
        None,
        actor=team["manager"],
        kind="notice",
        title="全體公告",
        body="新制服",
        requires_ack=True,
        due_on=None,
        audience_kind="all_guards",
        site_ids=set(),
        user_ids=set(),
    )
    svc.publish(briefing, actor=team["manager"])
    db.session.commit()
    boss = app.test_client()
    login(team["manager"], test_client=boss)
    boss.post(
        f"/briefings/{briefing.id}/attachments",
        data={"file": (io.BytesIO(factories.png_bytes()), "uniform.png")},
        content_type="multipart/form-data",
    )
    db.session.refresh(briefing)
    assert briefing.version == 2  # new material: read again
    (attachment,) = briefing.attachments
    reader = app.test_client()
    login(far_guard, test_client=reader)
    response = reader.get(f"/briefing-files/{attachment.id}")
    assert response.status_code == 200 and response.mimetype == "image/jpeg"


def test_the_expiring_list_pages_through_every_guard_in_care(app, client, make_user, login):
    manager = make_user("manager")
    per_page = app.config["PAGE_SIZE"]
    for n in range(per_page + 2):
        make_user("guard", display_name=f"Guard {n:03d}")
    login(manager)
    first = client.get("/training?lang=en").text
    second = client.get("/training?lang=en&page=2").text
    assert f">{per_page + 2}</span>" in first  # the count is of everyone, not of the page
    assert first.count("list-item-stack") == per_page
    assert second.count("list-item-stack") == 2
    assert "Guard 000" in first and f"Guard {per_page + 1:03d}" in second

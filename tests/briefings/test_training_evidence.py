"""Training evidence belongs to the training session (issue 10, item 10), not to the site it
was filed under (the recorder's first site): the guard it concerns sees it, supervisors of his
sites and managers do; a supervisor of the recorder's first site alone does not."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from app.briefings.models import TrainingSession
from app.extensions import db
from tests import factories


@pytest.fixture
def recorded(app, client, make_user, login):
    """A supervisor serving A-site (his first, by code) and B-site records training for a
    guard of B-site, with a photo of the sign-in sheet."""
    first = factories.gen_site(code="A-0001")
    second = factories.gen_site(code="B-0001")
    recorder, guard = make_user("supervisor"), make_user("guard")
    for site in (first, second):
        factories.assign(recorder, site)
    factories.assign(guard, second)
    first_site_only = make_user("supervisor")  # serves the recorder's first site, not the guard's
    factories.assign(first_site_only, first)
    guards_supervisor = make_user("supervisor")  # another supervisor of the guard's site
    factories.assign(guards_supervisor, second)
    other_guard = make_user("guard")
    factories.assign(other_guard, second)
    db.session.commit()
    login(recorder)
    response = client.post(
        "/training/new",
        data={
            "topic": "first_aid",
            "held_on": "2026-11-20",
            "hours": "8",
            "trainer": "紅十字會",
            "user_id": str(guard.id),
            "evidence": (io.BytesIO(factories.png_bytes((640, 480))), "sheet.png"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 303, response.text
    session = db.session.scalar(select(TrainingSession))
    assert session.evidence is not None and session.evidence.site_id == first.id
    people = {
        "recorder": recorder,
        "guard": guard,
        "first_site_only": first_site_only,
        "guards_supervisor": guards_supervisor,
        "other_guard": other_guard,
        "manager": make_user("manager"),
        "admin": make_user("admin"),
    }
    return session, people


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("guard", 200),
        ("recorder", 200),
        ("guards_supervisor", 200),
        ("manager", 200),
        ("first_site_only", 404),
        ("other_guard", 404),
        ("admin", 404),
    ],
)
def test_evidence_follows_the_training_session(app, login, recorded, who, status):
    session, people = recorded
    phone = app.test_client()
    login(people[who], test_client=phone)
    response = phone.get(f"/training/{session.id}/evidence")
    assert response.status_code == status
    if status == 200:
        assert response.mimetype == "image/jpeg"
        assert response.headers["Cache-Control"] == "private, no-store"


@pytest.mark.parametrize("who", ["first_site_only", "recorder", "manager", "guard"])
def test_the_evidence_photo_is_not_served_by_its_site(app, login, recorded, who):
    """The site it was filed under says nothing about who may see it: /photos/ refuses it."""
    session, people = recorded
    phone = app.test_client()
    login(people[who], test_client=phone)
    assert phone.get(f"/photos/{session.evidence.uuid}").status_code == 404
    assert phone.get(f"/photos/{session.evidence.uuid}/thumb").status_code == 404


def test_the_training_page_links_the_evidence_through_its_session(client, recorded):
    session, _people = recorded
    page = client.get("/training")
    assert f'href="/training/{session.id}/evidence"' in page.text
    assert f"/photos/{session.evidence.uuid}" not in page.text

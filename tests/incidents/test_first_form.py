"""The new-incident form: photos sent with the report itself, and the site of the shift."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.db import new_uuid, utcnow
from app.extensions import db
from app.incidents.models import Incident
from app.photos.models import Photo
from app.sites.models import CheckIn
from tests import factories


@pytest.fixture
def crew(app, make_user):
    site, other = factories.gen_site(name="板橋總廠"), factories.gen_site(name="新莊倉庫")
    guard = make_user("guard")
    factories.assign(guard, site)
    factories.assign(guard, other)
    db.session.commit()
    return {"site": site, "other": other, "guard": guard}


def taipei_input(minutes_ago: int = 0) -> str:
    return (utcnow() + timedelta(hours=8) - timedelta(minutes=minutes_ago)).strftime(
        "%Y-%m-%dT%H:%M"
    )


def report(crew, **overrides) -> dict:
    values = {
        "uuid": new_uuid(),
        "site_id": str(crew["site"].id),
        "category": "intrusion",
        "severity": "medium",
        "occurred_at": taipei_input(5),
        "narrative": "後門門磁觸發，現場發現鐵窗被撬開",
        "actions_taken": "已通知主管",
    }
    values.update(overrides)
    return values


def photo(name="scene.png", colour=(10, 120, 30)):
    return (io.BytesIO(factories.png_bytes(colour=colour)), name)


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_the_first_form_takes_photos_and_they_go_through_the_photo_pipeline(client, crew, login):
    login(crew["guard"])
    form = client.get("/incidents/new?lang=en").text
    assert 'enctype="multipart/form-data"' in form and 'name="photos"' in form
    response = client.post(
        "/incidents/new",
        data=report(crew, photos=[photo("a.png"), photo("b.png", (1, 2, 3))]),
        content_type="multipart/form-data",
    )
    assert response.status_code == 303
    assert "Incident reported with 2 photos." in client.get(response.location + "?lang=en").text
    incident = db.session.scalar(select(Incident))
    assert len(incident.photos) == 2
    stored = [link.photo for link in incident.photos]
    assert {p.site_id for p in stored} == {crew["site"].id}
    assert {p.owner_id for p in stored} == {crew["guard"].id}
    assert {p.content_type for p in stored} == {"image/jpeg"}  # re-encoded by the pipeline


def test_sending_the_same_report_again_does_not_add_its_photos_twice(client, crew, login):
    login(crew["guard"])
    values = report(crew)
    for _attempt in range(2):
        client.post(
            "/incidents/new",
            data={**values, "photos": [photo()]},
            content_type="multipart/form-data",
        )
    assert count(Incident) == 1 and count(Photo) == 1


def test_a_file_that_is_not_a_photo_is_refused_on_its_field_and_the_text_is_kept(
    client, crew, login
):
    login(crew["guard"])
    response = client.post(
        "/incidents/new?lang=en",
        data=report(crew, photos=[(io.BytesIO(b"not an image at all"), "notes.txt")]),
        content_type="multipart/form-data",
    )
    assert response.status_code == 200
    page = response.text
    assert re.search(r'id="photos-error">That file is not a photo', page)
    assert "後門門磁觸發，現場發現鐵窗被撬開</textarea>" in page
    assert "已通知主管</textarea>" in page
    assert count(Incident) == 0 and count(Photo) == 0


def test_a_missing_field_keeps_what_was_typed_and_stores_no_photo(client, crew, login):
    login(crew["guard"])
    values = report(crew, narrative="", severity="high", photos=[photo()])
    response = client.post(
        "/incidents/new?lang=en", data=values, content_type="multipart/form-data"
    )
    assert response.status_code == 200
    page = response.text
    assert "Describe what happened." in page
    assert '<option selected value="high">' in page
    assert f'value="{values["uuid"]}"' in page
    assert "已通知主管</textarea>" in page
    assert count(Incident) == 0 and count(Photo) == 0


def test_at_most_six_photos_are_sent_with_the_report(client, crew, login):
    login(crew["guard"])
    response = client.post(
        "/incidents/new?lang=en",
        data=report(crew, photos=[photo(f"{n}.png") for n in range(7)]),
        content_type="multipart/form-data",
    )
    assert response.status_code == 200
    assert "At most 6 photos" in response.text
    assert count(Incident) == 0


def check_in(crew, site, hours_ago: float) -> None:
    db.session.add(
        CheckIn(
            uuid=new_uuid(),
            site_id=site.id,
            user_id=crew["guard"].id,
            method="qr",
            received_at=utcnow() - timedelta(hours=hours_ago),
            verdict="on_site",
        )
    )
    db.session.commit()


def selected_site(page: str) -> str | None:
    select_html = page[
        page.index('name="site_id"') : page.index("</select>", page.index('name="site_id"'))
    ]
    found = re.search(r'<option selected value="(\d+)">', select_html)
    return found.group(1) if found and found.group(1) != "0" else None  # 0: "Choose…"


def test_the_site_of_the_latest_check_in_of_the_shift_is_preselected(client, crew, login):
    login(crew["guard"])
    assert selected_site(client.get("/incidents/new").text) is None
    check_in(crew, crew["site"], hours_ago=3)
    check_in(crew, crew["other"], hours_ago=1)
    assert selected_site(client.get("/incidents/new").text) == str(crew["other"].id)
    # the site the form was opened from wins
    assert selected_site(client.get(f"/incidents/new?site={crew['site'].id}").text) == str(
        crew["site"].id
    )


def test_a_check_in_from_an_earlier_shift_preselects_nothing(client, crew, login):
    login(crew["guard"])
    check_in(crew, crew["other"], hours_ago=13)
    assert selected_site(client.get("/incidents/new").text) is None


def test_a_check_in_at_a_site_no_longer_reportable_preselects_nothing(client, crew, login):
    check_in(crew, crew["other"], hours_ago=1)
    crew["other"].is_active = False
    db.session.commit()
    login(crew["guard"])
    assert selected_site(client.get("/incidents/new").text) is None

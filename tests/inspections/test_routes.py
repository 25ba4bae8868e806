"""Running an inspection over HTTP: start, answer per item, photos, submit, report, amend, list."""

from __future__ import annotations

import base64
import re
import uuid

import pytest
from sqlalchemy import select

from app.extensions import db
from app.inspections.models import Answer, Inspection
from app.inspections.services import active_template
from app.sites.models import Equipment
from tests import factories

# Written against version 1 of the default checklist (its items and ranges); version 2
# is tested in test_checklist_v2.py.
pytestmark = pytest.mark.usefixtures("checklist_v1")

SIGNATURE = (
    "data:image/png;base64,"
    + base64.b64encode(factories.png_bytes((300, 100), (255, 255, 255))).decode()
)


@pytest.fixture
def visit(app, client, make_user, login):
    site = factories.gen_site()
    supervisor = make_user("supervisor", display_name="林雅婷")
    factories.assign(supervisor, site)
    db.session.add(Equipment(site_id=site.id, kind="control_panel", model="DSC Neo", location="1F"))
    db.session.commit()
    login(supervisor)
    key = str(uuid.uuid4())
    response = client.post(f"/sites/{site.id}/inspections", data={"uuid": key})
    assert response.status_code == 303 and response.headers["Location"] == f"/inspections/{key}"
    return {
        "site": site,
        "supervisor": supervisor,
        "uuid": key,
        "items": active_template().live_items,
    }


def answer(client, visit, item, htmx=True, **data):
    headers = {"HX-Request": "true"} if htmx else {}
    return client.post(f"/inspections/{visit['uuid']}/items/{item.id}", data=data, headers=headers)


def test_start_twice_with_the_same_uuid_opens_one_inspection(client, visit):
    again = client.post(f"/sites/{visit['site'].id}/inspections", data={"uuid": visit["uuid"]})
    assert again.headers["Location"] == f"/inspections/{visit['uuid']}"
    assert len(db.session.scalars(select(Inspection)).all()) == 1


def test_run_page_groups_items_by_indicator_with_progress(client, visit):
    page = client.get(f"/inspections/{visit['uuid']}?lang=en").text
    assert "0 / 23 answered" in page
    assert page.count('class="run-section"') == 8
    assert "P3.2.2" in page and "Backup battery voltage (V)" in page


def test_each_answer_is_saved_as_given_and_returns_the_item_with_progress(client, visit):
    first = visit["items"][0]
    response = answer(client, visit, first, value="pass")
    assert response.status_code == 200
    assert f'id="item-{first.id}"' in response.text and "<html" not in response.text
    assert 'hx-swap-oob="true"' in response.text and "1 / 23" in response.text
    # the same answer again (a retry) changes nothing
    answer(client, visit, first, value="pass")
    assert len(db.session.scalars(select(Answer)).all()) == 1


def test_plain_form_posts_work_without_javascript(client, visit):
    first = visit["items"][0]
    response = answer(client, visit, first, htmx=False, value="fail")
    assert response.status_code == 303
    assert response.headers["Location"] == f"/inspections/{visit['uuid']}#item-{first.id}"


def test_out_of_bounds_number_fails_and_says_so(client, visit):
    battery = visit["items"][5]
    response = client.post(
        f"/inspections/{visit['uuid']}/items/{battery.id}?lang=en",
        data={"value": "9.8"},
        headers={"HX-Request": "true"},
    )
    assert "Out of bounds: this counts as a failure." in response.text
    assert db.session.scalar(select(Answer)).is_pass is False


def test_a_bad_value_is_explained_in_the_item(client, visit):
    response = client.post(
        f"/inspections/{visit['uuid']}/items/{visit['items'][0].id}?lang=en",
        data={"value": "perhaps"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 422
    assert "not one of the choices" in response.text


def test_failed_equipment_item_asks_which_unit_and_takes_a_note(client, visit):
    panel = visit["items"][4]
    answer(client, visit, panel, value="fail")
    page = client.get(f"/inspections/{visit['uuid']}?lang=en").text
    assert "Which unit?" in page and "DSC Neo" in page
    unit = db.session.scalar(select(Equipment))
    answer(client, visit, panel, note="斷線訊號", equipment_id=str(unit.id))
    saved = db.session.scalar(select(Answer))
    assert saved.note == "斷線訊號" and saved.equipment_id == unit.id


def test_only_the_inspector_answers(app, client, visit, make_user, login):
    other = make_user("supervisor")
    factories.assign(other, visit["site"])
    db.session.commit()
    phone = app.test_client()
    login(other, test_client=phone)
    assert phone.get(f"/inspections/{visit['uuid']}").status_code == 200  # the report view
    response = phone.post(
        f"/inspections/{visit['uuid']}/items/{visit['items'][0].id}", data={"value": "pass"}
    )
    assert response.status_code == 403
    assert db.session.scalar(select(Answer)) is None


def complete_all(client, visit):
    for item in visit["items"]:
        answer(client, visit, item, value="12.4" if item.kind == "number" else "pass")


def test_submit_points_to_what_is_missing(client, visit):
    response = client.post(
        f"/inspections/{visit['uuid']}/submit?lang=en",
        data={"signer_name": "林雅婷", "signature": SIGNATURE},
    )
    assert response.status_code == 422
    assert "Not yet complete" in response.text and "needs an answer" in response.text
    assert f'href="#item-{visit["items"][0].id}"' in response.text


def test_submit_needs_a_signature(client, visit):
    complete_all(client, visit)
    response = client.post(
        f"/inspections/{visit['uuid']}/submit?lang=en",
        data={"signer_name": "林雅婷", "signature": ""},
    )
    assert response.status_code == 422
    assert "Sign with your finger" in response.text


def test_submit_then_report_then_double_submit_is_harmless(client, visit):
    complete_all(client, visit)
    response = client.post(
        f"/inspections/{visit['uuid']}/submit",
        data={"signer_name": "林雅婷", "signature": SIGNATURE},
    )
    assert response.status_code == 303
    inspection = db.session.scalar(select(Inspection))
    assert inspection.status == "submitted" and inspection.score == 100.0
    again = client.post(
        f"/inspections/{visit['uuid']}/submit", data={"signer_name": "x", "signature": SIGNATURE}
    )
    assert again.status_code == 303
    db.session.refresh(inspection)
    assert inspection.signer_name == "林雅婷"
    report = client.get(f"/inspections/{visit['uuid']}?lang=en").text
    assert "Inspection report" in report and "P3.3.4" in report and "Signature of 林雅婷" in report
    assert answer(client, visit, visit["items"][0], value="fail").status_code == 409


def test_amendment_is_shown_in_the_report(client, visit):
    complete_all(client, visit)
    client.post(
        f"/inspections/{visit['uuid']}/submit",
        data={"signer_name": "林雅婷", "signature": SIGNATURE},
    )
    first = visit["items"][0]
    response = client.post(
        f"/inspections/{visit['uuid']}/amend",
        data={
            "item_id": str(first.id),
            "value": "fail",
            "note": "遲到 5 分鐘",
            "reason": "誤按合格",
        },
    )
    assert response.status_code == 303
    report = client.get(f"/inspections/{visit['uuid']}?lang=en").text
    assert "Corrections" in report and "誤按合格" in report and "Pass → Fail" in report
    assert "Amended" in report


def test_list_filters_by_failures_and_score(client, visit, make_user, login):
    complete_all(client, visit)
    client.post(
        f"/inspections/{visit['uuid']}/submit", data={"signer_name": "林", "signature": SIGNATURE}
    )
    login(make_user("manager"))
    assert "1 inspection" in client.get("/inspections?lang=en").text
    assert "No inspections found" in client.get("/inspections?failures=1&lang=en").text
    assert "No inspections found" in client.get("/inspections?max_score=50&lang=en").text
    assert "1 inspection" in client.get(f"/inspections?site={visit['site'].id}&lang=en").text


def test_supervisor_home_shows_inspections_due(client, visit):
    page = client.get("/?lang=en").text
    assert "Inspections due" in page and visit["site"].name in page and "never inspected" in page


def test_site_card_offers_to_continue_a_draft(client, visit):
    page = client.get(f"/sites/{visit['site'].id}?lang=en").text
    assert "Continue the inspection" in page
    assert re.search(rf'href="/inspections/{visit["uuid"]}"', page)


def test_checklist_editor_adds_and_previews(client, make_user, login):
    login(make_user("manager"))
    template = active_template()
    response = client.post(
        f"/checklists/{template.id}/items/new",
        data={
            "indicator": "T3.1",
            "text_zh": "滅火器在有效期內",
            "text_en": "Extinguishers in date",
            "kind": "pass_fail",
            "weight": "1",
            "is_required": "y",
            "note_on_fail": "y",
        },
    )
    assert response.status_code == 303
    preview = client.get(f"/checklists/{template.id}/preview?lang=en").text
    assert "Extinguishers in date" in preview and "Nothing here is saved" in preview
    bad = client.post(
        f"/checklists/{template.id}/items/new?lang=en",
        data={
            "indicator": "T3.1",
            "text_zh": "x",
            "text_en": "x",
            "kind": "number",
            "min_value": "5",
            "max_value": "1",
            "weight": "1",
        },
    )
    assert "The highest value is below the lowest." in bad.text

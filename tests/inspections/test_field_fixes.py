"""Issue 10 field fixes in inspections: number input limits (14), corrections with the run's
buttons (15) and the report's summary of failures (21)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.inspections import services as svc
from app.inspections.models import Amendment, Answer, ChecklistItem, Inspection
from app.inspections.services import active_template
from tests import factories
from tests.inspections.test_routes import SIGNATURE, answer, complete_all, visit  # noqa: F401

# Written against version 1 of the default checklist (its items and ranges); version 2
# is tested in test_checklist_v2.py.
pytestmark = pytest.mark.usefixtures("checklist_v1")


def battery_of(visit):  # noqa: F811
    return next(i for i in visit["items"] if i.kind == "number")


# ---------------------------------------------------------------- 14. number input limits


def test_default_battery_item_has_input_limits_wider_than_its_passing_range(app):
    battery = next(i for i in active_template().items if i.kind == "number")
    assert (battery.input_min, battery.input_max) == (0.0, 30.0)
    assert battery.input_min < battery.min_value < battery.max_value < battery.input_max


@pytest.mark.parametrize("value", ["-99999", "1e308", "31", "-0.5", "inf", "nan", "abc", ""])
@pytest.mark.parametrize(
    ("lang", "message"),
    [
        ("en", "Enter a number between 0 V and 30 V."),
        ("zh_Hant_TW", "請輸入 0 V 到 30 V 之間的數字。"),
    ],
)
def test_a_nonsense_reading_is_refused_with_the_range_it_takes(client, visit, value, lang, message):  # noqa: F811
    battery = battery_of(visit)
    response = client.post(
        f"/inspections/{visit['uuid']}/items/{battery.id}?lang={lang}",
        data={"value": value},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 422
    assert message in response.text
    assert "not one of the choices" not in response.text
    assert db.session.scalar(select(Answer)) is None


@pytest.mark.parametrize(("value", "passes"), [("0", False), ("12.6", True), ("30", False)])
def test_readings_within_the_input_limits_are_kept_and_scored(client, visit, value, passes):  # noqa: F811
    battery = battery_of(visit)
    assert answer(client, visit, battery, value=value).status_code == 200
    saved = db.session.scalar(select(Answer))
    assert (saved.value, saved.is_pass) == (value, passes)


def test_the_passing_range_is_shown_as_stored(client, visit):  # noqa: F811
    battery = battery_of(visit)
    battery.min_value = 10.05  # once shown as "105" (".0" cut out of the text)
    db.session.commit()
    page = client.get(f"/inspections/{visit['uuid']}?lang=en").text
    assert "Passes from 10.05 to 14.5 V" in page


def test_a_correction_to_a_nonsense_reading_is_refused(client, visit):  # noqa: F811
    complete_all(client, visit)
    client.post(
        f"/inspections/{visit['uuid']}/submit", data={"signer_name": "林", "signature": SIGNATURE}
    )
    inspection = db.session.scalar(select(Inspection))
    with pytest.raises(svc.InspectionError) as refused:
        svc.amend(
            inspection,
            battery_of(visit),
            user=visit["supervisor"],
            value="1e308",
            note="x",
            reason="typo",
        )
    assert refused.value.key == "bad_number"
    assert db.session.scalar(select(Amendment)) is None


def number_item(client, template, **fields):
    data = {
        "indicator": "T3.1",
        "text_zh": "溫度",
        "text_en": "Temperature",
        "kind": "number",
        "min_value": "5",
        "max_value": "30",
        "unit": "°C",
        "weight": "1",
    }
    data.update(fields)
    return client.post(f"/checklists/{template.id}/items/new?lang=en", data=data)


def test_the_editor_asks_for_input_limits_around_the_passing_range(client, make_user, login):
    login(make_user("manager"))
    template = active_template()
    page = client.get(f"/checklists/{template.id}/items/new?lang=en").text
    assert "Lowest value that can be entered" in page and 'name="input_max"' in page
    missing = number_item(client, template).text
    assert "A number item needs the lowest value that can be entered." in missing
    assert "A number item needs the highest value that can be entered." in missing
    narrow = number_item(client, template, input_min="10", input_max="20").text
    assert narrow.count("The passing range must lie within these limits.") == 2
    absurd = number_item(client, template, input_min="-inf", input_max="1e308").text
    assert absurd.count("Enter a number between -1000000 and 1000000.") == 2
    assert (
        db.session.scalar(select(ChecklistItem).where(ChecklistItem.text_en == "Temperature"))
        is None
    )

    saved = number_item(client, template, input_min="-40", input_max="80")
    assert saved.status_code == 303
    item = db.session.scalar(select(ChecklistItem).where(ChecklistItem.text_en == "Temperature"))
    assert (item.input_min, item.input_max) == (-40.0, 80.0)
    edit = client.get(f"/checklist-items/{item.id}?lang=en").text
    assert re.search(r'name="input_min"[^>]*value="-40', edit)


def test_a_new_version_keeps_the_input_limits(client, make_user, login):
    supervisor = make_user("supervisor")
    factories.gen_inspection(factories.gen_site(), supervisor)  # the checklist is in use
    db.session.commit()
    login(make_user("manager"))
    first = active_template().items[0]
    response = client.post(
        f"/checklist-items/{first.id}",
        data={
            "indicator": "P3.2.1",
            "text_zh": "x",
            "text_en": "x",
            "kind": "pass_fail",
            "weight": "1",
            "equipment_kind": "",
        },
    )
    assert response.status_code == 303, re.findall(r"field-invalid.{0,400}", response.text, re.S)
    new = active_template()
    assert new.version == 3  # after version 2, installed by the migrations
    battery = next(i for i in new.items if i.kind == "number")
    assert (battery.input_min, battery.input_max) == (0.0, 30.0)


# ---------------------------------------------------------------- 15. corrections with buttons


def submitted_with_a_failure(client, visit):  # noqa: F811
    complete_all(client, visit)
    panel = visit["items"][4]
    for item in (panel, battery_of(visit)):
        item.photo_on_fail = False  # a failure here needs no photo for this report
    db.session.commit()
    answer(client, visit, panel, value="fail")
    answer(client, visit, panel, note="主機斷線 line cut")
    answer(client, visit, battery_of(visit), value="9.8")
    answer(client, visit, battery_of(visit), note="電壓低 low")
    response = client.post(
        f"/inspections/{visit['uuid']}/submit", data={"signer_name": "林", "signature": SIGNATURE}
    )
    assert response.status_code == 303
    return panel


def correction_form(report: str, item_id: int) -> str:
    match = re.search(
        rf'<details class="correction no-print" id="correct-{item_id}">.*?</details>', report, re.S
    )
    assert match, f"no correction form for item {item_id}"
    return match.group(0)


def test_a_correction_chooses_the_new_answer_with_the_runs_buttons(client, visit):  # noqa: F811
    submitted_with_a_failure(client, visit)
    report = client.get(f"/inspections/{visit['uuid']}?lang=en").text
    assert "type pass, fail or na" not in report
    first = visit["items"][0]
    form = correction_form(report, first.id)
    radios = re.findall(
        r'<label class="choice choice-(\w+)"><input type="radio" name="value" value="(\w+)"', form
    )
    assert radios == [("pass", "pass"), ("fail", "fail")]
    assert re.search(r'value="pass" class="visually-hidden" checked', form)  # the current answer
    assert not re.search(
        r'<input[^>]*type="text"[^>]*name="value"|<input[^>]*name="value"[^>]*type="text"', form
    )
    # a pass/fail/n.a. item offers the third button; a number item takes a reading
    na_item = next(i for i in visit["items"] if i.kind == "pass_fail_na")
    assert 'value="na"' in correction_form(report, na_item.id)
    assert 'type="number"' in correction_form(report, battery_of(visit).id)

    response = client.post(
        f"/inspections/{visit['uuid']}/amend",
        data={"item_id": str(first.id), "value": "fail", "note": "遲到", "reason": "誤按合格"},
    )
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"#report-item-{first.id}")
    amendment = db.session.scalar(select(Amendment))
    assert (amendment.old_value, amendment.new_value) == ("pass", "fail")


# ---------------------------------------------------------------- 21. failures summarised first


def test_the_report_lists_its_failed_items_first_each_linking_to_its_detail(client, visit):  # noqa: F811
    panel = submitted_with_a_failure(client, visit)
    battery = battery_of(visit)
    report = client.get(f"/inspections/{visit['uuid']}?lang=en").text
    summary = re.search(
        r'<section class="card report-failed[^"]*" id="failed".*?</section>', report, re.S
    )
    assert summary and "2 items failed" in summary.group(0)
    links = re.findall(r'<a href="#report-item-(\d+)">', summary.group(0))
    assert links == [str(panel.id), str(battery.id)]
    assert "主機斷線 line cut" in summary.group(0) and "9.8 V" in summary.group(0)
    # the summary comes before the items, and each link has its target
    assert report.index('id="failed"') < report.index('class="report-section"')
    for item_id in links:
        assert f'id="report-item-{item_id}"' in report
    zh = client.get(f"/inspections/{visit['uuid']}?lang=zh_Hant_TW").text
    assert "2 項不合格" in zh


def test_a_report_without_failures_says_so(client, visit):  # noqa: F811
    complete_all(client, visit)
    client.post(
        f"/inspections/{visit['uuid']}/submit", data={"signer_name": "林", "signature": SIGNATURE}
    )
    report = client.get(f"/inspections/{visit['uuid']}?lang=en").text
    assert "No item failed" in report and "#report-item-" not in report

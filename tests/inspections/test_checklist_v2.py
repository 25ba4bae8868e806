"""Checklist version 2 beside version 1, and applicability by system type (issue 13, 1–2)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.db import new_uuid
from app.extensions import db
from app.inspections import services as svc
from app.inspections.models import ChecklistTemplate
from tests import factories


def version(n: int) -> ChecklistTemplate:
    return db.session.scalar(
        select(ChecklistTemplate).where(
            ChecklistTemplate.key == "default", ChecklistTemplate.version == n
        )
    )


def by_text(template, zh: str):
    return next(i for i in template.items if i.text_zh.startswith(zh))


def test_the_migrations_install_version_2_beside_an_untouched_version_1(app):
    v1, v2 = version(1), version(2)
    assert svc.active_template().id == v2.id and not v1.is_active
    # Version 1 as it was: 23 items, the old battery range, no system types.
    assert len(v1.items) == 23 and v1.items[5].min_value == 10.5 and v1.items[5].max_value == 14.5
    assert all(i.system_type is None for i in v1.items)
    assert v1.items[-1].indicator == "T3.1"
    # Version 2, as CHECKLIST.md and issue 13 say.
    assert len(v2.items) == 42
    battery = by_text(v2, "備用電池電壓")
    assert (battery.min_value, battery.max_value, battery.system_type) == (13.0, 14.0, "intrusion")
    retention = by_text(v2, "錄影保存天數")
    assert (retention.kind, retention.system_type, retention.knowledge) == ("number", "cctv", "K12")
    assert by_text(v2, "機動保全人員急救訓練").knowledge == "K13"
    assert by_text(v2, "機動保全人員消防訓練").knowledge == "K14"
    assert by_text(v2, "管控紀錄已回報公司相關單位").indicator == "P3.2.3"
    assert by_text(v2, "鑰匙、密碼等機密資料").knowledge == "K12"
    assert by_text(v2, "現場無職業安全衛生危害").indicator == "P3.1.1"
    assert by_text(v2, "門禁系統運作正常").system_type == "access"
    assert "T3.1" not in {i.indicator for i in v2.items}
    assert all(i.indicator and i.knowledge for i in v2.items)


def test_a_version_1_inspection_keeps_its_items(app, make_user, checklist_v1):
    supervisor = make_user("supervisor")
    site = factories.gen_site(system_types="intrusion")
    inspection = svc.start_inspection(site, user=supervisor, uuid=new_uuid())
    factories.use_checklist_version(2)
    assert inspection.template.version == 1
    assert len(svc.applicable_items(inspection)) == 23  # no system types: all apply


@pytest.fixture
def intrusion_only(app, make_user):
    supervisor = make_user("supervisor")
    site = factories.gen_site(system_types="intrusion")
    factories.assign(supervisor, site)
    inspection = svc.start_inspection(site, user=supervisor, uuid=new_uuid())
    db.session.commit()
    return supervisor, inspection


def test_items_for_systems_the_site_lacks_are_not_asked_nor_scored(intrusion_only):
    supervisor, inspection = intrusion_only
    applicable = svc.applicable_items(inspection)
    systems = {i.system_type for i in applicable}
    assert systems == {None, "intrusion"}
    assert len(applicable) < len(inspection.template.live_items)
    # Everything asked passes: submittable and 100 %, the CCTV and access items unanswered.
    for item in applicable:
        value = factories.passing_reading(item) if item.kind == "number" else "pass"
        if item.kind == "text":
            value = "2026-10-01"
        svc.record_answer(inspection, item, user=supervisor, value=value, note=None)
    assert svc.missing_for_submit(inspection) == []
    svc.submit(inspection, user=supervisor, signer_name="S", signature_png=factories.png_bytes())
    assert inspection.score == 100.0 and inspection.failed_count == 0


def test_an_answer_kept_for_an_inapplicable_item_does_not_count(intrusion_only):
    supervisor, inspection = intrusion_only
    cctv = next(i for i in inspection.template.live_items if i.system_type == "cctv")
    svc.record_answer(inspection, cctv, user=supervisor, value="fail", note="x")
    assert svc.scored_answers(inspection) == []


def test_na_is_excluded_from_the_score(intrusion_only):
    supervisor, inspection = intrusion_only
    items = svc.applicable_items(inspection)
    na = next(i for i in items if i.kind == "pass_fail_na")
    first = items[0]
    svc.record_answer(inspection, first, user=supervisor, value="pass", note=None)
    svc.record_answer(inspection, na, user=supervisor, value="na", note=None)
    assert svc.score(svc.scored_answers(inspection)) == (100.0, 0)


def test_the_run_page_shows_inapplicable_items_as_such(client, login, intrusion_only):
    supervisor, inspection = intrusion_only
    login(supervisor)
    total = len(svc.applicable_items(inspection))
    page = client.get(f"/inspections/{inspection.uuid}?lang=en").text
    assert f"0 / {total} answered" in page
    assert "This site has no CCTV: not asked, not scored." in page
    assert page.count('class="item item-na"') == len(inspection.template.live_items) - total
    zh = client.get(f"/inspections/{inspection.uuid}?lang=zh_Hant_TW").text
    assert "不適用" in zh and "本案場未設置" in zh


def test_the_checklist_page_names_each_items_system(client, login, make_user):
    login(make_user("manager"))
    page = client.get(f"/checklists/{svc.active_template().id}?lang=en").text
    assert "· CCTV" in page and "· Access control" in page

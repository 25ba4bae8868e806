"""The vault's pages (issue 12 items 1, 4, 6): masked lists, reveal with a purpose, step-up,
pledge, the access log written and committed before a value is shown, and its CSV."""

from __future__ import annotations

import csv
import io
import logging
import re

import pytest
from sqlalchemy import func, select

from app.briefings import services as briefings
from app.extensions import db
from app.pwa.routes import OUTBOX_ENDPOINTS
from app.vault import services
from app.vault.models import ConfidentialRecord, VaultAccess
from tests import factories
from tests.conftest import is_postgres
from tests.vault.test_at_rest import raw_bytes, sqlite_files

PHONE = "0933-271-828"
CODE = "ZULU-8841#"
KEY_HOLDER = {"name": "林美玲", "phones": [PHONE], "relation": "店長", "calling_order": 1}
HTMX = {"HX-Request": "true"}


@pytest.fixture
def world(app):
    """A site with a key holder (operational) and an alarm code (restricted); a supervisor and
    a guard of the site, one of another site, a manager and an admin; all signed the pledge."""
    site = factories.gen_site()
    other = factories.gen_site()
    people = {
        "supervisor": factories.gen_user("supervisor"),
        "guard": factories.gen_user("guard"),
        "stranger": factories.gen_user("supervisor"),
        "manager": factories.gen_user("manager"),
        "admin": factories.gen_user("admin"),
    }
    factories.assign(people["supervisor"], site)
    factories.assign(people["guard"], site)
    factories.assign(people["stranger"], other)
    pledge = briefings.save_briefing(
        None,
        actor=people["manager"],
        kind="pledge",
        title="保密切結書",
        body="本人承諾保守客戶機密。",
        requires_ack=True,
        due_on=None,
        audience_kind="users",
        site_ids=set(),
        user_ids=set(),
    )
    briefings.publish(pledge, actor=people["manager"])
    for role in ("supervisor", "guard", "stranger", "manager"):
        briefings.acknowledge(pledge, user=people[role])
    key_holder = services.create_record(
        user=people["supervisor"],
        site=site,
        category="key_holder",
        label="第一順位",
        value=KEY_HOLDER,
    )
    alarm = services.create_record(
        user=people["supervisor"], site=site, category="alarm_code", label="主機", value=CODE
    )
    db.session.commit()
    return {
        **people,
        "site": site,
        "other": other,
        "key_holder": key_holder,
        "alarm": alarm,
        "pledge": pledge,
    }


def rows(**where) -> list[VaultAccess]:
    stmt = select(VaultAccess).order_by(VaultAccess.id)
    for name, value in where.items():
        stmt = stmt.where(getattr(VaultAccess, name) == value)
    return list(db.session.scalars(stmt))


def step_up(client):
    return client.post("/account/step-up", data={"password": factories.PASSWORD})


def test_a_supervisor_reveals_a_key_holder_with_a_purpose_after_the_row_is_committed(
    world, client, login
):
    login(world["supervisor"])
    record = world["key_holder"]
    listed = client.get(f"/sites/{world['site'].id}/vault")
    assert listed.status_code == 200
    assert "第一順位" in listed.text and PHONE not in listed.text and "••••" in listed.text
    assert rows(action="list", site_id=world["site"].id)[-1].outcome == "success"

    response = client.post(
        f"/vault/{record.id}/reveal", data={"purpose": "alarm_response"}, headers=HTMX
    )
    assert response.status_code == 200
    assert PHONE in response.text and "林美玲" in response.text
    assert response.headers["Cache-Control"].startswith("no-store")
    assert response.headers["HX-Push-Url"] == "false"
    assert 'hx-history="false"' in response.text
    assert 'data-remask-seconds="60"' in response.text  # the default: a minute
    (row,) = rows(action="reveal")
    assert (row.outcome, row.purpose, row.user_name, row.record_uuid) == (
        "success",
        "alarm_response",
        world["supervisor"].username,
        record.uuid,
    )
    assert row.audit_seq is not None


def test_a_purpose_is_required_and_other_needs_words(world, client, login):
    login(world["supervisor"])
    url = f"/vault/{world['key_holder'].id}/reveal"
    missing = client.post(url, data={}, headers=HTMX)
    other = client.post(url, data={"purpose": "other", "purpose_text": "  "}, headers=HTMX)
    for response in (missing, other):
        assert response.status_code == 422 and PHONE not in response.text
    assert "Say what you need the value for" in other.text or "使用目的" in other.text
    assert rows(action="reveal") == []
    ok = client.post(url, data={"purpose": "other", "purpose_text": "客戶來電確認"}, headers=HTMX)
    assert PHONE in ok.text and rows(action="reveal")[0].purpose_text == "客戶來電確認"


def test_guard_cannot_see_or_reveal_restricted_records(world, client, login):
    login(world["guard"])
    listed = client.get(f"/sites/{world['site'].id}/vault")
    assert "第一順位" in listed.text and "主機" not in listed.text
    response = client.post(f"/vault/{world['alarm'].id}/reveal", data={"purpose": "audit"})
    assert response.status_code == 403 and CODE not in response.text
    (row,) = rows(action="reveal")
    assert (row.outcome, row.reason, row.record_id) == ("denied", "role", world["alarm"].id)
    # The operational key holder is the guard's to reveal, with a purpose.
    ok = client.post(f"/vault/{world['key_holder'].id}/reveal", data={"purpose": "maintenance"})
    assert ok.status_code == 200 and PHONE in ok.text


def test_unassigned_supervisor_gets_404_and_a_denied_row(world, client, login):
    login(world["stranger"])
    site_id, record_id = world["site"].id, world["key_holder"].id
    assert client.get(f"/sites/{site_id}/vault").status_code == 404
    assert client.get(f"/vault/{record_id}").status_code == 404
    reveal = client.post(f"/vault/{record_id}/reveal", data={"purpose": "audit"})
    assert reveal.status_code == 404 and PHONE not in reveal.text
    assert client.get(f"/sites/{site_id}/vault/access-log").status_code == 404
    denied = rows(outcome="denied")
    assert [r.reason for r in denied] == ["not_assigned"] * 4
    assert [r.action for r in denied] == ["list", "list", "reveal", "list"]
    assert all(r.user_id == world["stranger"].id for r in denied)


def test_admin_cannot_reveal_but_reads_the_access_log(world, client, login):
    login(world["admin"])
    record = world["key_holder"]
    response = client.post(f"/vault/{record.id}/reveal", data={"purpose": "audit"})
    assert response.status_code == 403 and PHONE not in response.text
    assert client.get(f"/sites/{world['site'].id}/vault").status_code == 403
    assert [(r.action, r.outcome, r.reason) for r in rows()] == [
        ("reveal", "denied", "role"),
        ("list", "denied", "role"),
    ]
    log = client.get(f"/vault/{record.id}/access-log")
    assert log.status_code == 200 and world["admin"].username in log.text
    assert PHONE not in log.text


def test_a_restricted_value_needs_a_fresh_step_up(world, client, login):
    login(world["supervisor"])
    record = world["alarm"]
    response = client.post(f"/vault/{record.id}/reveal", data={"purpose": "audit"}, headers=HTMX)
    assert response.status_code == 204 and CODE not in response.text
    assert response.headers["HX-Redirect"].startswith("/account/step-up?next=")
    assert f"/vault/{record.id}" in response.headers["HX-Redirect"]
    (row,) = rows(action="reveal")
    assert (row.outcome, row.reason) == ("denied", "step_up")
    plain = client.post(f"/vault/{record.id}/reveal", data={"purpose": "audit"})
    assert plain.status_code == 303 and "/account/step-up" in plain.headers["Location"]

    assert step_up(client).status_code in (302, 303)
    shown = client.post(f"/vault/{record.id}/reveal", data={"purpose": "audit"}, headers=HTMX)
    assert shown.status_code == 200 and CODE in shown.text
    assert rows(action="reveal")[-1].outcome == "success"


def test_without_the_current_pledge_the_user_is_sent_to_it(world, client, login, make_user):
    newcomer = make_user("supervisor")
    factories.assign(newcomer, world["site"])
    db.session.commit()
    login(newcomer)
    response = client.post(
        f"/vault/{world['key_holder'].id}/reveal", data={"purpose": "audit"}, headers=HTMX
    )
    assert response.status_code == 204 and PHONE not in response.text
    assert response.headers["HX-Redirect"] == f"/briefings/{world['pledge'].id}"
    (row,) = rows(action="reveal")
    assert (row.outcome, row.reason) == ("denied", "pledge")


def test_when_the_access_row_cannot_be_written_no_value_is_shown(world, client, login, monkeypatch):
    login(world["supervisor"])

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(services, "log_access", broken)
    response = client.post(
        f"/vault/{world['key_holder'].id}/reveal", data={"purpose": "audit"}, headers=HTMX
    )
    assert response.status_code == 503
    assert PHONE not in response.text and "林美玲" not in response.text
    assert rows(action="reveal") == []


def test_when_the_commit_fails_no_value_is_shown(world, client, login, monkeypatch):
    login(world["supervisor"])
    real_commit = db.session.commit
    calls = {"n": 0}

    def failing_commit():
        calls["n"] += 1
        raise RuntimeError("database is locked")

    monkeypatch.setattr(db.session, "commit", failing_commit)
    response = client.post(f"/vault/{world['key_holder'].id}/reveal", data={"purpose": "audit"})
    monkeypatch.setattr(db.session, "commit", real_commit)
    assert calls["n"] >= 1
    assert response.status_code == 503 and PHONE not in response.text


def test_a_value_that_does_not_decrypt_is_an_error_and_an_error_row(world, client, login):
    login(world["supervisor"])
    record, other = world["key_holder"], world["alarm"]
    # Another row's ciphertext: bound to that row, it must not decrypt here.
    record.value_ciphertext = other.value_ciphertext
    db.session.commit()
    response = client.post(f"/vault/{record.id}/reveal", data={"purpose": "audit"}, headers=HTMX)
    assert response.status_code == 422
    assert "decrypt" in response.text or "解密" in response.text
    assert CODE not in response.text and PHONE not in response.text
    (row,) = rows(action="reveal")
    assert (row.outcome, row.reason) == ("error", "decrypt")


def test_creating_a_key_holder_through_the_form_and_the_errors_it_names(
    world, client, login, caplog
):
    login(world["supervisor"])
    url = f"/sites/{world['site'].id}/vault/new"
    assert client.get(url).status_code == 200
    missing = client.post(url, data={"category": "key_holder", "label": "第二順位"})
    assert missing.status_code == 200
    assert "Enter the key holder" in missing.text or "姓名" in missing.text
    assert db.session.scalar(select(func.count(ConfidentialRecord.id))) == 2

    secret_phone = "0977-654-321"
    with caplog.at_level(logging.DEBUG):
        created = client.post(
            url,
            data={
                "category": "key_holder",
                "label": "第二順位",
                "name": "陳志豪",
                "phone_1": secret_phone,
                "phone_2": "02-2345-6789",
                "relation": "副店長",
                "calling_order": "2",
            },
        )
    assert created.status_code == 303
    record = db.session.scalar(
        select(ConfidentialRecord).where(ConfidentialRecord.label == "第二順位")
    )
    assert record.sensitivity == "operational" and record.retain_until is None
    assert services.read_value(record)["phones"] == [secret_phone, "02-2345-6789"]
    assert rows(action="create")[0].record_id == record.id
    assert secret_phone not in caplog.text and "陳志豪" not in caplog.text


def test_an_alarm_code_defaults_to_restricted_and_edit_keeps_the_value(world, client, login):
    login(world["supervisor"])
    created = client.post(
        f"/sites/{world['site'].id}/vault/new",
        data={"category": "alarm_code", "label": "側門主機", "value": "5566"},
    )
    assert created.status_code == 303
    record = db.session.scalar(
        select(ConfidentialRecord).where(ConfidentialRecord.label == "側門主機")
    )
    assert record.sensitivity == "restricted"
    edit = client.get(f"/vault/{record.id}/edit")
    assert edit.status_code == 200 and "5566" not in edit.text  # an edit page is no reveal
    changed = client.post(
        f"/vault/{record.id}/edit", data={"label": "側門主機 (新)", "sensitivity": "restricted"}
    )
    assert changed.status_code == 303
    db.session.refresh(record)
    assert record.label == "側門主機 (新)" and services.read_value(record) == "5566"
    assert rows(action="change")[-1].record_id == record.id
    client.post(f"/vault/{record.id}/edit", data={"label": "側門主機", "value": "7788"})
    db.session.refresh(record)
    assert services.read_value(record) == "7788"


def test_a_guard_cannot_create_and_a_delete_is_logged(world, client, login):
    login(world["guard"])
    refused = client.post(
        f"/sites/{world['site'].id}/vault/new",
        data={"category": "other", "label": "x", "value": "y"},
    )
    assert refused.status_code == 403
    client.post("/logout")
    login(world["manager"])
    record = world["key_holder"]
    uuid, record_id = record.uuid, record.id
    response = client.post(f"/vault/{record_id}/delete")
    assert response.status_code == 303
    db.session.expunge_all()
    assert db.session.get(ConfidentialRecord, record_id) is None
    (row,) = rows(action="delete")
    assert (row.record_uuid, row.record_label, row.record_id) == (uuid, "第一順位", None)


def test_the_list_paginates_and_says_what_to_do_when_empty(world, client, login, app):
    app.config["PAGE_SIZE"] = 2
    login(world["supervisor"])
    for n in range(3):
        services.create_record(
            user=world["supervisor"],
            site=world["site"],
            category="other",
            label=f"備註{n}",
            value="v",
        )
    db.session.commit()
    first = client.get(f"/sites/{world['site'].id}/vault")
    assert 'rel="next"' in first.text
    second = client.get(f"/sites/{world['site'].id}/vault?page=2")
    assert second.status_code == 200 and 'rel="prev"' in second.text
    empty = client.get(f"/clients/{world['site'].client_id}/vault")
    assert "Add a record" in empty.text or "新增" in empty.text


def test_the_csv_export_has_a_bom_no_value_and_writes_an_export_row(world, client, login):
    login(world["supervisor"])
    client.get(f"/sites/{world['site'].id}/vault")
    client.post(f"/vault/{world['key_holder'].id}/reveal", data={"purpose": "client_request"})
    response = client.get(f"/sites/{world['site'].id}/vault/access-log?format=csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.data.startswith(b"\xef\xbb\xbf")
    text = response.data.decode("utf-8-sig")
    table = list(csv.DictReader(io.StringIO(text)))
    assert {"reveal", "list"} <= {r["action"] for r in table}
    assert any(r["purpose"] == "client_request" for r in table)
    assert PHONE not in text and "林美玲" not in text and CODE not in text
    assert "第一順位" in text  # the label, not the value
    (row,) = rows(action="export")
    assert row.site_id == world["site"].id and row.outcome == "success"


def test_the_access_log_filters_and_keeps_to_the_readers_sites(world, client, login):
    login(world["supervisor"])
    client.get(f"/sites/{world['site'].id}/vault")
    client.post(f"/vault/{world['key_holder'].id}/reveal", data={"purpose": "maintenance"})
    url = f"/sites/{world['site'].id}/vault/access-log"
    everything = client.get(url)
    only_reveals = client.get(url + "?action=reveal")
    assert everything.text.count("vault-log-row") > only_reveals.text.count("vault-log-row") == 1
    assert client.get(url + "?outcome=denied").text.count("vault-log-row") == 0
    assert client.get(f"/sites/{world['other'].id}/vault/access-log").status_code == 404
    # A supervisor does not read another person's log across sites; a manager does.
    assert client.get(f"/users/{world['supervisor'].id}/vault-access-log").status_code == 403
    client.post("/logout")
    login(world["manager"])
    mine = client.get(f"/users/{world['supervisor'].id}/vault-access-log?action=reveal")
    assert mine.status_code == 200 and mine.text.count("vault-log-row") == 1


def test_the_service_worker_never_keeps_or_queues_vault_urls(app, client):
    script = client.get("/sw.js").text
    pattern = re.search(r"const NEVER_KEPT = /(.+)/;", script).group(1)
    never_kept = re.compile(pattern.replace("\\/", "/"))
    vault_rules = [r for r in app.url_map.iter_rules() if r.endpoint.startswith("vault.")]
    assert len(vault_rules) >= 10
    for rule in vault_rules:
        path = re.sub(r"<[^>]+>", "7", rule.rule)
        assert never_kept.search(path), f"{rule.rule} would pass through the worker"
    assert not any(endpoint.startswith("vault.") for endpoint in OUTBOX_ENDPOINTS)
    assert not never_kept.search("/sites/7") and not never_kept.search("/inspections/x")
    assert "if (NEVER_KEPT.test(url.pathname)) return;" in script


@pytest.mark.skipif(is_postgres(), reason="searches the SQLite file and its WAL")
def test_a_value_typed_through_the_form_is_not_in_the_database_file(
    world, client, login, database_url
):
    login(world["supervisor"])
    typed = "ALARM-9157-QUEBEC"
    response = client.post(
        f"/sites/{world['site'].id}/vault/new",
        data={"category": "callback_password", "label": "通話密語", "value": typed},
    )
    assert response.status_code == 303
    contents = b"".join(raw_bytes(path) for path in sqlite_files(database_url))
    assert "通話密語".encode() in contents, "the search would find a clear-text column"
    for encoded in (typed.encode(), typed.encode("utf-16-le")):
        assert encoded not in contents

"""Offboarding a client (issue 12 item 8): counts, the handover export (its rows written
before the file), then the purge (export, typed name, step-up); managers only."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import date

import pytest
from sqlalchemy import func, select

from app import audit
from app.audit.models import AuditEvent
from app.auth.models import UserSession
from app.briefings.models import Acknowledgement, Briefing
from app.db import utcnow
from app.extensions import db
from app.offboarding import services as svc
from app.offboarding.models import ClientOffboarding
from app.vault import services
from app.vault.models import ConfidentialRecord, VaultAccess
from tests.factories import gen_client, gen_site, gen_user

KEY_HOLDER = {
    "name": "王大同",
    "phones": ["0912-000-111", "02-2700-1234"],
    "relation": "總務",
    "calling_order": 1,
}


def sign_pledge(*users) -> None:
    """A published confidentiality pledge, acknowledged by `users`."""
    author = gen_user("manager")
    pledge = Briefing(
        kind="pledge",
        title="保密切結",
        body="我保證不洩漏客戶機密",
        author_id=author.id,
        status="published",
        audience="all",
        published_at=utcnow(),
    )
    db.session.add(pledge)
    db.session.flush()
    for user in users:
        db.session.add(
            Acknowledgement(briefing_id=pledge.id, version=pledge.version, user_id=user.id)
        )
    db.session.flush()


def step_up(user) -> None:
    """Mark the user's newest session as freshly proven (the step-up page's effect)."""
    row = db.session.scalars(
        select(UserSession).where(UserSession.user_id == user.id).order_by(UserSession.id.desc())
    ).first()
    row.stepped_up_at = utcnow()
    db.session.commit()


@pytest.fixture
def world(app):
    client = gen_client(name="遠東商場股份有限公司", contract_end_on=date(2030, 1, 1))
    north, south = gen_site(client, code="FE-N01"), gen_site(client, code="FE-S01")
    author = gen_user("supervisor")
    records = [
        services.create_record(
            user=author,
            client=client,
            category="callback_password",
            label="通話密語",
            value="藍色海豚",
        ),
        services.create_record(
            user=author, site=north, category="alarm_code", label="北棟主機", value="4711#"
        ),
        services.create_record(
            user=author, site=north, category="key_holder", label="第一順位", value=KEY_HOLDER
        ),
        services.create_record(
            user=author, site=south, category="alarm_code", label="南棟主機", value="=1+2"
        ),
    ]
    stranger = services.create_record(
        user=author, site=gen_site(), category="alarm_code", label="別家", value="0000"
    )
    manager = gen_user("manager")
    sign_pledge(manager)
    db.session.commit()
    return {"client": client, "records": records, "stranger": stranger, "manager": manager}


@pytest.fixture
def manager(world, login):
    login(world["manager"])
    step_up(world["manager"])
    return world["manager"]


def _url(world, what=""):
    return f"/clients/{world['client'].id}/offboarding" + (f"/{what}" if what else "")


def _access(action: str) -> list[VaultAccess]:
    return list(db.session.scalars(select(VaultAccess).where(VaultAccess.action == action)))


def test_the_page_counts_the_records_per_category_and_per_site(client, world, manager):
    page = client.get(_url(world)).get_data(as_text=True)
    assert 'data-testid="total">4<' in page
    assert "FE-N01" in page and "FE-S01" in page
    for secret in ("藍色海豚", "4711#", "0912-000-111"):
        assert secret not in page
    counts = svc.inventory(world["client"])
    assert dict(counts.by_category) == {"alarm_code": 2, "callback_password": 1, "key_holder": 1}
    assert [n for _site, n in counts.by_site] == [1, 2, 1]


def test_the_export_holds_every_record_decrypted_and_logs_each_before(client, world, manager):
    response = client.post(_url(world, "export"))
    assert response.status_code == 200, response.status_code
    assert response.mimetype == "application/zip"
    assert "no-store" in response.headers["Cache-Control"]
    assert "attachment" in response.headers["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    assert sorted(archive.namelist()) == ["README.txt", "records.csv", "records.json"]

    body = json.loads(archive.read("records.json"))
    values = {r["label"]: r["value"] for r in body["records"]}
    assert values == {
        "通話密語": "藍色海豚",
        "北棟主機": "4711#",
        "第一順位": KEY_HOLDER,
        "南棟主機": "=1+2",
    }
    assert body["client"]["name"] == "遠東商場股份有限公司" and body["count"] == 4

    raw_csv = archive.read("records.csv")
    assert raw_csv.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw_csv.decode("utf-8-sig"))))
    assert rows[0][2] == "類別 / Category"
    assert any("保全密碼" in cell or "Alarm code" in cell for cell in rows[1] + rows[2])
    csv_values = {row[4]: row[5] for row in rows[1:]}
    assert csv_values["第一順位"].startswith("王大同 / 0912-000-111, 02-2700-1234 / 總務")
    assert csv_values["南棟主機"] == "'=1+2"  # a spreadsheet does not run it as a formula
    readme = archive.read("README.txt").decode()
    assert "遠東商場股份有限公司" in readme and "exported for handover" in readme

    exports = _access("export")
    assert {a.record_uuid for a in exports} == {r.uuid for r in world["records"]}
    assert all(a.user_id == manager.id and a.outcome == "success" for a in exports)
    assert (
        db.session.scalar(
            select(func.count()).where(AuditEvent.action == "client.offboarding_exported")
        )
        == 1
    )
    offboarding = db.session.scalars(select(ClientOffboarding)).one()
    assert offboarding.exported_count == 4 and offboarding.purged_at is None
    assert "藍色海豚" not in offboarding.counts_json
    assert audit.verify_chain().is_intact


def test_no_file_when_the_access_rows_cannot_be_written(client, world, manager, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("access log unavailable")

    monkeypatch.setattr(svc, "log_access", broken)
    response = client.post(_url(world, "export"))
    assert response.status_code == 500 and response.mimetype == "text/html"
    assert b"PK" not in response.data[:2]
    assert _access("export") == []
    assert db.session.scalar(select(func.count()).select_from(ClientOffboarding)) == 0


def test_the_purge_needs_the_export_first(client, world, manager):
    response = client.post(_url(world, "purge"), data={"confirmation": world["client"].name})
    assert response.status_code == 303 and response.headers["Location"].endswith(_url(world))
    page = client.get(_url(world)).get_data(as_text=True)
    assert "請先匯出移交資料" in page
    assert db.session.scalar(select(func.count()).select_from(ConfidentialRecord)) == 5


def test_the_purge_needs_the_clients_name_typed(client, world, manager):
    client.post(_url(world, "export"))
    response = client.post(_url(world, "purge"), data={"confirmation": "遠東商場"})
    assert response.status_code == 303
    page = client.get(_url(world)).get_data(as_text=True)
    assert "請完整輸入上方顯示的業主名稱" in page
    assert db.session.scalar(select(func.count()).select_from(ConfidentialRecord)) == 5
    assert _access("purge") == []


def test_the_purge_deletes_every_record_of_the_client_audited(client, world, manager):
    client.post(_url(world, "export"))
    uuids = {r.uuid for r in world["records"]}
    client_id, name = world["client"].id, world["client"].name
    response = client.post(_url(world, "purge"), data={"confirmation": " 遠東商場股份有限公司 "})
    assert response.status_code == 303
    remaining = set(db.session.scalars(select(ConfidentialRecord.uuid)))
    assert remaining == {world["stranger"].uuid}
    purges = _access("purge")
    assert {a.record_uuid for a in purges} == uuids
    assert all(a.user_id == manager.id and a.reason == "offboarding" for a in purges)
    offboarding = db.session.scalars(select(ClientOffboarding)).one()
    assert offboarding.purged_count == 4 and offboarding.purged_by_id == manager.id
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action.like("%purge%"))).all()
    assert {e.action for e in events} == {
        "vault.purge",
        "vault.purged",
        "client.offboarding_purged",
    }
    for event in events:
        for secret in ("藍色海豚", "4711#", "0912-000-111"):
            assert secret not in event.detail
    assert audit.verify_chain().is_intact  # (it detaches the session's objects)
    # The client's page keeps the offboarding.
    page = client.get(f"/clients/{client_id}?lang=en").get_data(as_text=True)
    assert "Offboardings" in page and "purged" in page and "(4 records)" in page
    # A second purge needs a new export.
    again = client.post(f"/clients/{client_id}/offboarding/purge", data={"confirmation": name})
    assert again.status_code == 303 and len(_access("purge")) == 4


def test_a_record_added_after_the_export_stops_the_purge(client, world, manager):
    client.post(_url(world, "export"))
    services.create_record(
        user=manager, client=world["client"], category="other", label="新增", value="later"
    )
    db.session.commit()
    client.post(_url(world, "purge"), data={"confirmation": world["client"].name})
    assert db.session.scalar(select(func.count()).select_from(ConfidentialRecord)) == 6


def test_export_and_purge_ask_for_a_fresh_step_up(client, world, login):
    login(world["manager"])
    export = client.post(_url(world, "export"))
    assert export.status_code == 303 and "/step-up" in export.headers["Location"]
    assert _access("export") == []
    purge = client.post(_url(world, "purge"), data={"confirmation": world["client"].name})
    assert purge.status_code == 303 and "/step-up" in purge.headers["Location"]


def test_export_asks_for_the_pledge_first(client, world, login):
    other = gen_user("manager")
    db.session.commit()
    login(other)
    step_up(other)
    response = client.post(_url(world, "export"))
    assert response.status_code == 303 and response.headers["Location"].endswith(_url(world))
    assert _access("export") == []


@pytest.mark.parametrize("role", ["admin", "supervisor", "guard", "client"])
def test_only_managers_offboard(client, world, login, make_user, role):
    extra = {"client_id": world["client"].id} if role == "client" else {}
    user = make_user(role, **extra)
    login(user)
    step_up(user)
    assert client.get(_url(world)).status_code == 403
    assert client.post(_url(world, "export")).status_code == 403
    response = client.post(_url(world, "purge"), data={"confirmation": world["client"].name})
    assert response.status_code == 403
    assert _access("export") == [] and _access("purge") == []

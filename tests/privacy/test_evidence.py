"""The evidence pack: every file, UTF-8 with a BOM, the Art. 12 items in the README, never a
confidential value or a key; downloading it is audited and logged as a vault export."""

from __future__ import annotations

import io
import zipfile

from sqlalchemy import select

from app.audit.models import AuditEvent
from app.extensions import db
from app.privacy import services as svc
from app.privacy.evidence import ARTICLE_12_ITEMS, FILES
from app.vault import services as vault
from app.vault.access import log_access
from app.vault.models import VaultAccess
from tests import factories
from tests.conftest import BASE_CONFIG

SECRET = "8642-ALARM-1357"


def _download(client, first="2020-01-01", last="2030-12-31"):
    response = client.post("/privacy/evidence", data={"first": first, "last": last})
    assert response.status_code == 200, response.text[:500]
    assert response.mimetype == "application/zip"
    assert "attachment" in response.headers["Content-Disposition"]
    return zipfile.ZipFile(io.BytesIO(response.data))


def test_the_pack_holds_every_file_maps_article_12_and_no_secret(client, make_user, login):
    manager = make_user("manager")
    supervisor = make_user("supervisor")
    site = factories.gen_site()
    factories.assign(supervisor, site)
    record = vault.create_record(
        user=manager, category="alarm_code", label="Front panel", value=SECRET, site=site
    )
    log_access(supervisor, "reveal", record=record, purpose="maintenance")
    svc.mark_reviewed(site, user=manager, note="checked")
    svc.create_incident(user=manager, discovered_at=record.created_at, summary="Lost list")
    db.session.commit()
    login(manager)

    pack = _download(client)

    assert sorted(pack.namelist()) == sorted(FILES)
    everything = b"".join(pack.read(name) for name in pack.namelist())
    assert SECRET.encode() not in everything
    key_material = BASE_CONFIG["DATA_KEYS"].split(":", 1)[1].encode()
    assert key_material not in everything
    for name in pack.namelist():
        assert pack.read(name).startswith("\ufeff".encode()), name
    readme = pack.read("README.txt").decode("utf-8-sig")
    for zh, en in ARTICLE_12_ITEMS:
        assert zh in readme and en in readme
    access = pack.read("vault_access.csv").decode("utf-8-sig")
    assert "reveal" in access and "Front panel" in access and "maintenance" in access
    assert site.code in access
    assert "checked" in pack.read("permission_reviews.csv").decode("utf-8-sig")
    assert "Lost list" in pack.read("privacy_incidents.csv").decode("utf-8-sig")
    keys = pack.read("keys_in_use.csv").decode("utf-8-sig").splitlines()
    assert keys[1].startswith("k1,1,yes,yes")
    assert "intact: yes" in pack.read("audit_chain.txt").decode("utf-8-sig")
    staff = pack.read("staff.csv").decode("utf-8-sig")
    assert manager.username in staff and supervisor.username in staff


def test_downloading_is_audited_and_logged_as_a_vault_export(client, make_user, login):
    manager = make_user("manager")
    login(manager)
    _download(client, "2026-01-01", "2026-03-31")
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "privacy.evidence_pack")
    )
    assert event.actor_id == manager.id and '"from": "2026-01-01"' in event.detail
    export = db.session.scalar(select(VaultAccess).where(VaultAccess.action == "export"))
    assert export.user_id == manager.id and export.purpose == "audit"
    assert export.audit_seq is not None


def test_the_period_limits_the_access_log(client, make_user, login):
    manager = make_user("manager")
    site = factories.gen_site()
    log_access(manager, "list", site_id=site.id)
    db.session.commit()
    login(manager)
    old = _download(client, "2001-01-01", "2001-12-31")
    assert len(old.read("vault_access.csv").decode("utf-8-sig").splitlines()) == 1  # header only


def test_cells_that_look_like_formulas_are_defused(client, make_user, login):
    manager = make_user("manager", display_name="=HYPERLINK(1)")
    svc.mark_reviewed(factories.gen_site(), user=manager, note="@SUM(A1)")
    db.session.commit()
    login(manager)
    reviews = _download(client).read("permission_reviews.csv").decode("utf-8-sig")
    assert "'=HYPERLINK(1)" in reviews and "'@SUM(A1)" in reviews


def test_only_managers_download_it(client, make_user, login):
    login(make_user("supervisor"))
    assert client.post("/privacy/evidence", data={"first": "2026-01-01"}).status_code == 403

"""The client's portal (issue 14 item 4): his own sites only, the incidents the company shared
(their summaries, never the narrative), the open repairs (never the repairer's notes)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.db import new_uuid, utcnow
from app.extensions import db
from app.incidents import services as incidents
from app.incidents.models import Incident
from app.maintenance.models import RepairTicket, RepairUpdate
from tests import factories
from tests.test_permissions import TABLE, entries

NARRATIVE = "王小明（0912-345-678）持刀闖入"
SUMMARY = "夜間有人闖入後門，保全人員 12 分鐘內到場，已報警處理。"


@pytest.fixture
def world(app, make_user):
    ours = factories.gen_client(name="信義商辦")
    site, second = factories.gen_site(client=ours), factories.gen_site(client=ours)
    foreign = factories.gen_site()  # another client's
    supervisor, manager = make_user("supervisor"), make_user("manager")
    factories.assign(supervisor, site)
    shared = factories.gen_incident(site, supervisor, narrative=NARRATIVE, category="intrusion")
    incidents.share_with_client(shared, user=manager, summary=SUMMARY)
    hidden = factories.gen_incident(site, supervisor, narrative="內部：尚未分享的事件")
    elsewhere = factories.gen_incident(foreign, supervisor, narrative="x")
    incidents.share_with_client(elsewhere, user=manager, summary="別家業主的事件摘要")
    open_ticket = _ticket(site, supervisor, "後門磁簧損壞", status="dispatched")
    db.session.add(
        RepairUpdate(ticket_id=open_ticket.id, author_id=supervisor.id, note="廠商報價過高，內部")
    )
    _ticket(site, supervisor, "已完成驗收的維修", status="verified")
    _ticket(site, supervisor, "已取消的報修", status="cancelled")
    _ticket(foreign, supervisor, "別家業主的報修")
    client_user = make_user("client", client_id=ours.id)
    db.session.commit()
    return {
        "site": site,
        "second": second,
        "foreign": foreign,
        "supervisor": supervisor,
        "manager": manager,
        "client": client_user,
        "shared": shared,
        "hidden": hidden,
    }


def _ticket(site, user, problem: str, *, status: str = "reported") -> RepairTicket:
    ticket = RepairTicket(
        uuid=new_uuid(),
        site_id=site.id,
        problem=problem,
        vendor="內部廠商甲",
        status=status,
        reported_by_id=user.id,
    )
    db.session.add(ticket)
    db.session.flush()
    return ticket


def _denials(target: str) -> int:
    return db.session.scalar(
        select(func.count(AuditEvent.seq)).where(
            AuditEvent.outcome == "denied", AuditEvent.target == target
        )
    )


def test_client_reads_shared_summaries_and_open_repairs_of_his_site_and_nothing_else(
    client, login, world
):
    login(world["client"])
    page = client.get(f"/portal/sites/{world['site'].id}?lang=zh-TW").text
    assert SUMMARY in page
    assert "入侵" in page  # the category
    assert "後門磁簧損壞" in page and "已派修" in page
    # Never the narrative, an unshared incident, another client's, a closed ticket, a note.
    for secret in (
        NARRATIVE,
        "0912-345-678",
        "內部：尚未分享的事件",
        "別家業主的事件摘要",
        "已完成驗收的維修",
        "已取消的報修",
        "別家業主的報修",
        "廠商報價過高",
        "內部廠商甲",
        world["supervisor"].display_name,
    ):
        assert secret not in page, secret
    # The sheets' hook: its empty state until the sheets feature lists them.
    assert "保全公司將管控紀錄表提供給您後，會顯示在這裡" in page


def test_another_clients_site_does_not_exist_for_him_and_the_denial_is_audited(
    client, login, world
):
    login(world["client"])
    target = f"site:{world['foreign'].id}"
    before = _denials(target)
    assert client.get(f"/portal/sites/{world['foreign'].id}").status_code == 404
    assert _denials(target) == before + 1
    assert client.get("/portal/sites/999999").status_code == 404


def test_an_inactive_site_is_gone_from_the_portal(client, login, world):
    world["second"].is_active = False
    db.session.commit()
    login(world["client"])
    assert client.get(f"/portal/sites/{world['second'].id}").status_code == 404
    home = client.get("/").text
    assert f"/portal/sites/{world['second'].id}" not in home


@pytest.mark.parametrize("role", ["guard", "supervisor", "manager", "admin"])
def test_staff_have_no_portal(client, login, make_user, world, role):
    user = make_user(role)
    if role in ("guard", "supervisor"):
        factories.assign(user, world["site"])
        db.session.commit()
    login(user)
    assert client.get(f"/portal/sites/{world['site'].id}").status_code == 403


def test_a_client_user_without_a_client_has_no_portal(client, login, make_user, world):
    login(make_user("client"))
    assert client.get(f"/portal/sites/{world['site'].id}").status_code == 403


def test_home_rows_lead_to_the_site_pages_with_their_counts(client, login, world):
    login(world["client"])
    home = client.get("/?lang=en").text
    assert f'href="/portal/sites/{world["site"].id}"' in home
    assert f'href="/portal/sites/{world["second"].id}"' in home
    assert f"/portal/sites/{world['foreign'].id}" not in home
    assert "1 incident" in home and "1 open repair" in home
    assert "0 incidents" in home and "0 open repairs" in home


def _audit(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_manager_shares_changes_and_unshares_an_incident_each_audited(client, login, world):
    incident = world["hidden"]
    login(world["manager"])
    url = f"/incidents/{incident.id}"
    page = client.get(url + "?lang=en").text
    assert "Not shared: the client does not see this incident." in page
    response = client.post(url + "/share", data={"client_summary": "  門口燈故障，已修復。 "})
    assert response.status_code == 303
    db.session.refresh(incident)
    assert incident.client_summary == "門口燈故障，已修復。"
    assert incident.shared_by_id == world["manager"].id and incident.shared_with_client_at
    [shared] = [
        e for e in _audit("incident.shared_with_client") if e.target.endswith(f":{incident.id}")
    ]
    assert shared.actor_id == world["manager"].id and "門口燈" not in shared.detail

    client.post(url + "/share", data={"client_summary": "門口燈故障，廠商已更換。"})
    assert len(_audit("incident.client_summary_changed")) == 1
    client.post(url + "/share", data={"client_summary": "門口燈故障，廠商已更換。"})  # unchanged
    assert len(_audit("incident.client_summary_changed")) == 1

    assert client.post(url + "/unshare").status_code == 303
    db.session.refresh(incident)
    assert incident.shared_with_client_at is None and incident.shared_by_id is None
    assert incident.client_summary == "門口燈故障，廠商已更換。"  # kept for a re-share
    assert len(_audit("incident.unshared_with_client")) == 1
    timeline = client.get(url + "?lang=en").text
    assert "shared with the client" in timeline and "no longer shared with the client" in timeline


def test_an_empty_summary_is_refused_and_nothing_is_shared(client, login, world):
    incident = world["hidden"]
    login(world["manager"])
    response = client.post(
        f"/incidents/{incident.id}/share", data={"client_summary": "   "}, follow_redirects=True
    )
    assert response.status_code == 200
    db.session.refresh(incident)
    assert incident.shared_with_client_at is None


def test_unsharing_what_is_not_shared_is_refused(client, login, world):
    login(world["manager"])
    response = client.post(
        f"/incidents/{world['hidden'].id}/unshare?lang=en", follow_redirects=True
    )
    assert "This incident is not shared with the client." in response.text


def test_the_sites_supervisor_sees_the_share_but_may_not_change_it(client, login, world):
    login(world["supervisor"])
    url = f"/incidents/{world['shared'].id}"
    page = client.get(url + "?lang=en").text
    assert SUMMARY in page and "Stop sharing" not in page
    assert client.post(url + "/share", data={"client_summary": "x"}).status_code == 403
    assert client.post(url + "/unshare").status_code == 403


def test_unshared_incident_leaves_the_clients_page(client, login, world):
    incidents.unshare_with_client(world["shared"], user=world["manager"])
    db.session.commit()
    login(world["client"])
    page = client.get(f"/portal/sites/{world['site'].id}").text
    assert SUMMARY not in page


#: Routes a client user may open: his account, his notifications, the portal. Every staff page
#: answers him 403 or 404 (the permission table proves each; this keeps the list short).
CLIENT_ROUTES = {
    "static",
    "main.home",
    "ops.healthz",
    "ops.metrics",  # from this machine or to METRICS_TOKEN only, whoever is signed in
    "auth.login",
    "auth.logout",
    "auth.account",
    "auth.revoke_own_session",
    "auth.change_password",
    "auth.step_up",
    "auth.step_up_passkey_options",
    "auth.step_up_passkey",
    "auth.second_factor",
    "auth.passkey_sign_in_options",
    "auth.passkey_sign_in",
    "notifications.notifications",
    "notifications.mark_read",
    "notifications.unread",
    "portal.site",
    # Control-record sheets: the released ones of his own client (read, PDF, sign for).
    "records.sheets",
    "records.sheet",
    "records.sheet_pdf",
    "records.sheet_logo",  # the company logo and seal printed on his released sheets
    "records.sheet_seal",
    "records.acknowledge",
    # The app shell (manifest, service worker, offline page, the outbox's own pages).
    "pwa.manifest",
    "pwa.service_worker",
    "pwa.offline",
    "pwa.outbox",
    "pwa.outbox_saved",
    "pwa.outbox_token",
}


def test_no_staff_route_is_open_to_a_client():
    open_to_client = {
        endpoint for endpoint in TABLE if any("client" in e.allowed for e in entries(endpoint))
    }
    assert open_to_client <= CLIENT_ROUTES, open_to_client - CLIENT_ROUTES


def test_the_share_leaves_the_incidents_other_fields_alone(app, world):
    incident = db.session.get(Incident, world["shared"].id)
    assert incident.narrative == NARRATIVE and incident.status == "open"
    assert incident.updates[-1].event == "shared_with_client"
    assert incident.shared_with_client_at <= utcnow()


def test_the_demo_client_reads_a_shared_incident_and_an_open_repair(runner, client):
    from app.demo import DEMO_PASSWORD
    from app.sites.models import Site

    assert runner.invoke(args=["demo"]).exit_code == 0
    assert "already present" in runner.invoke(args=["demo"]).output  # idempotent
    client.post("/login", data={"username": "client", "password": DEMO_PASSWORD})
    site = db.session.scalar(select(Site).where(Site.code == "TPE-0002"))
    home = client.get("/").text
    assert f'href="/portal/sites/{site.id}"' in home
    page = client.get(f"/portal/sites/{site.id}").text
    assert "保全人員於 14 分鐘內到場並報警" in page
    assert "後門磁簧感知器遭破壞，需更換" in page
    assert "0912-345-678" not in page and "陳志明" not in page and "示範系統工程行" not in page

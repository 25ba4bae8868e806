"""Statement budgets: the SQL a page sends does not grow with the data (STYLE.md, Tests).

Each case counts the statements of one request on a small world, grows the world tenfold
(sites, guards, briefings, inspections, incidents, alarms, repairs, check-ins, training,
notifications) and counts again: the two counts must be equal, and within the page's budget.
"""

from __future__ import annotations

import pytest

from app.extensions import db
from app.inspections.models import Inspection
from app.vault import services as vault
from app.vault.models import CATEGORIES
from tests import factories
from tests.budget_world import World
from tests.querycount import count_queries


def _draft(world: World) -> Inspection:
    return db.session.scalars(
        db.select(Inspection)
        .where(Inspection.site_id == world.sites[0].id, Inspection.status == "draft")
        .limit(1)
    ).one()


def _first_item_id(world: World) -> int:
    draft = _draft(world)
    return next(i.id for i in draft.template.items if i.kind == "pass_fail")


def _offboarding(world: World) -> str:
    """The first client's offboarding page, its vault grown with the world: per site of the
    world one more site of that client, with a record of each category there."""
    client = world.sites[0].client
    author = world.users["manager"]
    done = getattr(world, "vault_sites", 0)
    for _ in range(len(world.sites) - done):
        site = factories.gen_site(client=client)
        for category in CATEGORIES:
            value = (
                {"name": "x", "phones": ["1"], "calling_order": 1}
                if category == "key_holder"
                else "x"
            )
            vault.create_record(user=author, site=site, category=category, label="l", value=value)
    world.vault_sites = len(world.sites)
    db.session.commit()
    return f"/clients/{client.id}/offboarding"


#: Every export of the dashboard's exports page.
EXPORT_KINDS = (
    "inspections",
    "answers",
    "incidents",
    "alarms",
    "arming",
    "repairs",
    "maintenance",
    "check_ins",
    "acknowledgements",
    "training",
)

#: (role, method, url maker, htmx?, budget): url makers take the world.
PAGES = {
    "home": [
        (role, "GET", lambda w: "/", False)
        for role in ("guard", "supervisor", "manager", "admin", "client")
    ],
    "site_card": [
        (role, "GET", lambda w: f"/sites/{w.sites[0].id}", False)
        for role in ("guard", "supervisor", "manager")
    ],
    "scan_landing": [
        (role, "GET", lambda w: f"/s/{w.sites[0].qr_token}", False)
        for role in ("guard", "supervisor")
    ],
    "code_check_in_page": [
        (role, "GET", lambda w: f"/sites/{w.sites[0].id}/check-in", False)
        for role in ("guard", "supervisor")
    ],
    "inspection_run": [("supervisor", "GET", lambda w: f"/inspections/{_draft(w).uuid}", False)],
    "answer_save": [
        (
            "supervisor",
            "POST",
            lambda w: f"/inspections/{_draft(w).uuid}/items/{_first_item_id(w)}",
            True,
        )
    ],
    "inspections": [(r, "GET", lambda w: "/inspections", False) for r in ("supervisor", "manager")],
    "inspections_fragment": [("manager", "GET", lambda w: "/inspections?page=1", True)],
    "incidents": [
        (r, "GET", lambda w: "/incidents", False) for r in ("guard", "supervisor", "manager")
    ],
    "incidents_fragment": [("supervisor", "GET", lambda w: "/incidents?status=open", True)],
    "alarms": [(r, "GET", lambda w: "/alarms", False) for r in ("guard", "supervisor", "manager")],
    "alarms_filtered": [
        ("manager", "GET", lambda w: "/alarms?false=1&from=2000-01-01&cause=unknown", False)
    ],
    "alarm_figures": [
        (r, "GET", lambda w: "/alarms/figures?from=2000-01-01", False)
        for r in ("supervisor", "manager")
    ],
    "repairs": [(r, "GET", lambda w: "/repairs", False) for r in ("supervisor", "manager")],
    "dashboard": [
        (r, "GET", lambda w: "/dashboard?from=2000-01-01", False) for r in ("supervisor", "manager")
    ],
    "dashboard_12_months": [("manager", "GET", lambda w: "/dashboard?preset=12_months", False)],
    "export_csv": [
        (r, "GET", lambda w, kind=kind: f"/exports/{kind}.csv?from=2000-01-01", False)
        for r in ("supervisor", "manager")
        for kind in EXPORT_KINDS
    ],
    "export_xlsx": [("manager", "GET", lambda w: "/exports/answers.xlsx?from=2000-01-01", False)],
    "repair_new": [(r, "GET", lambda w: "/repairs/new", False) for r in ("supervisor", "manager")],
    "maintenance": [(r, "GET", lambda w: "/maintenance", False) for r in ("supervisor", "manager")],
    "check_ins": [
        (r, "GET", lambda w: "/check-ins", False) for r in ("guard", "supervisor", "manager")
    ],
    "briefings": [
        (r, "GET", lambda w: "/briefings", False) for r in ("guard", "supervisor", "manager")
    ],
    "training": [
        (r, "GET", lambda w: "/training", False) for r in ("guard", "supervisor", "manager")
    ],
    "training_month": [
        (r, "GET", lambda w: "/training/month", False) for r in ("supervisor", "manager")
    ],
    "training_month_csv": [
        (r, "GET", lambda w: "/training/month.csv", False) for r in ("supervisor", "manager")
    ],
    "notifications": [
        (r, "GET", lambda w: "/notifications", False)
        for r in ("guard", "supervisor", "manager", "admin", "client")
    ],
    "privacy_notice": [
        (r, "GET", lambda w: "/privacy/notice", False)
        for r in ("guard", "supervisor", "manager", "admin")
    ],
    "privacy_overview": [("manager", "GET", lambda w: "/privacy", False)],
    "privacy_site_access": [("manager", "GET", lambda w: f"/privacy/sites/{w.sites[0].id}", False)],
    "privacy_incidents": [("manager", "GET", lambda w: "/privacy/incidents", False)],
    "offboarding": [("manager", "GET", _offboarding, False)],
    "portal_site": [("client", "GET", lambda w: f"/portal/sites/{w.sites[0].id}", False)],
    "account": [
        (r, "GET", lambda w: "/account", False)
        for r in ("guard", "supervisor", "manager", "admin", "client")
    ],
}

CASES = [
    pytest.param(role, method, url, htmx, id=f"{page}-{role}")
    for page, rows in PAGES.items()
    for role, method, url, htmx in rows
]


def _count(client, method, url, htmx) -> tuple[int, list[str]]:
    headers = {"HX-Request": "true"} if htmx else {}
    data = {"value": "pass"} if method == "POST" else None
    with count_queries() as count:
        response = client.open(url, method=method, headers=headers, data=data)
    assert response.status_code == 200, (url, response.status_code)
    return count(), count.statements


@pytest.mark.parametrize(("role", "method", "url", "htmx"), CASES)
def test_statements_do_not_grow_with_the_data(app, client, login, role, method, url, htmx):
    world = World().grow(1)
    login(world.users[role])
    small, small_statements = _count(client, method, url(world), htmx)
    world.grow(9)
    large, large_statements = _count(client, method, url(world), htmx)
    assert large == small, "\n".join(
        ["statements grew:", *large_statements[len(small_statements) - 5 :]]
    )


# ---------------------------------------------------------------- the vault (issue 12)


def _grow_vault(world: World, records: int) -> None:
    """`records` more records of the first site and of its client, each revealed once and
    listed, so the masked lists and the access logs grow with them."""
    from app.vault import services as vault
    from app.vault.access import log_access

    site = world.sites[0]
    for n in range(records):
        for owner in ({"site": site}, {"client": site.client}):
            record = vault.create_record(
                user=world.supervisor, category="other", label=f"備註 {n}", value="x", **owner
            )
            log_access(world.supervisor, "reveal", record=record, purpose="audit")
            log_access(world.manager, "list", record=record)
    db.session.commit()


#: (role, url maker): a page of the vault whose statements must not grow with its rows.
VAULT_PAGES = [
    ("supervisor", lambda w: f"/sites/{w.sites[0].id}/vault"),
    ("manager", lambda w: f"/clients/{w.sites[0].client_id}/vault"),
    ("guard", lambda w: f"/sites/{w.sites[0].id}/vault?page=2"),
    ("supervisor", lambda w: f"/sites/{w.sites[0].id}/vault/access-log"),
    ("manager", lambda w: f"/clients/{w.sites[0].client_id}/vault/access-log?action=reveal"),
    ("admin", lambda w: f"/users/{w.supervisor.id}/vault-access-log"),
    ("admin", lambda w: f"/sites/{w.sites[0].id}/vault/access-log?format=csv"),
]


@pytest.mark.parametrize(
    ("role", "url"),
    [pytest.param(role, url, id=f"vault-{n}-{role}") for n, (role, url) in enumerate(VAULT_PAGES)],
)
def test_vault_pages_do_not_grow_with_records_or_accesses(app, client, login, role, url):
    app.config["PAGE_SIZE"] = 5
    world = World().grow(1)
    _grow_vault(world, 6)
    login(world.users[role])
    small, small_statements = _count(client, "GET", url(world), False)
    _grow_vault(world, 30)
    large, large_statements = _count(client, "GET", url(world), False)
    assert large == small, "\n".join(
        ["statements grew:", *large_statements[len(small_statements) - 5 :]]
    )


# ---------------------------------------------------------------- key custody
# Key bags live at one site: the lists grow with that site's bags and a bag's history.


def _grow_key_bags(world: World, bags: int) -> None:
    from app.custody import services as custody
    from app.db import new_uuid

    site = world.sites[0]
    first = _first_bag_row(world)
    for _ in range(bags if first is not None else 0):  # the first bag's history grows too
        custody.put_back(first, user=world.manager, uuid=new_uuid(), seal_number=new_uuid()[:8])
        custody.take_out(first, user=world.supervisor, uuid=new_uuid(), purpose="audit")
    for _ in range(bags):
        number = f"K-{new_uuid()[:8]}"
        bag = custody.create_bag(
            site,
            user=world.manager,
            bag_number=number,
            contents="後門鑰匙 ×2",
            stored_at="B-3",
            seal_number="S-1",
        )
        for person in (world.supervisor, world.manager):
            custody.take_out(bag, user=person, uuid=new_uuid(), purpose="maintenance")
            custody.put_back(bag, user=person, uuid=new_uuid(), seal_number=new_uuid()[:8])
        custody.take_out(bag, user=world.supervisor, uuid=new_uuid(), purpose="audit")
    db.session.commit()


def _first_bag_row(world: World):
    from app.custody.models import KeyBag

    return db.session.scalars(
        db.select(KeyBag).where(KeyBag.site_id == world.sites[0].id).order_by(KeyBag.id)
    ).first()


def _first_bag(world: World) -> str:
    from app.custody.models import KeyBag

    return db.session.scalars(
        db.select(KeyBag.uuid).where(KeyBag.site_id == world.sites[0].id).order_by(KeyBag.id)
    ).first()


CUSTODY_PAGES = [
    pytest.param(role, url, htmx, id=f"{name}-{role}")
    for name, url, htmx in (
        ("site_keys", lambda w: f"/sites/{w.sites[0].id}/keys", False),
        ("site_keys_summary", lambda w: f"/sites/{w.sites[0].id}/keys/summary", True),
        ("bag", lambda w: f"/keys/{_first_bag(w)}", False),
        ("inspection_keys", lambda w: f"/inspections/{_draft(w).uuid}/keys", True),
        ("site_card", lambda w: f"/sites/{w.sites[0].id}", False),
    )
    for role in ("supervisor", "manager")
]


@pytest.mark.parametrize(("role", "url", "htmx"), CUSTODY_PAGES)
def test_key_custody_statements_do_not_grow_with_the_bags(app, client, login, role, url, htmx):
    world = World().grow(1)
    _grow_key_bags(world, 2)
    login(world.users[role])
    small, small_statements = _count(client, "GET", url(world), htmx)
    _grow_key_bags(world, 18)
    large, large_statements = _count(client, "GET", url(world), htmx)
    assert large == small, "\n".join(
        ["statements grew:", *large_statements[len(small_statements) - 5 :]]
    )


# ---------------------------------------------------------------- arm/disarm records
# The site card's 30 days and the site's list grow with its events; integrations with sites.


def _grow_arm_events(world: World, days: int) -> None:
    from datetime import time, timedelta

    from app.arming import services as arming
    from app.db import utcnow

    site = world.sites[0]
    if not arming.hours_of(site.id):
        arming.set_opening_hours(
            site,
            user=world.manager,
            days=[arming.DaySpec(n, n >= 5, time(9), time(18)) for n in range(7)],
        )
    done = getattr(world, "arm_days", 0)
    now = utcnow()
    items = []
    for n in range(done, done + days):
        for kind, hours in (("disarm", 10), ("arm", 2), ("disarm", 1)):
            at = now - timedelta(days=n, hours=hours, minutes=n % 7)
            items.append(arming.EventInput(site=site, kind=kind, occurred_at=at))
    arming.record_events(items, source="manual", user=world.manager)
    sites = [s for s in world.sites[: 1 + days // 3]]
    arming.create_integration(user=world.manager, name=f"M{done}", site_ids={s.id for s in sites})
    world.arm_days = done + days
    db.session.commit()


ARMING_PAGES = [
    pytest.param(role, url, id=f"{name}-{role}")
    for name, url, roles in (
        ("site_card", lambda w: f"/sites/{w.sites[0].id}", ("supervisor", "manager")),
        ("site_events", lambda w: f"/sites/{w.sites[0].id}/arming", ("supervisor", "manager")),
        ("hours", lambda w: f"/sites/{w.sites[0].id}/hours", ("supervisor", "admin")),
        ("integrations", lambda w: "/arming/integrations", ("manager",)),
        ("integration_new", lambda w: "/arming/integrations/new", ("manager",)),
    )
    for role in roles
]


@pytest.mark.parametrize(("role", "url"), ARMING_PAGES)
def test_arming_pages_do_not_grow_with_the_events(app, client, login, role, url):
    world = World().grow(1)
    _grow_arm_events(world, 3)
    login(world.users[role])
    small, small_statements = _count(client, "GET", url(world), False)
    world.grow(3)
    _grow_arm_events(world, 30)
    large, large_statements = _count(client, "GET", url(world), False)
    assert large == small, "\n".join(
        ["statements grew:", *large_statements[len(small_statements) - 5 :]]
    )


# ---------------------------------------------------------------- push settings
# The push settings page lists the user's devices: its statements do not grow with them.


@pytest.mark.parametrize("role", ["guard", "supervisor", "manager"])
def test_push_settings_do_not_grow_with_devices(app, client, login, role):
    world = World().grow(1)
    user = world.users[role]
    for _ in range(2):
        factories.gen_push_device(user)
    db.session.commit()
    login(user)
    small, small_statements = _count(client, "GET", "/account/push", False)
    for _ in range(8):
        factories.gen_push_device(user)
    db.session.commit()
    large, large_statements = _count(client, "GET", "/account/push", False)
    assert large == small, "\n".join(["statements grew:", *large_statements])
    assert small <= 12, "\n".join(small_statements)


# ---------------------------------------------------------------- the client's portal
# The client's home and site page grow with his client's sites, the incidents shared with him
# (and those not shared), the open repairs (and the closed ones).


def _grow_portal(world: World, units: int) -> None:
    from app.db import new_uuid
    from app.incidents import services as incidents
    from app.maintenance.models import RepairTicket

    site = world.sites[0]
    for _ in range(units):
        factories.gen_site(client=site.client)
        for shared in (True, False):
            incident = factories.gen_incident(site, world.supervisor)
            if shared:
                incidents.share_with_client(incident, user=world.manager, summary="後門遭破壞")
        for status in ("reported", "dispatched", "verified", "cancelled"):
            db.session.add(
                RepairTicket(
                    uuid=new_uuid(),
                    site_id=site.id,
                    problem="警報器不響",
                    status=status,
                    reported_by_id=world.supervisor.id,
                )
            )
    db.session.commit()


@pytest.mark.parametrize(
    "url",
    [
        pytest.param(lambda w: "/", id="portal-home"),
        pytest.param(lambda w: f"/portal/sites/{w.sites[0].id}", id="portal-site"),
    ],
)
def test_portal_pages_do_not_grow_with_sites_incidents_or_repairs(app, client, login, url):
    world = World().grow(1)
    _grow_portal(world, 2)
    login(world.client_user)
    small, small_statements = _count(client, "GET", url(world), False)
    world.grow(2)
    _grow_portal(world, 12)
    large, large_statements = _count(client, "GET", url(world), False)
    assert large == small, "\n".join(
        ["statements grew:", *large_statements[len(small_statements) - 5 :]]
    )
    assert small <= 12, "\n".join(small_statements)


# ---------------------------------------------------------------- control-record sheets
# A sheet's figures (live until approval) and the list of sheets: the statements do not grow
# with the sites a roll-up covers, nor with the inspections, alarms, incidents, repairs,
# check-ins and guards of the month, nor with the number of sheets.


def _sheets_world(world: World) -> dict:
    """Every site of the world moved under the first client, its records into this month and
    onto the first site; a sheet of this month per site, the client's roll-up, one released."""
    from sqlalchemy import update

    from app.db import utcnow
    from app.i18n import taipei_today
    from app.incidents.models import AlarmResponse, Incident
    from app.inspections.models import Answer
    from app.maintenance.models import RepairTicket
    from app.records import services as records
    from app.records.models import ControlRecordSheet
    from app.sites.models import CheckIn, Site

    first, client = world.sites[0], world.sites[0].client
    now, today = utcnow(), taipei_today()
    db.session.execute(update(Site).values(client_id=client.id))
    db.session.execute(update(Inspection).values(site_id=first.id, submitted_at=now))
    db.session.execute(update(Answer).values(is_pass=Answer.value != "fail"))
    for model in (AlarmResponse, Incident, RepairTicket, CheckIn):
        db.session.execute(update(model).values(site_id=first.id))
    db.session.execute(update(AlarmResponse).values(arrived_at=now))
    db.session.expire_all()
    for site in world.sites:
        records.prepare(user=world.manager, month=today, today=today, remarks="", site=site)
    roll_up = records.prepare(
        user=world.manager, month=today, today=today, remarks="", client=client
    )
    released = db.session.scalar(
        db.select(ControlRecordSheet).where(ControlRecordSheet.subject == f"site:{first.id}")
    )
    if released.status == "prepared":
        records.approve(released, user=world.manager)
        records.release(released, user=world.manager)
    db.session.commit()
    return {"site_sheet": released.id, "roll_up": roll_up.id}


SHEET_PAGES = [
    pytest.param(role, url, id=f"{name}-{role}")
    for name, url, roles in (
        ("list", lambda s: "/records", ("supervisor", "manager", "client")),
        ("roll_up", lambda s: f"/records/{s['roll_up']}", ("manager",)),
        ("released", lambda s: f"/records/{s['site_sheet']}", ("supervisor", "client")),
    )
    for role in roles
]


@pytest.mark.parametrize(("role", "url"), SHEET_PAGES)
def test_sheet_pages_do_not_grow_with_the_month(app, client, login, role, url):
    world = World().grow(1)
    login(world.users[role])
    small, small_statements = _count(client, "GET", url(_sheets_world(world)), False)
    world.grow(4)
    large, large_statements = _count(client, "GET", url(_sheets_world(world)), False)
    assert large == small, "\n".join(
        ["statements grew:", *large_statements[len(small_statements) - 5 :]]
    )


def test_a_live_sheet_computes_in_few_statements(app):
    """The figures of a roll-up over ten sites: a fixed handful of statements."""
    from app.records import figures

    world = World().grow(5)
    sheets = _sheets_world(world)
    from app.records.models import ControlRecordSheet
    from app.records.services import sites_of

    sheet = db.session.get(ControlRecordSheet, sheets["roll_up"])
    sites = sites_of(sheet)
    with count_queries() as count:
        data = figures.compute(client=sheet.client, sites=sites, first=sheet.month, scope="client")
    assert len(data["sites"]) == 10
    assert count() <= 22, count.statements

"""auth/policy.py as truth tables over roles and assignment."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from app.auth import policy

ROLES = ["guard", "supervisor", "manager", "admin", "client"]


def user(role: str | None, **extra):
    if role is None:
        return SimpleNamespace(is_authenticated=False)
    return SimpleNamespace(is_authenticated=True, role=role, id=1, client_id=extra.get("client_id"))


SITE = SimpleNamespace(id=7, client_id=3, is_active=True)


@pytest.mark.parametrize(
    ("role", "assigned", "expected"),
    [
        (None, True, False),
        ("guard", True, True),
        ("guard", False, False),
        ("supervisor", True, True),
        ("supervisor", False, False),
        ("manager", False, True),
        ("admin", True, False),
        ("admin", False, False),
        ("client", False, False),
    ],
)
def test_can_view_site(role, assigned, expected):
    ids = {SITE.id} if assigned else set()
    assert policy.can_view_site(user(role), SITE, assigned_site_ids=ids) is expected


@pytest.mark.parametrize(("client_id", "expected"), [(3, True), (4, False), (None, False)])
def test_client_sees_only_its_own_clients_sites(client_id, expected):
    assert (
        policy.can_view_site(user("client", client_id=client_id), SITE, assigned_site_ids=set())
        is expected
    )


@pytest.mark.parametrize(
    ("predicate", "allowed"),
    [
        (policy.is_signed_in, {"guard", "supervisor", "manager", "admin", "client"}),
        (policy.can_manage_users, {"admin"}),
        (policy.sees_all_sites, {"manager"}),
        (policy.can_change_own_password, {"guard", "supervisor", "manager", "admin", "client"}),
    ],
)
def test_role_predicates(predicate, allowed):
    assert predicate(user(None)) is False
    assert {role for role in ROLES if predicate(user(role))} == allowed


def test_only_field_roles_are_assigned_to_sites():
    assert {role for role in ROLES if policy.role_is_assignable(role)} == {"guard", "supervisor"}


def test_session_revocation_is_own_or_admin():
    owner = SimpleNamespace(id=1)
    stranger = SimpleNamespace(id=2)
    assert policy.can_revoke_session(user("guard"), owner)
    assert not policy.can_revoke_session(user("guard"), stranger)
    assert policy.can_revoke_session(user("admin"), stranger)
    assert not policy.can_revoke_session(user(None), owner)


def test_policy_module_has_no_flask_import():
    import inspect

    source = inspect.getsource(policy)
    assert "import flask" not in source and "from flask" not in source


@pytest.mark.parametrize("role", ROLES)
def test_the_visible_sites_clause_lists_exactly_the_sites_can_view_site_allows(
    app, make_user, role
):
    from sqlalchemy import select

    from app.extensions import db
    from app.sites.models import Site
    from app.sites.services import assigned_site_ids
    from tests import factories

    own = factories.gen_client()
    mine = factories.gen_site(client=own)
    other = factories.gen_site()
    closed = factories.gen_site(client=own, is_active=False)
    actor = make_user(role, **({"client_id": own.id} if role == "client" else {}))
    if policy.role_is_assignable(role):
        factories.assign(actor, mine)
        factories.assign(actor, closed)
    db.session.commit()
    listed = set(db.session.scalars(select(Site.id).where(policy.visible_sites_clause(actor))))
    assigned = assigned_site_ids(actor)
    for site in (mine, other, closed):
        allowed = policy.can_view_site(actor, site, assigned_site_ids=assigned)
        assert (site.id in listed) is allowed, (role, site.name)

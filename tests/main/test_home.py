"""Home page per role and the health check."""

import pytest

from app.extensions import db
from tests import factories


@pytest.mark.parametrize("role", ["guard", "supervisor", "manager", "admin", "client"])
def test_each_role_sees_a_home_page(make_user, login, client, role):
    user = make_user(role)
    login(user)
    response = client.get("/?lang=en")
    assert response.status_code == 200
    assert f"Hello, {user.display_name}" in response.text


def test_supervisor_home_lists_only_assigned_sites(app, make_user, login, client):
    supervisor = make_user("supervisor")
    mine = factories.gen_site(name="Assigned Tower")
    factories.gen_site(name="Someone Else's Mall")
    factories.assign(supervisor, mine)
    db.session.commit()
    login(supervisor)
    page = client.get("/?lang=en").text
    assert "Assigned Tower" in page
    assert "Someone Else&#39;s Mall" not in page and "Someone Else's Mall" not in page


def test_guard_without_sites_gets_a_friendly_empty_state(make_user, login, client):
    login(make_user("guard"))
    page = client.get("/?lang=en").text
    assert "You are not assigned to any site yet" in page


def test_client_home_lists_only_its_own_sites(make_user, login, client):
    own = factories.gen_client()
    factories.gen_site(client=own, name="Own Shop")
    factories.gen_site(name="Foreign Shop")
    db.session.commit()
    login(make_user("client", client_id=own.id))
    page = client.get("/?lang=en").text
    assert "Own Shop" in page and "Foreign Shop" not in page

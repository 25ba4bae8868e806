"""User administration: list, create, edit role, deactivate, reset password, assign sites."""

from __future__ import annotations

import re

from sqlalchemy import select

from app.audit.models import AuditEvent
from app.auth.models import User
from app.extensions import db
from app.sites.services import assigned_site_ids
from tests import factories


def actions():
    return [e.action for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq))]


def test_admin_creates_a_user_who_must_change_the_password(app, client, make_user, login):
    login(make_user("admin"))
    response = client.post(
        "/admin/users/new",
        data={
            "username": "Lin.Guard",
            "display_name": "林保全",
            "role": "guard",
            "password": "first-password-1",
        },
    )
    assert response.status_code == 303
    user = db.session.scalar(select(User).where(User.username == "lin.guard"))
    assert user.must_change_password and user.role == "guard"
    assert "user.created" in actions()

    phone = app.test_client()
    first = phone.post("/login", data={"username": "lin.guard", "password": "first-password-1"})
    assert first.headers["Location"] == "/account/password"
    assert phone.get("/").headers["Location"] == "/account/password"
    assert (
        phone.get("/", headers={"HX-Request": "true"}).headers["HX-Redirect"] == "/account/password"
    )
    phone.post(
        "/account/password",
        data={
            "current_password": "first-password-1",
            "new_password": "my-own-password",
            "confirm_password": "my-own-password",
        },
    )
    # A new staff member is then shown the collection notice (個資法 §8) once.
    assert phone.get("/").headers["Location"] == "/privacy/notice"
    phone.post("/privacy/notice")
    assert phone.get("/").status_code == 200


def test_new_user_form_explains_its_errors_and_keeps_input(client, make_user, login):
    login(make_user("admin"))
    make_user("guard", username="taken")
    response = client.post(
        "/admin/users/new?lang=en",
        data={
            "username": "taken",
            "display_name": "Someone",
            "role": "guard",
            "password": "first-password-1",
        },
    )
    assert "This username is already in use." in response.text
    assert 'value="Someone"' in response.text
    response = client.post(
        "/admin/users/new?lang=en",
        data={"username": "a b", "display_name": "", "role": "client", "password": "x"},
    )
    text = response.text
    assert "3 to 60 letters" in text
    assert "Enter the person" in text
    assert "Choose the client this user belongs to." in text


def test_client_user_is_linked_to_a_client(client, make_user, login):
    login(make_user("admin"))
    owner = factories.gen_client(name="業主甲")
    db.session.commit()
    client.post(
        "/admin/users/new",
        data={
            "username": "owner",
            "display_name": "業主代表",
            "role": "client",
            "client_id": str(owner.id),
            "password": "first-password-1",
        },
    )
    user = db.session.scalar(select(User).where(User.username == "owner"))
    assert user.client_id == owner.id


def test_role_change_is_audited_and_signs_the_user_out(app, client, make_user, login):
    admin = make_user("admin")
    guard = make_user("guard")
    phone = app.test_client()
    login(guard, test_client=phone)
    login(admin)
    response = client.post(
        f"/admin/users/{guard.id}",
        data={"display_name": guard.display_name, "role": "supervisor", "client_id": ""},
    )
    assert response.status_code == 303
    db.session.refresh(guard)
    assert guard.role == "supervisor"
    assert "user.updated" in actions()
    assert phone.get("/").status_code == 302


def test_extra_form_fields_change_nothing(client, make_user, login):
    admin = make_user("admin")
    guard = make_user("guard")
    login(admin)
    client.post(
        f"/admin/users/{guard.id}",
        data={
            "display_name": "New Name",
            "role": "guard",
            "is_active": "0",
            "password_hash": "x",
            "username": "hijack",
            "must_change_password": "1",
        },
    )
    db.session.refresh(guard)
    assert guard.display_name == "New Name"
    assert guard.is_active and guard.username != "hijack" and not guard.must_change_password
    assert guard.password_hash.startswith("$argon2id$")


def test_admin_cannot_demote_or_deactivate_himself(client, make_user, login):
    admin = make_user("admin")
    login(admin)
    client.post(f"/admin/users/{admin.id}", data={"display_name": "x", "role": "guard"})
    client.post(f"/admin/users/{admin.id}/active", data={"active": "0"})
    db.session.refresh(admin)
    assert admin.role == "admin" and admin.is_active


def test_reset_password_is_shown_once_and_works_once_changed(app, client, make_user, login):
    admin = make_user("admin")
    guard = make_user("guard")
    login(admin)
    response = client.post(f"/admin/users/{guard.id}/reset-password?lang=en")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    temporary = re.search(r"<code>([A-Za-z0-9]{12})</code>", response.text).group(1)
    assert temporary not in client.get(f"/admin/users/{guard.id}").text
    assert temporary not in str(client.get_cookie("guardpost").value)
    assert temporary not in " ".join(e.detail for e in db.session.scalars(select(AuditEvent)))
    phone = app.test_client()
    assert login(guard, test_client=phone).status_code == 200  # old password is gone
    assert (
        login(guard, password=temporary, test_client=phone).headers["Location"]
        == "/account/password"
    )


def test_assign_sites_takes_effect_on_the_next_request(app, client, make_user, login):
    admin = make_user("admin")
    guard = make_user("guard")
    a, b = factories.gen_site(name="Alpha Plaza"), factories.gen_site(name="Beta Depot")
    db.session.commit()
    phone = app.test_client()
    login(guard, test_client=phone)
    login(admin)
    client.post(f"/admin/users/{guard.id}/sites", data={"site_id": [str(a.id), str(b.id)]})
    assert assigned_site_ids(guard) == {a.id, b.id}
    assert "Beta Depot" in phone.get("/").text
    client.post(f"/admin/users/{guard.id}/sites", data={"site_id": [str(a.id)]})
    assert "Beta Depot" not in phone.get("/").text
    assert actions().count("user.sites_assigned") == 2


def test_managers_are_not_assigned_to_sites(client, make_user, login):
    manager = make_user("manager")
    site = factories.gen_site()
    db.session.commit()
    login(make_user("admin"))
    client.post(f"/admin/users/{manager.id}/sites", data={"site_id": [str(site.id)]})
    assert assigned_site_ids(manager) == set()


def test_user_list_searches_filters_and_paginates(app, client, make_user, login):
    login(make_user("admin", username="boss"))
    for n in range(30):
        make_user("guard", username=f"patrol{n:02d}")
    make_user("supervisor", username="chief", display_name="陳督導")
    page1 = client.get("/admin/users?role=guard&lang=en").text
    assert "30 users" in page1 and "Page 1 of 2" in page1
    assert "patrol29" not in page1
    page2 = client.get("/admin/users?role=guard&page=2&lang=en").text
    assert "patrol29" in page2
    assert "chief" in client.get("/admin/users?q=督導").text
    empty = client.get("/admin/users?q=nobody-like-this&lang=en").text
    assert "No users match" in empty


def test_create_user_command(runner):
    result = runner.invoke(
        args=[
            "create-user",
            "root.admin",
            "--role",
            "admin",
            "--name",
            "Root",
            "--password",
            "cli-password-1",
        ]
    )
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.username == "root.admin"))
    assert user.role == "admin" and not user.must_change_password
    bad = runner.invoke(
        args=["create-user", "x1", "--role", "admin", "--name", "X", "--password", "short"]
    )
    assert bad.exit_code != 0 and "at least 10 characters" in bad.output


def test_user_search_answers_htmx_with_just_the_list(client, make_user, login):
    login(make_user("admin"))
    make_user("guard", username="findme")
    response = client.get("/admin/users?q=findme", headers={"HX-Request": "true"})
    assert "findme" in response.text
    assert "<html" not in response.text and 'role="search"' not in response.text
    assert "HX-Request" in response.headers["Vary"]
    full = client.get("/admin/users?q=findme")
    assert "<html" in full.text and 'id="user-list"' in full.text

"""The unit of work (app/uow.py): one commit per state-changing request, a refusal writes
nothing and is shown, SAVEPOINT retries, JSON that echoes the uuid, typed values parsed."""

from __future__ import annotations

import ast
import inspect
import sys
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from flask import get_flashed_messages
from sqlalchemy import event, func, select
from werkzeug.exceptions import BadRequest
from wtforms import DateTimeLocalField, StringField
from wtforms.validators import DataRequired

from app import uow
from app.audit.models import AuditEvent
from app.auth.services import AuthError
from app.db import new_uuid, utcnow
from app.extensions import db
from app.forms import Form, IdListField, UUIDField, error_messages
from app.incidents.models import AlarmResponse, Incident, IncidentUpdate
from app.inspections.models import Answer
from app.inspections.services import active_template
from app.maintenance.models import MaintenanceLog, RepairTicket
from app.sites.models import CheckIn, Client, Equipment, SiteAssignment
from app.sites.services import RegistryError
from tests import factories

ROOT = Path(__file__).resolve().parent.parent


# ---------------------------------------------------------------- helpers


@pytest.fixture
def commits(app):
    """How many COMMITs the database has seen since the test started."""
    seen: list[int] = []

    def _count(conn):
        seen.append(1)

    event.listen(db.engine, "commit", _count)
    yield seen
    event.remove(db.engine, "commit", _count)


def request(app, path: str = "/", **kwargs):
    """A request context in English (the default interface language is Chinese)."""
    headers = {"Accept-Language": "en", **kwargs.pop("headers", {})}
    return app.test_request_context(path, headers=headers, **kwargs)


def committed(stmt):
    """A count read on a connection of its own: only what was really committed."""
    with db.engine.connect() as conn:
        return conn.execute(stmt).scalar()


def client_count() -> int:
    return committed(select(func.count(Client.id)))


class NameForm(Form):
    name = StringField(validators=[DataRequired(message="Give a name.")])
    when = DateTimeLocalField(format="%Y-%m-%dT%H:%M")
    key = UUIDField()
    ids = IdListField()


def _save_client(form: NameForm) -> Client:
    client = factories.gen_client(name=form.name.data)
    if form.name.data == "taken":
        raise RegistryError("name", "tax_id_taken")
    return client


def _form_page(form: NameForm):
    return uow.form_page(
        form,
        lambda: _save_client(form),
        then=lambda c: uow.see_other(f"/clients/{c.id}", "Saved.", uuid=form.key.data),
        page=lambda: "PAGE " + " | ".join(error_messages(form)),
    )


# ---------------------------------------------------------------- commit


def test_the_call_is_committed_once(app, commits):
    with request(app, "/", method="POST"):
        made = uow.commit(lambda: [factories.gen_client(), factories.gen_client()])
    assert len(made) == 2
    assert commits == [1]
    assert client_count() == 2


def test_a_refusal_rolls_everything_back_and_writes_nothing(app, commits):
    def call():
        factories.gen_client(name="half done")
        raise RegistryError("tax_id", "tax_id_taken")

    with request(app, "/", method="POST"), pytest.raises(RegistryError):
        uow.commit(call)
    assert commits == []
    assert client_count() == 0
    assert db.session.scalar(select(func.count(Client.id))) == 0


def test_any_other_error_rolls_back_too(app, commits):
    def call():
        factories.gen_client()
        raise RuntimeError("boom")

    with request(app, "/", method="POST"), pytest.raises(RuntimeError):
        uow.commit(call)
    assert commits == [] and client_count() == 0


def test_a_refusal_that_recorded_its_own_trace_commits_the_trace(app, make_user):
    from app import audit

    user = make_user("guard")

    def call():
        audit.record("auth.password_changed", actor=user, outcome="failure")
        raise AuthError("wrong_current", keep_record=True)

    before = committed(select(func.count(AuditEvent.seq)))
    with request(app, "/", method="POST"), pytest.raises(AuthError):
        uow.commit(call)
    assert committed(select(func.count(AuditEvent.seq))) == before + 1


def test_a_refusal_that_commits_its_trace_leaves_no_claim_on_the_device_uuid(app, make_user):
    """A committed claim always means its work was committed: a concurrent duplicate that
    finds one answers it as a replay."""
    from app import audit
    from app.device_requests import DeviceRequest

    user = make_user("guard")

    def call():
        audit.record("auth.password_changed", actor=user, outcome="failure")
        raise AuthError("wrong_current", keep_record=True)

    key = new_uuid()
    with (
        request(app, "/", method="POST", headers={"X-Object-UUID": key}),
        pytest.raises(AuthError),
    ):
        uow.commit(call)
    assert committed(select(func.count(DeviceRequest.id))) == 0


def test_domain_errors_carry_their_own_words():
    exc = RegistryError("code", "code_taken")
    assert (exc.key, exc.field, exc.status) == ("code_taken", "code", 422)
    assert "Another site already has this code." in exc.message
    assert isinstance(exc, uow.DomainError)


# ---------------------------------------------------------------- a page with a form


def test_a_refused_form_is_shown_again_with_the_message_and_nothing_written(app, commits):
    data = {"name": "taken", "when": "2026-11-25T10:00"}
    with request(app, "/", method="POST", data=data):
        form = NameForm()
        body, status = _form_page(form)
    assert status == 200
    assert "Another client already has this tax ID." in body
    assert form.name.errors == [RegistryError.messages["tax_id_taken"]]
    assert commits == [] and client_count() == 0


def test_htmx_gets_422_for_a_refused_or_unparseable_form(app):
    for data in ({"name": "taken"}, {"name": "ok", "when": "tomorrow at ten"}):
        with request(app, "/", method="POST", data=data, headers={"HX-Request": "true"}):
            body, status = _form_page(NameForm())
        assert status == 422, data
        assert body.startswith("PAGE ") and len(body) > len("PAGE ")
    assert client_count() == 0


def test_a_value_that_does_not_parse_is_an_error_on_the_form_and_nothing_is_called(app, commits):
    with request(app, "/", method="POST", data={"name": "ok", "when": "25/11 10h"}):
        form = NameForm()
        body, status = _form_page(form)
    assert status == 200 and "Not a valid datetime value." in body
    assert form.when.errors and commits == [] and client_count() == 0


def test_a_machine_filled_value_that_does_not_parse_is_a_bad_request(app):
    for data in ({"name": "ok", "key": "not-a-uuid"}, {"name": "ok", "ids": ["3", "x"]}):
        with request(app, "/", method="POST", data=data), pytest.raises(BadRequest):
            _form_page(NameForm())
    assert client_count() == 0


def test_success_is_a_303_with_the_message_flashed(app, commits):
    with request(app, "/", method="POST", data={"name": "Acme"}):
        response = _form_page(NameForm())
        flashed = get_flashed_messages(with_categories=True)
    assert response.status_code == 303 and response.headers["Location"].startswith("/clients/")
    assert flashed == [("success", "Saved.")]
    assert commits == [1] and client_count() == 1


def test_success_for_htmx_is_an_hx_redirect(app):
    with request(app, "/", method="POST", data={"name": "Acme"}, headers={"HX-Request": "true"}):
        response = _form_page(NameForm())
    assert response.status_code == 204 and response.headers["HX-Redirect"].startswith("/clients/")


def test_a_phone_gets_json_that_echoes_the_uuid(app):
    key = str(uuid.uuid4())
    json_accept = {"Accept": "application/json"}
    with request(
        app, "/", method="POST", data={"name": "Acme", "key": key.upper()}, headers=json_accept
    ):
        response, status = _form_page(NameForm())
    assert status == 200
    assert response.json["uuid"] == key and response.json["ok"] is True
    with request(app, "/", method="POST", data={"name": "taken"}, headers=json_accept):
        response, status = _form_page(NameForm())
    assert status == 422
    assert response.json["error"] == "tax_id_taken" and response.json["field"] == "name"
    with request(app, "/", method="POST", data={"when": "x"}, headers=json_accept):
        response, status = _form_page(NameForm())
    assert status == 422 and set(response.json["errors"]) == {"name", "when"}
    assert client_count() == 1


def test_a_get_shows_the_page(app, commits):
    with request(app, "/"):
        body, status = _form_page(NameForm())
    assert (body, status) == ("PAGE ", 200) and commits == []


# ---------------------------------------------------------------- a button


def test_a_refused_button_flashes_the_reason_and_goes_back(app, commits):
    def call():
        factories.gen_client()
        raise RegistryError("code", "code_taken")

    with request(app, "/", method="POST"):
        response = uow.action(call, back="/back", success="Done.")
        flashed = get_flashed_messages(with_categories=True)
    assert response.status_code == 303 and response.headers["Location"] == "/back"
    assert flashed == [("error", "Another site already has this code.")]
    assert commits == [] and client_count() == 0


def test_a_button_with_a_value_that_does_not_parse_calls_nothing(app):
    called = []
    with request(app, "/", method="POST", data={"when": "noon"}):
        response = uow.action(lambda: called.append(1), form=NameForm(), back="/back")
        flashed = get_flashed_messages()
    assert response.status_code == 303 and called == []
    assert "Give a name." in flashed and "Not a valid datetime value." in flashed


# ---------------------------------------------------------------- SAVEPOINT retry


def _insert_elsewhere(tax_id: str) -> None:
    """Another request commits a row first (on a connection of its own)."""
    with db.engine.begin() as conn:
        conn.execute(
            Client.__table__.insert().values(
                name="Other request", tax_id=tax_id, address="", main_phone="", created_at=utcnow()
            )
        )


def _find_or_make(tax_id: str, attempts: list[int]):
    """An idempotent service that lost the race on its first try (it did not see the row)."""
    attempts.append(1)
    if len(attempts) > 1:
        existing = db.session.scalar(select(Client).where(Client.tax_id == tax_id))
        if existing is not None:
            return existing
    return factories.gen_client(tax_id=tax_id)


def test_a_conflicting_insert_rolls_back_only_its_savepoint(app, commits):
    statements: list[str] = []
    event.listen(db.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    _insert_elsewhere("04595257")
    commits.clear()
    with request(app, "/", method="POST"):

        def work():
            earlier = factories.gen_client(name="Earlier work in this request")
            attempts: list[int] = []
            found = uow.retry_after_conflict(lambda: _find_or_make("04595257", attempts))
            return earlier, found, attempts

        _earlier, found, attempts = uow.commit(work)
    assert len(attempts) == 2 and found.name == "Other request"
    assert commits == [1]
    names = set(db.session.scalars(select(Client.name)))
    assert names == {"Other request", "Earlier work in this request"}
    assert any(s.startswith("SAVEPOINT") for s in statements)
    assert any(s.startswith("ROLLBACK TO SAVEPOINT") for s in statements)


def test_a_retry_that_opens_the_transaction_does_not_commit_it_early(app, commits):
    def work():
        uow.retry_after_conflict(lambda: factories.gen_client(name="first write"))
        factories.gen_client(name="second write")
        raise RegistryError("code", "code_taken")

    with request(app, "/", method="POST"), pytest.raises(RegistryError):
        uow.commit(work)
    assert commits == [] and client_count() == 0


def test_retry_after_conflict_has_left_db_py_and_the_import_cycle_is_gone():
    source = (ROOT / "app" / "db.py").read_text()
    assert "retry_after_conflict" not in source and "app.extensions" not in source


# ---------------------------------------------------------------- the routes


def _post_views(app):
    for rule in app.url_map.iter_rules():
        if "POST" in (rule.methods or ()):
            yield rule, app.view_functions[rule.endpoint]


#: Route modules allowed to commit or roll back by themselves, and why. None today: the login
#: flow, the throttled-login trace and the denied scans commit through uow.commit() too.
COMMIT_EXCEPTIONS: dict[str, str] = {}


def _session_calls(source: str) -> list[str]:
    """`….session.commit()` / `….session.rollback()` calls in a module's code."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("commit", "rollback")
            and isinstance(node.func.value, ast.Attribute)
            and node.func.value.attr == "session"
        ):
            found.append(f"line {node.lineno}: session.{node.func.attr}()")
    return found


def test_no_state_changing_route_commits_outside_the_unit_of_work(app):
    modules = {sys.modules[view.__module__] for _rule, view in _post_views(app)}
    assert len(modules) >= 7  # every feature that changes something
    problems = {}
    for module in modules:
        path = Path(inspect.getfile(module)).resolve()
        if path == ROOT / "app" / "uow.py" or module.__name__ in COMMIT_EXCEPTIONS:
            continue
        source = path.read_text()
        if calls := _session_calls(source):
            problems[module.__name__] = calls
        elif "uow." not in source:
            problems[module.__name__] = ["does not use app.uow"]
    assert problems == {}, f"commit through app.uow instead: {problems}"


def _uses_uow(function, module, depth: int = 2) -> bool:
    """The function, or a helper of its module that it calls, uses app.uow."""
    source = inspect.getsource(function)
    if "uow." in source:
        return True
    called = {
        node.func.id
        for node in ast.walk(ast.parse(source.lstrip()))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    }
    helpers = [
        getattr(module, name) for name in called if inspect.isfunction(getattr(module, name, None))
    ]
    return depth > 0 and any(
        h.__module__ == module.__name__ and _uses_uow(h, module, depth - 1) for h in helpers
    )


def test_every_state_changing_route_goes_through_the_unit_of_work(app):
    missing = [
        rule.endpoint
        for rule, view in _post_views(app)
        if not _uses_uow(view, sys.modules[view.__module__])
    ]
    assert missing == []


def test_the_check_finds_a_hand_written_commit():
    assert _session_calls("def view():\n    db.session.commit()\n") == ["line 2: session.commit()"]


def test_route_modules_read_no_raw_form_values(app):
    """Typed values go through WTForms fields (the login limiter's keys aside: they are read
    before the view, to count attempts per account)."""
    allowed = {"app.auth.routes": 2}
    for module in {sys.modules[view.__module__] for _rule, view in _post_views(app)}:
        source = Path(inspect.getfile(module)).read_text()
        raw = source.count("request.form") + source.count("strptime(")
        assert raw == allowed.get(module.__name__, 0), module.__name__


@pytest.fixture
def crew(app, make_user):
    site = factories.gen_site(latitude=25.0330, longitude=121.5654)
    guard, supervisor = make_user("guard"), make_user("supervisor")
    factories.assign(guard, site)
    factories.assign(supervisor, site)
    panel = Equipment(site_id=site.id, kind="control_panel", model="DSC", location="1F")
    db.session.add(panel)
    db.session.commit()
    return {"site": site, "guard": guard, "supervisor": supervisor, "panel": panel}


def test_an_unparseable_time_on_incident_notified_is_an_error_and_writes_nothing(
    client, crew, login
):
    incident = factories.gen_incident(crew["site"], crew["guard"])
    db.session.commit()
    login(crew["supervisor"])
    audits = committed(select(func.count(AuditEvent.seq)))
    page = client.post(
        f"/incidents/{incident.id}/notified?lang=en",
        data={"who": "police", "at": "yesterday 10:00"},
        follow_redirects=True,
    )
    assert page.status_code == 200 and "Not a valid datetime value." in page.text
    db.session.refresh(incident)
    assert incident.police_notified_at is None
    assert db.session.scalar(select(func.count(IncidentUpdate.id))) == 0
    assert committed(select(func.count(AuditEvent.seq))) == audits
    # no time at all still means now, as the page always fills one in
    client.post(f"/incidents/{incident.id}/notified", data={"who": "client"})
    db.session.refresh(incident)
    assert abs(incident.client_notified_at - utcnow()) < timedelta(minutes=1)


def test_an_unknown_status_is_an_error_not_a_silent_no_op(client, crew, login):
    incident = factories.gen_incident(crew["site"], crew["guard"])
    db.session.commit()
    login(crew["supervisor"])
    page = client.post(
        f"/incidents/{incident.id}/updates?lang=en",
        data={"status": "teleported", "note": "x"},
        follow_redirects=True,
    )
    assert "Not a valid choice." in page.text
    assert db.session.scalar(select(func.count(IncidentUpdate.id))) == 0


def test_a_dispatch_to_an_unparseable_guard_is_refused(client, crew, login):
    alarm = AlarmResponse(
        uuid=new_uuid(),
        site_id=crew["site"].id,
        created_by_id=crew["supervisor"].id,
        received_at=utcnow() - timedelta(minutes=3),
    )
    db.session.add(alarm)
    db.session.commit()
    login(crew["supervisor"])
    page = client.post(
        f"/alarms/{alarm.id}/dispatch?lang=en", data={"guard_id": "abc"}, follow_redirects=True
    )
    assert "Not a valid integer value." in page.text
    db.session.refresh(alarm)
    assert alarm.dispatched_at is None and alarm.guard_id is None


def test_unparseable_dates_and_ids_on_repair_and_maintenance_forms_are_shown(client, crew, login):
    login(crew["supervisor"])
    site = crew["site"]
    for field, value, message in [
        ("due_on", "next week", "Not a valid date value."),
        ("equipment_id", "the panel", "Not a valid integer value."),
    ]:
        data = {"site": str(site.id), "uuid": new_uuid(), "problem": "門禁故障", field: value}
        page = client.post("/repairs/new?lang=en", data=data)
        assert page.status_code == 200 and message in page.text, field
    assert db.session.scalar(select(func.count(RepairTicket.id))) == 0
    page = client.post(
        f"/equipment/{crew['panel'].id}/maintenance?lang=en",
        data={"done_on": "31/12/2025", "work": "更換電池"},
    )
    assert page.status_code == 200 and "Not a valid date value." in page.text
    assert db.session.scalar(select(func.count(MaintenanceLog.id))) == 0


def test_an_unparseable_unit_on_an_answer_is_422_in_the_item(client, crew, login):
    login(crew["supervisor"])
    key = new_uuid()
    client.post(f"/sites/{crew['site'].id}/inspections", data={"uuid": key})
    item = factories.control_panel_item(active_template())
    response = client.post(
        f"/inspections/{key}/items/{item.id}?lang=en",
        data={"value": "fail", "equipment_id": "DSC"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 422 and "Not a valid integer value." in response.text
    assert f'id="item-{item.id}"' in response.text
    assert db.session.scalar(select(func.count(Answer.id))) == 0


def test_ticked_ids_that_are_not_ids_are_a_bad_request(client, crew, login, make_user):
    login(make_user("admin"))
    before = committed(select(func.count(SiteAssignment.id)))
    response = client.post(f"/sites/{crew['site'].id}/users", data={"user_id": ["1", "drop"]})
    assert response.status_code == 400
    assert committed(select(func.count(SiteAssignment.id))) == before


def test_a_checklist_move_in_an_unknown_direction_changes_nothing(client, make_user, login):
    login(make_user("admin"))
    item = active_template().live_items[1]
    before = [(i.id, i.position) for i in active_template().items]
    page = client.post(
        f"/checklist-items/{item.id}/move?lang=en",
        data={"direction": "sideways"},
        follow_redirects=True,
    )
    assert "Not a valid choice." in page.text
    db.session.expire_all()
    assert [(i.id, i.position) for i in active_template().items] == before


# ---------------------------------------------------------------- phones get JSON


JSON = {"Accept": "application/json"}


def test_a_check_in_from_a_phone_is_answered_with_its_uuid(client, crew, login):
    login(crew["guard"])
    key = str(uuid.uuid4())
    url = f"/s/{crew['site'].qr_token}/check-in"
    response = client.post(url, data={"uuid": key}, headers=JSON)
    assert response.status_code == 200 and response.json["uuid"] == key
    again = client.post(url, data={"uuid": key}, headers=JSON)  # the outbox sends it again
    assert again.status_code == 200 and again.json["uuid"] == key
    assert db.session.scalar(select(func.count(CheckIn.id))) == 1
    other = factories.gen_site()
    factories.assign(crew["guard"], other)
    db.session.commit()
    clash = client.post(f"/s/{other.qr_token}/check-in", data={"uuid": key}, headers=JSON)
    assert clash.status_code == 409 and clash.json["error"] == "uuid_conflict"


def test_an_incident_and_an_answer_from_a_phone_echo_their_uuid(client, crew, login):
    login(crew["supervisor"])
    key = new_uuid()
    occurred = (utcnow() + timedelta(hours=8) - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(
        "/incidents/new",
        data={
            "uuid": key,
            "site_id": str(crew["site"].id),
            "category": "theft",
            "severity": "low",
            "occurred_at": occurred,
            "narrative": "門鎖被破壞",
        },
        headers=JSON,
    )
    assert response.status_code == 200 and response.json["uuid"] == key
    assert db.session.scalar(select(Incident.uuid)) == key
    inspection_key = new_uuid()
    started = client.post(
        f"/sites/{crew['site'].id}/inspections", data={"uuid": inspection_key}, headers=JSON
    )
    assert started.json["uuid"] == inspection_key
    item = active_template().live_items[0]
    saved = client.post(
        f"/inspections/{inspection_key}/items/{item.id}", data={"value": "pass"}, headers=JSON
    )
    assert saved.status_code == 200
    assert (saved.json["uuid"], saved.json["item"]) == (inspection_key, item.id)
    refused = client.post(
        f"/inspections/{inspection_key}/items/{item.id}", data={"value": "maybe"}, headers=JSON
    )
    assert refused.status_code == 422
    assert refused.json | {"message": ""} == {
        "ok": False,
        "uuid": inspection_key,
        "item": item.id,
        "error": "bad_value",
        "message": "",
    }

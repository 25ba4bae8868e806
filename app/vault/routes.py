"""The vault's pages: a site's or a client's confidential records (masked), create, edit,
delete, reveal with a purpose, and the access log (issue 12 items 1, 4, 6).

Every page writes its access row — a list, a reveal, a change, an export, a denial — and a
reveal commits that row before the value is rendered: when the write fails, no value is shown
(SECURITY.md decision 7).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    make_response,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from app import uow
from app.args import page_arg, taipei_day_start
from app.auth import policy, stepup
from app.auth import routes as auth_routes
from app.auth.login import safe_next
from app.auth.models import User
from app.briefings import services as briefing_services
from app.extensions import db
from app.forms import ActionForm, is_machine_field, require_action_form
from app.htmx import hx_redirect, is_htmx
from app.sites import services as site_services
from app.sites.models import Client, Site
from app.vault import access
from app.vault import services as svc
from app.vault.forms import (
    ACTION_LABELS,
    CATEGORY_LABELS,
    OUTCOME_LABELS,
    PURPOSE_LABELS,
    REASON_LABELS,
    SENSITIVITY_LABELS,
    PurposeForm,
    RecordForm,
)
from app.vault.models import ACCESS_ACTIONS, ACCESS_OUTCOMES, STRUCTURED, ConfidentialRecord

bp = Blueprint("vault", __name__)
log = logging.getLogger(__name__)

#: Seconds a revealed value stays on the page (issue 12 item 4); VAULT_REMASK_SECONDS changes it.
DEFAULT_REMASK_SECONDS = 60


@bp.app_context_processor
def vault_labels():
    return {
        "vault_category_labels": CATEGORY_LABELS,
        "vault_sensitivity_labels": SENSITIVITY_LABELS,
        "vault_purpose_labels": PURPOSE_LABELS,
        "vault_action_labels": ACTION_LABELS,
        "vault_outcome_labels": OUTCOME_LABELS,
        "vault_reason_labels": REASON_LABELS,
    }


def _assigned() -> frozenset[int]:
    return site_services.assigned_site_ids(current_user)


def _deny(
    reason: str,
    *,
    status: int,
    action: str = "list",
    record: ConfidentialRecord | None = None,
    site_id: int | None = None,
    client_id: int | None = None,
):
    """Write the denied access row (it is the audit row too), commit it, answer `status`."""
    uow.commit(
        lambda: access.log_access(
            current_user,
            action,
            record=record,
            site_id=site_id,
            client_id=client_id,
            outcome="denied",
            reason=reason,
        )
    )
    abort(status)


def _serves(site_id: int | None, client_id: int | None) -> bool:
    return policy.serves_vault_owner(
        current_user,
        site_id=site_id,
        client_site_ids=svc.client_site_ids(client_id) if client_id else frozenset(),
        assigned_site_ids=_assigned(),
    )


def _owner(site_id: int | None = None, client_id: int | None = None, *, action: str = "list"):
    """The site or client whose vault is asked for: 403 (and a denied row) for a role without
    a vault, 404 (and a denied row) for an owner the user does not serve."""
    owner = db.get_or_404(Site, site_id) if site_id else db.get_or_404(Client, client_id)
    ids = {"site_id": site_id, "client_id": client_id}
    if not policy.can_open_vault(current_user):
        _deny("role", status=403, action=action, **ids)
    if not _serves(site_id, client_id):
        _deny("not_assigned", status=404, action=action, **ids)
    return owner


def _record(record_id: int, *, action: str = "list") -> ConfidentialRecord:
    """A record the user may see (masked): the same denials as its owner's, and 403 for a
    restricted record to a guard."""
    record = db.get_or_404(ConfidentialRecord, record_id)
    if not policy.can_open_vault(current_user):
        _deny("role", status=403, action=action, record=record)
    if not _serves(record.site_id, record.client_id):
        _deny("not_assigned", status=404, action=action, record=record)
    if not policy.can_see_sensitivity(current_user, record.sensitivity):
        _deny("role", status=403, action=action, record=record)
    return record


def _may_manage(site_id: int | None, client_id: int | None) -> bool:
    return policy.can_manage_vault(
        current_user,
        site_id=site_id,
        client_site_ids=svc.client_site_ids(client_id) if client_id else frozenset(),
        assigned_site_ids=_assigned(),
    )


def _may_read_log(site_id: int | None, client_id: int | None) -> bool:
    return policy.can_read_owner_access_log(
        current_user,
        site_id=site_id,
        client_site_ids=svc.client_site_ids(client_id) if client_id else frozenset(),
        assigned_site_ids=_assigned(),
    )


def _list_url(record: ConfidentialRecord) -> str:
    if record.site_id:
        return url_for("vault.site_records", site_id=record.site_id)
    return url_for("vault.client_records", client_id=record.client_id)


def _remask_seconds() -> int:
    return int(current_app.config.get("VAULT_REMASK_SECONDS", DEFAULT_REMASK_SECONDS))


# ---------------------------------------------------------------- the records (masked)


def _records_page(site: Site | None, client: Client | None):
    site_id, client_id = (site.id, None) if site else (None, client.id)
    # The "list" row, committed before the rows are read (and so not expired after).
    uow.commit(
        lambda: access.log_access(current_user, "list", site_id=site_id, client_id=client_id)
    )
    page = svc.list_records(
        user=current_user,
        sensitivities=policy.visible_sensitivities(current_user),
        site=site,
        client=client,
        page=page_arg(),
        per_page=current_app.config["PAGE_SIZE"],
    )
    return render_template(
        "vault/records.html",
        site=site,
        client=client,
        page=page,
        endpoint="vault.site_records" if site else "vault.client_records",
        may_manage=_may_manage(site_id, client_id),
        may_read_log=_may_read_log(site_id, client_id),
        purpose_form=PurposeForm(formdata=None),
    )


@bp.get("/sites/<int:site_id>/vault")
def site_records(site_id: int):
    """A site's confidential records, masked, each revealed on its own with a purpose."""
    return _records_page(_owner(site_id=site_id), None)


@bp.get("/clients/<int:client_id>/vault")
def client_records(client_id: int):
    """A client's own confidential records (for all its sites), masked."""
    return _records_page(None, _owner(client_id=client_id))


@bp.get("/vault/<int:record_id>")
def record(record_id: int):
    """One record, masked: what it is, its reveal button, its changes and its log."""
    record = _record(record_id)
    uow.commit(lambda: access.log_access(current_user, "list", record=record))
    return render_template(
        "vault/record.html",
        record=record,
        may_manage=_may_manage(record.site_id, record.client_id),
        may_read_log=_may_read_log(record.site_id, record.client_id),
        purpose_form=PurposeForm(formdata=None),
        action_form=ActionForm(),
    )


# ---------------------------------------------------------------- create, change, delete


def _record_form_page(form: RecordForm, *, site, client, record=None) -> str:
    return render_template(
        "vault/record_form.html", form=form, site=site, client=client, record=record
    )


def _new_record(site: Site | None, client: Client | None):
    site_id, client_id = (site.id, None) if site else (None, client.id)
    if not _may_manage(site_id, client_id):
        _deny("role", status=403, action="create", site_id=site_id, client_id=client_id)
    form = RecordForm()
    if not form.is_submitted():
        form.category.data = request.args.get("category", "key_holder")
        form.calling_order.data = 1

    def create():
        return svc.add_record(
            user=current_user,
            site=site,
            client=client,
            category=form.category.data,
            sensitivity=form.sensitivity.data or None,
            label=form.label.data,
            value=form.typed_value(),
            retain_until=form.retain_until.data,
        )

    return uow.form_page(
        form,
        create,
        field=_error_field(form),
        then=lambda record: uow.see_other(
            url_for("vault.record", record_id=record.id), _("Record saved, encrypted.")
        ),
        page=lambda: _record_form_page(form, site=site, client=client),
    )


def _error_field(form: RecordForm):
    """Where a refusal of the service is shown: the phones' on the first phone."""
    return lambda exc: form.phone_1 if exc.field == "phones" else None


@bp.route("/sites/<int:site_id>/vault/new", methods=["GET", "POST"])
def site_record_new(site_id: int):
    """Add a confidential record to a site: supervisors of the site, managers."""
    return _new_record(_owner(site_id=site_id, action="create"), None)


@bp.route("/clients/<int:client_id>/vault/new", methods=["GET", "POST"])
def client_record_new(client_id: int):
    """Add a confidential record of the client as a whole."""
    return _new_record(None, _owner(client_id=client_id, action="create"))


@bp.route("/vault/<int:record_id>/edit", methods=["GET", "POST"])
def record_edit(record_id: int):
    """Change a record's label, sensitivity, retention, and (typed anew) its value."""
    record = _record(record_id, action="change")
    if not _may_manage(record.site_id, record.client_id):
        _deny("role", status=403, action="change", record=record)
    form = RecordForm(editing=True)
    form.category.data = record.category  # fixed: the value's shape depends on it
    if not form.is_submitted():
        form.label.data = record.label
        form.sensitivity.data = record.sensitivity
        form.retain_until.data = record.retain_until
    return uow.form_page(
        form,
        lambda: svc.update_record(
            record,
            user=current_user,
            label=form.label.data,
            value=form.typed_value(),
            sensitivity=form.sensitivity.data or None,
            retain_until=form.retain_until.data,
        ),
        field=_error_field(form),
        then=lambda record: uow.see_other(
            url_for("vault.record", record_id=record.id), _("Record changed.")
        ),
        page=lambda: _record_form_page(form, site=record.site, client=record.client, record=record),
    )


@bp.post("/vault/<int:record_id>/delete")
def record_delete(record_id: int):
    """Delete a record: its encrypted value goes, its access log stays."""
    record = _record(record_id, action="delete")
    if not _may_manage(record.site_id, record.client_id):
        _deny("role", status=403, action="delete", record=record)
    require_action_form()
    back = _list_url(record)
    return uow.action(
        lambda: svc.delete_record(record, user=current_user),
        back=back,
        success=_("Record deleted."),
    )


# ---------------------------------------------------------------- reveal


def _prompt(record: ConfidentialRecord, form: PurposeForm, status: int = 200):
    """The masked value with its purpose prompt (open, with the form's errors)."""
    if is_htmx():
        template = "vault/_reveal_button.html" if form.is_button else "vault/_value.html"
        body = render_template(
            template, record=record, purpose_form=form, open=True, **_button_args(form)
        )
        return body, status
    return render_template(
        "vault/record.html",
        record=record,
        may_manage=_may_manage(record.site_id, record.client_id),
        may_read_log=_may_read_log(record.site_id, record.client_id),
        purpose_form=form,
        action_form=ActionForm(),
        open=True,
    ), status


def _denied_reveal(record: ConfidentialRecord, reason: str, to: str) -> Response:
    uow.commit(
        lambda: access.log_access(
            current_user, "reveal", record=record, outcome="denied", reason=reason
        )
    )
    return hx_redirect(to)


def _button_args(form: PurposeForm) -> dict:
    """What a one-button reveal on another page (vault/_reveal_button.html) posts again."""
    return {
        "purpose": form.purpose.data,
        "purpose_text": form.purpose_text.data or "",
        "next_url": safe_next(form.next.data, ""),
    }


@bp.post("/vault/<int:record_id>/reveal")
def reveal(record_id: int):
    """Show a value, for a stated purpose, after its access row is committed; a restricted
    value only after a fresh step-up, any only after the confidentiality pledge. Another page
    may reveal from a button of its own (`view=button`, its purpose fixed, `next` its address):
    the same checks and log, the step-up coming back to that page."""
    record = _record(record_id, action="reveal")
    form = PurposeForm()
    back = safe_next(form.next.data, url_for("vault.record", record_id=record.id))
    if not form.validate():
        if any(field.errors for field in form if is_machine_field(field)):
            abort(400)
        return _prompt(record, form, 422)
    if not briefing_services.has_current_pledge(current_user):
        pledge = briefing_services.current_pledge()
        if pledge is None:
            flash(_("No confidentiality pledge is published yet: ask a manager."), "error")
            return _denied_reveal(record, "pledge", back)
        flash(_("Acknowledge the confidentiality pledge first."), "warning")
        return _denied_reveal(
            record, "pledge", url_for("briefings.briefing", briefing_id=pledge.id)
        )
    if policy.reveal_needs_step_up(record) and not stepup.is_fresh():
        return _denied_reveal(record, "step_up", stepup.url(next_url=back))
    try:
        revealed = uow.commit(
            lambda: svc.reveal_record(
                record,
                user=current_user,
                purpose=form.purpose.data,
                purpose_text=form.purpose_text.data or "",
            )
        )
    except svc.VaultError as exc:  # rolled back by the unit of work
        form.purpose.errors = [*form.purpose.errors, exc.message]
        return _prompt(record, form, 422)
    except Exception:
        # The access row was not written (rolled back): the value must not be shown
        # (SECURITY.md 7).
        log.exception("vault access log write failed; value withheld")
        return _reveal_answer(record, None, form, error="log", status=503)
    if revealed.is_error:
        return _reveal_answer(record, None, form, error="decrypt", status=422)
    return _reveal_answer(record, revealed.value, form)


def _reveal_answer(
    record, value, form: PurposeForm, *, error: str = "", status: int = 200
) -> Response:
    """The revealed value (or why none): never stored by a browser, outside htmx history."""
    context = {
        "record": record,
        "value": value,
        "error": error,
        "is_structured": record.category in STRUCTURED,
        "remask_seconds": _remask_seconds(),
        "purpose_form": PurposeForm(formdata=None),
        "masked_template": "vault/_reveal_button.html" if form.is_button else "vault/_value.html",
        **_button_args(form),
    }
    if is_htmx():
        body = render_template("vault/_revealed.html", **context)
    else:
        body = render_template(
            "vault/record.html",
            **context,
            revealed=True,
            may_manage=_may_manage(record.site_id, record.client_id),
            may_read_log=_may_read_log(record.site_id, record.client_id),
            action_form=ActionForm(),
        )
    response = make_response(body, status)
    response.headers["Cache-Control"] = "no-store, max-age=0"
    response.headers["Pragma"] = "no-cache"
    response.headers["HX-Push-Url"] = "false"
    return response


# ---------------------------------------------------------------- the access log


def _filters(**scope) -> access.LogFilter:
    since = taipei_day_start(request.args.get("from"))
    until = taipei_day_start(request.args.get("to"))
    action = request.args.get("action", "")
    outcome = request.args.get("outcome", "")
    return access.LogFilter(
        **scope,
        since=since,
        until=until + timedelta(days=1) if until else None,
        action=action if action in ACCESS_ACTIONS else "",
        outcome=outcome if outcome in ACCESS_OUTCOMES else "",
        who=(request.args.get("who") or "").strip()[:60],
    )


def _scope():
    assigned = _assigned()
    return policy.access_log_scope_clause(
        current_user,
        access.VaultAccess,
        assigned_site_ids=assigned,
        served_client_ids=svc.served_client_ids(assigned),
    )


def _log_page(title: str, endpoint: str, endpoint_args: dict, *, back=None, **scope):
    """The access-log page for a scope, or with ?format=csv its CSV (an "export" row)."""
    filters = _filters(**scope)
    if request.args.get("format") == "csv":
        body = access.access_csv(_scope(), filters)
        uow.commit(
            lambda: access.log_access(
                current_user,
                "export",
                record=db.session.get(ConfidentialRecord, scope["record_id"])
                if scope.get("record_id")
                else None,
                site_id=scope.get("site_id"),
                client_id=scope.get("client_id"),
                purpose_text=f"user:{scope['user_id']}" if scope.get("user_id") else "",
            )
        )
        response = make_response(body)
        response.mimetype = "text/csv"
        response.charset = "utf-8"
        response.headers["Content-Disposition"] = 'attachment; filename="vault-access-log.csv"'
        response.headers["Cache-Control"] = "private, no-store"
        return response
    from app.pagination import paginate

    page = paginate(
        access.access_query(_scope(), filters),
        page=page_arg(),
        per_page=current_app.config["PAGE_SIZE"],
    )
    csv_args = {**request.args.to_dict(), **endpoint_args, "format": "csv"}
    csv_args.pop("page", None)
    context = {
        "title": title,
        "page": page,
        "endpoint": endpoint,
        "endpoint_args": endpoint_args,
        "csv_url": url_for(endpoint, **csv_args),
        "back": back,
        "actions": ACCESS_ACTIONS,
        "outcomes": ACCESS_OUTCOMES,
    }
    if is_htmx() and request.headers.get("HX-Target") == "access-rows":
        return render_template("vault/_access_rows.html", **context)
    return render_template("vault/access_log.html", **context)


def _log_owner(site_id=None, client_id=None, record=None):
    """Access logs: supervisors of the owner, managers, admins; 404 + denied row to an
    unassigned supervisor, 403 + denied row to any other role."""
    ids = {"site_id": site_id, "client_id": client_id, "record": record}
    if not policy.can_read_access_logs(current_user):
        _deny("role", status=403, **ids)
    if not _may_read_log(site_id, client_id):
        _deny("not_assigned", status=404, **ids)


@bp.get("/vault/<int:record_id>/access-log")
def record_log(record_id: int):
    """Who saw or changed one record, when and why (never its value)."""
    record = db.get_or_404(ConfidentialRecord, record_id)
    _log_owner(record.site_id, record.client_id, record)
    return _log_page(
        _("Access log: %(label)s", label=record.label),
        "vault.record_log",
        {"record_id": record.id},
        back=("vault.record", {"record_id": record.id})
        if policy.can_open_vault(current_user)
        else None,
        record_id=record.id,
    )


@bp.get("/sites/<int:site_id>/vault/access-log")
def site_log(site_id: int):
    """The access log of a site's records."""
    site = db.get_or_404(Site, site_id)
    _log_owner(site_id=site.id)
    return _log_page(
        _("Access log: %(site)s", site=site.name),
        "vault.site_log",
        {"site_id": site.id},
        back=("vault.site_records", {"site_id": site.id})
        if policy.can_open_vault(current_user)
        else ("main.site_card", {"site_id": site.id}),
        site_id=site.id,
    )


@bp.get("/clients/<int:client_id>/vault/access-log")
def client_log(client_id: int):
    """The access log of a client's own records."""
    client = db.get_or_404(Client, client_id)
    _log_owner(client_id=client.id)
    return _log_page(
        _("Access log: %(client)s", client=client.name),
        "vault.client_log",
        {"client_id": client.id},
        back=("vault.client_records", {"client_id": client.id})
        if policy.can_open_vault(current_user)
        else None,
        client_id=client.id,
    )


@bp.get("/users/<int:user_id>/vault-access-log")
def user_log(user_id: int):
    """Everything one person did in the vault (a data subject's or an auditor's question)."""
    person = db.get_or_404(User, user_id)
    if not policy.can_read_user_access_log(current_user):
        _deny("role", status=403)
    return _log_page(
        _("Access log: %(user)s", user=person.display_name or person.username),
        "vault.user_log",
        {"user_id": person.id},
        back=("auth.user_edit", {"user_id": person.id})
        if policy.can_manage_users(current_user)
        else None,
        user_id=person.id,
    )


def _user_access_log_panel(user: User) -> str:
    """The administered user's page links to what he did in the vault."""
    if not policy.can_read_user_access_log(current_user):
        return ""
    return render_template("vault/_user_panel.html", user=user)


if _user_access_log_panel not in auth_routes.USER_PAGE_PANELS:
    auth_routes.USER_PAGE_PANELS.append(_user_access_log_panel)

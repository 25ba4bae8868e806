"""Registry pages, QR codes and labels, the scan landing, the scanner and check-in history."""

from __future__ import annotations

import uuid as uuid_lib
from datetime import timedelta

from flask import Blueprint, Response, abort, current_app, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app import audit, links, uow
from app.args import int_arg, is_id, page_arg, taipei_day_start
from app.auth import policy
from app.auth import routes as auth_routes
from app.auth.models import User
from app.authz import authorize, authorize_hidden
from app.extensions import db
from app.forms import first_error, require_action_form
from app.htmx import render
from app.sites import qr
from app.sites import services as svc
from app.sites.forms import (
    EQUIPMENT_KIND_LABELS,
    EQUIPMENT_STATUS_LABELS,
    SYSTEM_TYPE_LABELS,
    VERDICT_LABELS,
    BulkAssignForm,
    CheckInForm,
    CheckInLocationForm,
    ClientForm,
    EquipmentForm,
    SiteCodeForm,
    SiteForm,
    SiteUsersForm,
    UserSitesForm,
)
from app.sites.models import Client, Equipment, Site

bp = Blueprint("sites", __name__)

MAX_LABELS = 96


@bp.app_context_processor
def labels():
    return {
        "system_type_labels": SYSTEM_TYPE_LABELS,
        "equipment_kind_labels": EQUIPMENT_KIND_LABELS,
        "equipment_status_labels": EQUIPMENT_STATUS_LABELS,
        "verdict_labels": VERDICT_LABELS,
    }


def _load_site(site_id: int, allowed) -> Site:
    """The site, or 404 — also when the user may not know it exists (and that is audited)."""
    site = db.get_or_404(Site, site_id)
    authorize_hidden(allowed(site), target=f"site:{site.id}")
    return site


def _can_check_in(site: Site) -> bool:
    return policy.can_check_in(
        current_user, site, assigned_site_ids=svc.assigned_site_ids(current_user)
    )


# ---------------------------------------------------------------- clients


@bp.get("/clients")
def clients():
    """Clients (業主), searchable."""
    authorize(policy.can_view_registry(current_user))
    page = svc.list_clients(
        q=request.args.get("q", "")[:60], page=page_arg(), per_page=current_app.config["PAGE_SIZE"]
    )
    return render("sites/clients.html", "sites/_client_list.html", page=page)


@bp.route("/clients/new", methods=["GET", "POST"])
def client_new():
    """Register a client."""
    authorize(policy.can_edit_registry(current_user))
    form = ClientForm()
    return uow.form_page(
        form,
        lambda: svc.save_client(None, actor=current_user, **form.data),
        then=lambda client: uow.see_other(
            url_for("sites.client_edit", client_id=client.id),
            _("Client %(name)s has been added.", name=client.name),
        ),
        page=lambda: render_template("sites/client_form.html", form=form, client=None),
    )


@bp.route("/clients/<int:client_id>", methods=["GET", "POST"])
def client_edit(client_id: int):
    """A client: its details (editable by admins) and its sites."""
    authorize(policy.can_view_registry(current_user))
    client = db.get_or_404(Client, client_id)
    if request.method == "POST":
        authorize(policy.can_edit_registry(current_user))
    form = ClientForm(obj=client)
    return uow.form_page(
        form,
        lambda: svc.save_client(client, actor=current_user, **form.data),
        then=lambda _client: uow.see_other(
            url_for("sites.client_edit", client_id=client.id), _("Changes saved.")
        ),
        page=lambda: render_template("sites/client_form.html", form=form, client=client),
    )


# ---------------------------------------------------------------- sites


@bp.get("/sites")
def sites():
    """Sites the user may see, searchable and filtered by client and status."""
    authorize(policy.can_list_sites(current_user))
    page = svc.list_sites(
        current_user,
        q=request.args.get("q", "")[:60],
        client_id=int_arg("client"),
        active=request.args.get("active", ""),
        page=page_arg(),
        per_page=current_app.config["PAGE_SIZE"],
    )
    client_options = (
        [(c.id, c.name) for c in svc.all_clients()]
        if policy.can_view_registry(current_user)
        else []
    )
    return render(
        "sites/sites.html", "sites/_site_list.html", page=page, client_options=client_options
    )


def _site_form(site: Site | None) -> SiteForm:
    form = SiteForm(obj=site)
    if site is not None and request.method == "GET":
        form.system_types.data = site.system_type_list
    form.client_id.choices = [(0, _("Choose…"))] + [(c.id, c.name) for c in svc.all_clients()]
    return form


def _site_saved(site: Site, message: str):
    return uow.see_other(url_for("main.site_card", site_id=site.id), message)


@bp.route("/sites/new", methods=["GET", "POST"])
def site_new():
    """Register a site."""
    authorize(policy.can_edit_registry(current_user))
    form = _site_form(None)
    if request.method == "GET" and int_arg("client"):
        form.client_id.data = int_arg("client")
    return uow.form_page(
        form,
        lambda: svc.save_site(None, actor=current_user, **form.values()),
        then=lambda site: _site_saved(site, _("Site %(code)s has been added.", code=site.code)),
        page=lambda: render_template("sites/site_form.html", form=form, site=None),
    )


@bp.route("/sites/<int:site_id>/edit", methods=["GET", "POST"])
def site_edit(site_id: int):
    """Change a site's registry entry."""
    authorize(policy.can_edit_registry(current_user))
    site = db.get_or_404(Site, site_id)
    form = _site_form(site)
    return uow.form_page(
        form,
        lambda: svc.save_site(site, actor=current_user, **form.values()),
        then=lambda _site: _site_saved(site, _("Changes saved.")),
        page=lambda: render_template("sites/site_form.html", form=form, site=site),
    )


@bp.post("/sites/<int:site_id>/users")
def site_users(site_id: int):
    """Set which guards and supervisors serve this site."""
    authorize(policy.can_edit_registry(current_user))
    site = db.get_or_404(Site, site_id)
    require_action_form()
    form = SiteUsersForm()
    return uow.action(
        lambda: svc.set_site_users(site, actor=current_user, user_ids=form.user_id.data),
        form=form,
        back=url_for("main.site_card", site_id=site.id) + "#people",
        success=_("Site assignments saved."),
    )


def _user_sites_panel(user: User) -> str:
    """The "assigned sites" panel of an administered user's page."""
    if not policy.role_is_assignable(user.role):
        return ""
    return render_template(
        "sites/_user_sites.html",
        user=user,
        sites=db.session.scalars(select(Site).order_by(Site.code)).all(),
        assigned=svc.assigned_site_ids(user),
    )


def _client_choices() -> list[tuple[int, str]]:
    return [(c.id, c.name) for c in svc.all_clients()]


for _hook, _hooks in (
    (_user_sites_panel, auth_routes.USER_PAGE_PANELS),
    (_client_choices, auth_routes.CLIENT_CHOICES),
):
    if _hook not in _hooks:
        _hooks.append(_hook)


@bp.post("/admin/users/<int:user_id>/sites")
def user_sites(user_id: int):
    """Set which sites a guard or supervisor serves; takes effect on their next request."""
    authorize(policy.can_manage_users(current_user))
    user = db.get_or_404(User, user_id)
    form = UserSitesForm()
    return uow.action(
        lambda: svc.set_user_sites(user, actor=current_user, site_ids=form.site_id.data),
        form=form,
        back=url_for("auth.user_edit", user_id=user.id),
        success=_("Site assignments saved."),
    )


@bp.route("/sites/bulk-assign", methods=["GET", "POST"])
def bulk_assign():
    """Assign several people to several sites at once."""
    authorize(policy.can_edit_registry(current_user))
    form = BulkAssignForm()
    return uow.form_page(
        form,
        lambda: svc.bulk_assign(
            actor=current_user, site_ids=form.site_id.data, user_ids=form.user_id.data
        ),
        then=lambda added: uow.see_other(
            url_for("sites.sites"), _("%(count)s assignments added.", count=added)
        ),
        page=lambda: _bulk_assign_page(form),
    )


def _bulk_assign_page(form: BulkAssignForm) -> str:
    return render_template(
        "sites/bulk_assign.html",
        sites=db.session.scalars(
            select(Site).where(Site.is_active.is_(True)).order_by(Site.code)
        ).all(),
        people=svc.assignable_users(),
        error=first_error(form),
        form=form,
    )


# ---------------------------------------------------------------- equipment


def _equipment_page(form: EquipmentForm, site: Site, equipment: Equipment | None):
    return uow.form_page(
        form,
        lambda: svc.save_equipment(equipment, site=site, actor=current_user, **form.values()),
        then=lambda _equipment: uow.see_other(
            url_for("main.site_card", site_id=site.id) + "#equipment", _("Equipment saved.")
        ),
        page=lambda: render_template(
            "sites/equipment_form.html", form=form, site=site, equipment=equipment
        ),
    )


@bp.route("/sites/<int:site_id>/equipment/new", methods=["GET", "POST"])
def equipment_new(site_id: int):
    """Add equipment to a site."""
    authorize(policy.can_edit_registry(current_user))
    site = db.get_or_404(Site, site_id)
    return _equipment_page(EquipmentForm(), site, None)


@bp.route("/equipment/<int:equipment_id>", methods=["GET", "POST"])
def equipment_edit(equipment_id: int):
    """Change a piece of equipment (its status, maintenance plan…)."""
    authorize(policy.can_edit_registry(current_user))
    equipment = db.get_or_404(Equipment, equipment_id)
    return _equipment_page(EquipmentForm(obj=equipment), equipment.site, equipment)


# ---------------------------------------------------------------- QR codes and labels


def _qr_site(site_id: int) -> Site:
    authorize(policy.can_print_labels(current_user))
    return db.get_or_404(Site, site_id)


def _image(body: bytes, mimetype: str) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _no_public_address() -> Response:
    """No BASE_URL and no trusted host: no QR code rather than one for whatever Host came."""
    message = _(
        "Set BASE_URL (or TRUSTED_HOSTS) to the address the phones open: QR codes are "
        "never made from the address a request happened to carry."
    )
    response = Response(message, status=409, mimetype="text/plain")
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/sites/<int:site_id>/qr.svg")
def qr_svg(site_id: int):
    """The site's QR code as SVG."""
    url = svc.qr_url(_qr_site(site_id))
    return _image(qr.qr_svg(url), "image/svg+xml") if url else _no_public_address()


@bp.get("/sites/<int:site_id>/qr.png")
def qr_png(site_id: int):
    """The site's QR code as PNG."""
    url = svc.qr_url(_qr_site(site_id))
    return _image(qr.qr_png(url), "image/png") if url else _no_public_address()


@bp.post("/sites/<int:site_id>/qr/rotate")
def qr_rotate(site_id: int):
    """Replace the site's code: labels printed before stop working."""
    authorize(policy.can_edit_registry(current_user))
    site = db.get_or_404(Site, site_id)
    require_action_form()
    return uow.action(
        lambda: svc.rotate_qr_token(site, actor=current_user),
        back=url_for("main.site_card", site_id=site.id) + "#qr",
        success=_("The QR code has been replaced. Print and put up the new label."),
    )


@bp.get("/sites/labels")
def labels_sheet():
    """A printable A4 sheet of QR labels for the chosen sites."""
    authorize(policy.can_print_labels(current_user))
    ids = [int(v) for v in request.args.getlist("site") if is_id(v)][:MAX_LABELS]
    chosen = (
        list(db.session.scalars(select(Site).where(Site.id.in_(ids)).order_by(Site.code)))
        if ids
        else []
    )
    return render_template("sites/labels.html", sites=chosen, public_base=links.public_base_url())


# ---------------------------------------------------------------- scanning and check-in


@bp.get("/s/<token>")
def scan_landing(token: str):
    """Where every site QR code points: check in, then the site card."""
    site, retired = svc.find_site_by_token(token)
    if site is None:
        if retired is not None:
            uow.commit(
                lambda: audit.record(
                    "site.qr_retired_scanned",
                    actor=current_user,
                    target=f"site:{retired.site_id}",
                    outcome="denied",
                )
            )
            return render_template("sites/code_replaced.html"), 410
        abort(404)
    if not _can_check_in(site):
        uow.commit(_denied_scan(site))
        abort(404)
    return _check_in_page(site, url_for("sites.check_in", token=token))


def _check_in_page(site: Site, action: str) -> str:
    form = CheckInForm(uuid=str(uuid_lib.uuid4()))
    return render_template("sites/check_in.html", site=site, form=form, action=action)


def _check_in(site: Site, form: CheckInForm, method: str):
    """The check-in (idempotent by the device's uuid) and what other features follow it up
    with (an alarm response's arrival): the record and the messages for the user."""
    record = uow.retry_after_conflict(
        lambda: svc.record_check_in(site, user=current_user, method=method, **form.values())
    )
    return record, svc.follow_up_check_in(record, user=current_user)


def _record_check_in(site: Site, method: str):
    """Record the check-in made by `method` (the route's, never the client's); the site card."""
    form = CheckInForm()
    return uow.run(
        lambda: _check_in(site, form, method),
        form=form,
        then=lambda done: uow.see_other(
            url_for("main.site_card", site_id=site.id, check_in=done[0].uuid),
            " ".join(str(message) for message in done[1]) or None,
            uuid=done[0].uuid,
        ),
        refused=lambda exc: uow.refusal_json(exc) if uow.wants_json() else abort(exc.status),
    )


@bp.post("/s/<token>/check-in")
def check_in(token: str):
    """A check-in through the label's URL: the only way to a "qr" check-in."""
    site, _retired = svc.find_site_by_token(token)
    if site is None:
        abort(404)
    authorize_hidden(_can_check_in(site), target=f"site:{site.id}")
    return _record_check_in(site, "qr")


@bp.get("/sites/<int:site_id>/check-in")
def code_check_in_page(site_id: int):
    """The check-in page reached by the typed site code (or the site card): no QR token."""
    site = db.get_or_404(Site, site_id)
    if not _can_check_in(site):
        uow.commit(_denied_scan(site))
        abort(404)
    return _check_in_page(site, url_for("sites.code_check_in", site_id=site.id))


@bp.post("/sites/<int:site_id>/check-in")
def code_check_in(site_id: int):
    """A check-in without the label's URL: recorded as "code", never as a scan."""
    site = db.get_or_404(Site, site_id)
    authorize_hidden(_can_check_in(site), target=f"site:{site.id}")
    return _record_check_in(site, "code")


@bp.post("/check-ins/<uuid>/location")
def check_in_location(uuid: str):
    """Try again: the location for one's own check-in recorded without one."""
    record = svc.check_in_by_uuid(uuid[:36])
    if record is None:
        abort(404)
    authorize_hidden(
        policy.can_add_check_in_location(current_user, record), target=f"check_in:{record.id}"
    )
    form = CheckInLocationForm()
    return uow.action(
        lambda: svc.add_check_in_location(
            record,
            latitude=form.latitude.data,
            longitude=form.longitude.data,
            accuracy_m=form.accuracy.data,
        ),
        form=form,
        back=url_for("main.site_card", site_id=record.site_id, check_in=record.uuid),
    )


@bp.route("/scan", methods=["GET"])
def scanner():
    """The in-app scanner: camera, photo of the code, or the code typed in."""
    authorize(policy.can_scan(current_user))
    return render_template("sites/scan.html", form=SiteCodeForm())


def _denied_scan(site: Site):
    return lambda: audit.record(
        "site.scan", actor=current_user, target=f"site:{site.id}", outcome="denied"
    )


def _site_by_code(code: str) -> Site:
    """One of the user's sites by its printed code; asking for another's is audited."""
    site = svc.find_site_by_code(code)
    if site is not None and _can_check_in(site):
        return site
    if site is not None:
        _denied_scan(site)()
    raise svc.RegistryError("code", "unknown_code", keep_record=site is not None)


@bp.post("/scan/code")
def scan_code():
    """Check in by typing the site code printed under the QR code: on to the site's
    check-in page by its id (the QR token never leaves the server this way)."""
    authorize(policy.can_scan(current_user))
    form = SiteCodeForm()
    return uow.form_page(
        form,
        lambda: _site_by_code(form.code.data),
        then=lambda site: uow.see_other(url_for("sites.code_check_in_page", site_id=site.id)),
        page=lambda: render_template("sites/scan.html", form=form),
    )


# ---------------------------------------------------------------- check-in history


@bp.get("/check-ins")
def check_ins():
    """Check-in history: per site and per person, by date, with flags for doubtful ones."""
    authorize(policy.can_view_check_ins(current_user))
    since = taipei_day_start(request.args.get("from"))
    until = taipei_day_start(request.args.get("to"))
    page = svc.list_check_ins(
        current_user,
        site_id=int_arg("site"),
        user_id=int_arg("user") if policy.sees_others_check_ins(current_user) else None,
        since=since,
        until=until + timedelta(days=1) if until else None,
        flagged=request.args.get("flagged") == "1",
        page=page_arg(),
        per_page=current_app.config["PAGE_SIZE"],
    )
    people = svc.check_in_people(current_user) if policy.sees_others_check_ins(current_user) else []
    return render(
        "sites/check_ins.html",
        "sites/_check_in_list.html",
        page=page,
        sites=svc.visible_sites(current_user),
        people=people,
    )

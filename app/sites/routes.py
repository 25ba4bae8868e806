"""Registry pages, QR codes and labels, the scan landing, the scanner and check-in history."""

from __future__ import annotations

import uuid as uuid_lib
from datetime import UTC, datetime, timedelta

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app import audit
from app.args import int_arg, page_arg, taipei_day_start
from app.auth import policy
from app.auth import routes as auth_routes
from app.auth.models import User
from app.authz import authorize, authorize_hidden
from app.db import retry_after_conflict
from app.extensions import db
from app.forms import ActionForm, require_action_form
from app.htmx import render
from app.sites import qr
from app.sites import services as svc
from app.sites.forms import (
    EQUIPMENT_KIND_LABELS,
    EQUIPMENT_STATUS_LABELS,
    REGISTRY_MESSAGES,
    SYSTEM_TYPE_LABELS,
    VERDICT_LABELS,
    CheckInForm,
    ClientForm,
    EquipmentForm,
    SiteCodeForm,
    SiteForm,
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


def _registry_error(form, exc: svc.RegistryError) -> None:
    getattr(form, exc.field).errors.append(REGISTRY_MESSAGES[exc.key])


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
    if form.validate_on_submit():
        try:
            client = svc.save_client(None, actor=current_user, **form.data)
        except svc.RegistryError as exc:
            _registry_error(form, exc)
        else:
            db.session.commit()
            flash(_("Client %(name)s has been registered.", name=client.name), "success")
            return redirect(url_for("sites.client_edit", client_id=client.id), code=303)
    return render_template("sites/client_form.html", form=form, client=None)


@bp.route("/clients/<int:client_id>", methods=["GET", "POST"])
def client_edit(client_id: int):
    """A client: its details (editable by admins) and its sites."""
    authorize(policy.can_view_registry(current_user))
    client = db.get_or_404(Client, client_id)
    form = ClientForm(obj=client)
    if request.method == "POST":
        authorize(policy.can_edit_registry(current_user))
        if form.validate_on_submit():
            try:
                svc.save_client(client, actor=current_user, **form.data)
            except svc.RegistryError as exc:
                _registry_error(form, exc)
            else:
                db.session.commit()
                flash(_("Changes saved."), "success")
                return redirect(url_for("sites.client_edit", client_id=client.id), code=303)
    return render_template("sites/client_form.html", form=form, client=client)


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


@bp.route("/sites/new", methods=["GET", "POST"])
def site_new():
    """Register a site."""
    authorize(policy.can_edit_registry(current_user))
    form = _site_form(None)
    if request.method == "GET" and request.args.get("client", type=int):
        form.client_id.data = request.args.get("client", type=int)
    if form.validate_on_submit():
        try:
            site = svc.save_site(None, actor=current_user, **form.values())
        except svc.RegistryError as exc:
            _registry_error(form, exc)
        else:
            db.session.commit()
            flash(_("Site %(code)s has been registered.", code=site.code), "success")
            return redirect(url_for("main.site_card", site_id=site.id), code=303)
    return render_template("sites/site_form.html", form=form, site=None)


@bp.route("/sites/<int:site_id>/edit", methods=["GET", "POST"])
def site_edit(site_id: int):
    """Change a site's registry entry."""
    authorize(policy.can_edit_registry(current_user))
    site = db.get_or_404(Site, site_id)
    form = _site_form(site)
    if form.validate_on_submit():
        try:
            svc.save_site(site, actor=current_user, **form.values())
        except svc.RegistryError as exc:
            _registry_error(form, exc)
        else:
            db.session.commit()
            flash(_("Changes saved."), "success")
            return redirect(url_for("main.site_card", site_id=site.id), code=303)
    return render_template("sites/site_form.html", form=form, site=site)


@bp.post("/sites/<int:site_id>/users")
def site_users(site_id: int):
    """Set which guards and supervisors serve this site."""
    authorize(policy.can_edit_registry(current_user))
    site = db.get_or_404(Site, site_id)
    require_action_form()
    user_ids = {int(v) for v in request.form.getlist("user_id") if v.isdigit()}
    svc.set_site_users(site, actor=current_user, user_ids=user_ids)
    db.session.commit()
    flash(_("Site assignments saved."), "success")
    return redirect(url_for("main.site_card", site_id=site.id) + "#people", code=303)


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
    require_action_form()
    site_ids = {int(v) for v in request.form.getlist("site_id") if v.isdigit()}
    try:
        svc.set_user_sites(user, actor=current_user, site_ids=site_ids)
    except svc.RegistryError as exc:
        db.session.rollback()
        flash(REGISTRY_MESSAGES[exc.key], "error")
    else:
        db.session.commit()
        flash(_("Site assignments saved."), "success")
    return redirect(url_for("auth.user_edit", user_id=user.id), code=303)


@bp.route("/sites/bulk-assign", methods=["GET", "POST"])
def bulk_assign():
    """Assign several people to several sites at once."""
    authorize(policy.can_edit_registry(current_user))
    form = ActionForm()
    all_sites = list(
        db.session.scalars(select(Site).where(Site.is_active.is_(True)).order_by(Site.code))
    )
    people = svc.assignable_users()
    error = None
    if form.validate_on_submit():
        site_ids = {int(v) for v in request.form.getlist("site_id") if v.isdigit()}
        user_ids = {int(v) for v in request.form.getlist("user_id") if v.isdigit()}
        if not site_ids or not user_ids:
            error = _("Choose at least one site and one person.")
        else:
            added = svc.bulk_assign(actor=current_user, site_ids=site_ids, user_ids=user_ids)
            db.session.commit()
            flash(_("%(count)s assignments added.", count=added), "success")
            return redirect(url_for("sites.sites"), code=303)
    return render_template(
        "sites/bulk_assign.html", sites=all_sites, people=people, error=error, form=form
    )


# ---------------------------------------------------------------- equipment


def _equipment_page(form: EquipmentForm, site: Site, equipment: Equipment | None):
    if form.validate_on_submit():
        svc.save_equipment(equipment, site=site, actor=current_user, **form.values())
        db.session.commit()
        flash(_("Equipment saved."), "success")
        return redirect(url_for("main.site_card", site_id=site.id) + "#equipment", code=303)
    return render_template("sites/equipment_form.html", form=form, site=site, equipment=equipment)


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


@bp.get("/sites/<int:site_id>/qr.svg")
def qr_svg(site_id: int):
    """The site's QR code as SVG."""
    return _image(qr.qr_svg(svc.qr_url(_qr_site(site_id))), "image/svg+xml")


@bp.get("/sites/<int:site_id>/qr.png")
def qr_png(site_id: int):
    """The site's QR code as PNG."""
    return _image(qr.qr_png(svc.qr_url(_qr_site(site_id))), "image/png")


@bp.post("/sites/<int:site_id>/qr/rotate")
def qr_rotate(site_id: int):
    """Replace the site's code: labels printed before stop working."""
    authorize(policy.can_edit_registry(current_user))
    site = db.get_or_404(Site, site_id)
    require_action_form()
    svc.rotate_qr_token(site, actor=current_user)
    db.session.commit()
    flash(_("The QR code has been replaced. Print and put up the new label."), "success")
    return redirect(url_for("main.site_card", site_id=site.id) + "#qr", code=303)


@bp.get("/sites/labels")
def labels_sheet():
    """A printable A4 sheet of QR labels for the chosen sites."""
    authorize(policy.can_print_labels(current_user))
    ids = [int(v) for v in request.args.getlist("site") if v.isdigit()][:MAX_LABELS]
    chosen = (
        list(db.session.scalars(select(Site).where(Site.id.in_(ids)).order_by(Site.code)))
        if ids
        else []
    )
    return render_template("sites/labels.html", sites=chosen)


# ---------------------------------------------------------------- scanning and check-in


@bp.get("/s/<token>")
def scan_landing(token: str):
    """Where every site QR code points: check in, then the site card."""
    site, retired = svc.find_site_by_token(token)
    if site is None:
        if retired is not None:
            audit.record(
                "site.qr_retired_scanned",
                actor=current_user,
                target=f"site:{retired.site_id}",
                outcome="denied",
            )
            db.session.commit()
            return render_template("sites/code_replaced.html"), 410
        abort(404)
    if not _can_check_in(site):
        audit.record("site.scan", actor=current_user, target=f"site:{site.id}", outcome="denied")
        db.session.commit()
        abort(404)
    form = CheckInForm(
        uuid=str(uuid_lib.uuid4()), method="manual" if request.args.get("via") == "code" else "qr"
    )
    return render_template("sites/check_in.html", site=site, form=form, token=token)


def _float(value: str | None) -> float | None:
    try:
        number = float(value) if value not in (None, "") else None
    except ValueError:
        return None
    return (
        number if number is not None and abs(number) != float("inf") and number == number else None
    )


def _device_time(value: str | None) -> datetime | None:
    """The device clock, sent as milliseconds since the epoch."""
    number = _float(value)
    if number is None:
        return None
    try:
        return datetime.fromtimestamp(number / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


@bp.post("/s/<token>/check-in")
def check_in(token: str):
    """Record the check-in (idempotent by the device's uuid) and open the site card."""
    site, _retired = svc.find_site_by_token(token)
    if site is None:
        abort(404)
    authorize_hidden(_can_check_in(site), target=f"site:{site.id}")
    form = CheckInForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        record = retry_after_conflict(
            lambda: svc.record_check_in(
                site,
                user=current_user,
                uuid=form.uuid.data.lower(),
                method="manual" if form.method.data == "manual" else "qr",
                scanned_at=_device_time(form.scanned_at.data),
                latitude=_float(form.latitude.data),
                longitude=_float(form.longitude.data),
                accuracy_m=_float(form.accuracy.data),
            )
        )
    except svc.CheckInConflict:
        db.session.rollback()
        abort(409)
    messages = svc.follow_up_check_in(record, user=current_user)
    db.session.commit()
    for message in messages:
        flash(str(message), "success")
    return redirect(url_for("main.site_card", site_id=site.id, check_in=record.uuid), code=303)


@bp.route("/scan", methods=["GET"])
def scanner():
    """The in-app scanner: camera, photo of the code, or the code typed in."""
    authorize(policy.can_scan(current_user))
    return render_template("sites/scan.html", form=SiteCodeForm())


@bp.post("/scan/code")
def scan_code():
    """Check in by typing the site code printed under the QR code."""
    authorize(policy.can_scan(current_user))
    form = SiteCodeForm()
    if form.validate_on_submit():
        site = svc.find_site_by_code(form.code.data)
        if site is not None and _can_check_in(site):
            return redirect(
                url_for("sites.scan_landing", token=site.qr_token, via="code"), code=303
            )
        if site is not None:
            audit.record(
                "site.scan", actor=current_user, target=f"site:{site.id}", outcome="denied"
            )
            db.session.commit()
        form.code.errors.append(
            _("None of your sites has this code. Check the label and try again.")
        )
    return render_template("sites/scan.html", form=form), 200


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

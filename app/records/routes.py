"""Control-record sheets: the list, preparing a month, the sheet, its PDF and its workflow."""

from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, Response, abort, current_app, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app import uow
from app.args import int_arg, page_arg
from app.auth import policy
from app.authz import authorize, authorize_hidden
from app.company import images as company_images
from app.extensions import db
from app.forms import first_error, require_action_form
from app.i18n import taipei_today
from app.records import pdf
from app.records import services as svc
from app.records.figures import next_month
from app.records.forms import CorrectForm, PrepareForm, RemarksForm, ReturnForm
from app.records.models import SHEET_STATUSES, ControlRecordSheet
from app.sites import services as site_services
from app.sites.models import Client
from app.templating import NAV_ITEMS, NavItem

bp = Blueprint("records", __name__)

STATUS_LABELS = {
    "prepared": _l("Awaiting approval"),
    "returned": _l("Returned"),
    "approved": _l("Approved"),
    "released": _l("Released to the client"),
    "acknowledged": _l("Signed for by the client"),
    "superseded": _l("Superseded"),
}

# The sheets' entry in the menu (before "More"); added once, however many apps are built.
if not any(item.endpoint == "records.sheets" for item in NAV_ITEMS):
    NAV_ITEMS.insert(
        len(NAV_ITEMS) - 1,
        NavItem("records.sheets", _l("Control records"), "book", policy.can_list_sheets),
    )


@bp.app_context_processor
def sheet_labels():
    return {"sheet_status_labels": STATUS_LABELS}


def _assigned() -> set[int]:
    return site_services.assigned_site_ids(current_user)


def _month_arg(value: str | None) -> date | None:
    try:
        year, month = (int(part) for part in (value or "").split("-"))
        return date(year, month, 1) if 2000 <= year <= 2100 else None
    except ValueError:
        return None


def _last_month() -> date:
    first = taipei_today().replace(day=1)
    return date(first.year - (first.month == 1), (first.month - 2) % 12 + 1, 1)


@bp.get("/records")
def sheets():
    """Control-record sheets the user may see, by month, site and status; paginated."""
    authorize(policy.can_list_sheets(current_user))
    filters = svc.SheetFilter(
        month=_month_arg(request.args.get("month")),
        site_id=int_arg("site"),
        status=request.args.get("status") or None,
    )
    return render_template(
        "records/sheets.html",
        page=svc.list_sheets(
            current_user, filters, page=page_arg(), per_page=current_app.config["PAGE_SIZE"]
        ),
        filters=filters,
        statuses=SHEET_STATUSES,
        sites=(
            [] if policy.is_client_user(current_user) else site_services.visible_sites(current_user)
        ),
    )


def _prepare_page(form: PrepareForm, sites, clients) -> str:
    return render_template(
        "records/prepare.html",
        form=form,
        sites=sites,
        clients=clients,
        error=first_error(form),
        month=form.month.data or request.args.get("month") or f"{taipei_today():%Y-%m}",
        site_id=form.site.data or int_arg("site"),
        client_id=form.client.data or int_arg("client"),
    )


def _prepare(form: PrepareForm, sites, clients) -> ControlRecordSheet:
    month = _month_arg(form.month.data)
    if month is None:
        raise svc.SheetError("future_month", field="month")
    site = next((s for s in sites if s.id == form.site.data), None)
    client = next((c for c in clients if c.id == form.client.data), None)
    if site is None and client is None:
        raise svc.SheetError("site_required", field="site")
    return svc.prepare(
        user=current_user,
        month=month,
        today=taipei_today(),
        remarks=form.remarks.data or "",
        site=site,
        client=client if site is None else None,
    )


@bp.route("/records/new", methods=["GET", "POST"])
def prepare():
    """Prepare a month's sheet for a site (managers also a client's roll-up)."""
    authorize(policy.can_prepare_sheets(current_user))
    assigned = _assigned()
    sites = [
        s
        for s in site_services.visible_sites(current_user)
        if policy.can_prepare_sheet(current_user, s, assigned_site_ids=assigned)
    ]
    clients = (
        list(db.session.scalars(db.select(Client).order_by(Client.name)))
        if policy.can_prepare_client_sheet(current_user)
        else []
    )
    form = PrepareForm()
    if form.is_submitted():
        require_action_form()
    return uow.form_page(
        form,
        lambda: _prepare(form, sites, clients),
        then=lambda sheet: uow.see_other(
            url_for("records.sheet", sheet_id=sheet.id), _("Sheet prepared.")
        ),
        page=lambda: _prepare_page(form, sites, clients),
    )


def _load(sheet_id: int) -> ControlRecordSheet:
    sheet = db.get_or_404(ControlRecordSheet, sheet_id)
    authorize_hidden(
        policy.can_view_sheet(current_user, sheet, assigned_site_ids=_assigned()),
        target=f"sheet:{sheet.id}",
    )
    return sheet


def _image_url(endpoint: str, sheet: ControlRecordSheet, image) -> str | None:
    if image is None:
        return None
    return url_for(endpoint, sheet_id=sheet.id, v=company_images.version(image))


def _sheet_context(sheet: ControlRecordSheet) -> dict:
    logo, seal = svc.sheet_images(sheet)
    return {
        # "en" or "zh": the sheet's lang (its CJK line breaking) and its checklist items' text.
        "locale": "en" if str(get_locale()).startswith("en") else "zh",
        "logo": logo,
        "seal": seal,
        "logo_src": _image_url("records.sheet_logo", sheet, logo),
        "seal_src": _image_url("records.sheet_seal", sheet, seal),
        "sheet": sheet,
        "data": svc.figures_of(sheet),
        "month_last": next_month(sheet.month) - timedelta(days=1),
        "show_photos": policy.can_list_site_work(current_user),
        "photo_src": lambda uuid: url_for("photos.thumb", uuid=uuid),
    }


@bp.get("/records/<int:sheet_id>")
def sheet(sheet_id: int):
    """The sheet: its figures by indicator, remarks, signatures and the next step's buttons."""
    sheet = _load(sheet_id)
    return render_template(
        "records/sheet.html",
        **_sheet_context(sheet),
        may_edit=policy.can_edit_sheet_remarks(current_user, sheet, assigned_site_ids=_assigned()),
    )


@bp.get("/records/<int:sheet_id>.pdf")
def sheet_pdf(sheet_id: int):
    """The sheet as an A4 PDF (WeasyPrint, Noto Sans CJK TC); the download is audited."""
    sheet = _load(sheet_id)
    context = _sheet_context(sheet)
    context["show_photos"] = True  # embedded from the upload folder, not linked
    context["photo_src"] = lambda uuid: f"photo:{uuid}"
    logo, seal = context["logo"], context["seal"]
    context["logo_src"] = pdf.image_src(logo) if logo else None
    context["seal_src"] = pdf.image_src(seal) if seal else None
    html = render_template("records/sheet_print.html", **context)
    photo_uuids = {u for row in context["data"]["inspections"]["failed"] for u in row["photos"]}
    body = pdf.render_pdf(html, photo_uuids=photo_uuids, images=[logo, seal])
    uow.commit(lambda: svc.record_download(sheet, user=current_user))
    name = (
        f"control-record-{sheet.subject.replace(':', '-')}-{sheet.month:%Y-%m}-v{sheet.version}.pdf"
    )
    return Response(
        body,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@bp.get("/records/<int:sheet_id>/logo")
def sheet_logo(sheet_id: int):
    """The company logo printed on the sheet (frozen at approval, else the current one)."""
    sheet = _load(sheet_id)
    logo, _seal = svc.sheet_images(sheet)
    if logo is None:
        abort(404)
    return company_images.serve(logo, requested_version=request.args.get("v"))


@bp.get("/records/<int:sheet_id>/seal")
def sheet_seal(sheet_id: int):
    """The company seal stamped on the sheet: only while it stands approved."""
    sheet = _load(sheet_id)
    _logo, seal = svc.sheet_images(sheet)
    if seal is None:
        abort(404)
    return company_images.serve(seal, requested_version=request.args.get("v"))


def _back(sheet: ControlRecordSheet) -> str:
    return url_for("records.sheet", sheet_id=sheet.id)


@bp.post("/records/<int:sheet_id>/remarks")
def remarks(sheet_id: int):
    """Change the supervisor's remarks (a returned sheet goes back for approval)."""
    sheet = _load(sheet_id)
    authorize(policy.can_edit_sheet_remarks(current_user, sheet, assigned_site_ids=_assigned()))
    require_action_form()
    form = RemarksForm()
    return uow.action(
        lambda: svc.save_remarks(sheet, user=current_user, remarks=form.remarks.data or ""),
        form=form,
        back=_back(sheet),
        success=_("Remarks saved; the sheet awaits approval."),
    )


@bp.post("/records/<int:sheet_id>/approve")
def approve(sheet_id: int):
    """Approve: the figures are frozen from now on."""
    sheet = _load(sheet_id)
    authorize(policy.can_review_sheets(current_user))
    require_action_form()
    return uow.action(
        lambda: svc.approve(sheet, user=current_user),
        back=_back(sheet),
        success=_("Sheet approved; its figures are frozen."),
    )


@bp.post("/records/<int:sheet_id>/return")
def return_sheet(sheet_id: int):
    """Return to the supervisor with a comment (required)."""
    sheet = _load(sheet_id)
    authorize(policy.can_review_sheets(current_user))
    require_action_form()
    form = ReturnForm()
    return uow.action(
        lambda: svc.return_sheet(sheet, user=current_user, comment=form.comment.data or ""),
        form=form,
        back=_back(sheet),
        success=_("Sheet returned to the supervisor."),
    )


@bp.post("/records/<int:sheet_id>/release")
def release(sheet_id: int):
    """Release to the client: its users can read, download and sign for it."""
    sheet = _load(sheet_id)
    authorize(policy.can_review_sheets(current_user))
    require_action_form()
    return uow.action(
        lambda: svc.release(sheet, user=current_user),
        back=_back(sheet),
        success=_("Sheet released to the client."),
    )


@bp.post("/records/<int:sheet_id>/correct")
def correct(sheet_id: int):
    """Start a corrected version of a frozen sheet, with the reason."""
    sheet = _load(sheet_id)
    authorize(policy.can_review_sheets(current_user))
    require_action_form()
    form = CorrectForm()
    return uow.action(
        lambda: svc.correct(sheet, user=current_user, reason=form.reason.data or ""),
        form=form,
        back=_back(sheet),
        then=lambda new: uow.see_other(
            url_for("records.sheet", sheet_id=new.id), _("A corrected version was started.")
        ),
    )


@bp.post("/records/<int:sheet_id>/acknowledge")
def acknowledge(sheet_id: int):
    """The client signs for the sheet (簽收)."""
    sheet = _load(sheet_id)
    authorize(policy.can_acknowledge_sheets(current_user))
    require_action_form()
    return uow.action(
        lambda: svc.acknowledge(sheet, user=current_user),
        back=_back(sheet),
        success=_("Thank you: receipt of the sheet is recorded."),
    )

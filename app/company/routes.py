"""The company settings page (admin): the company's name, the calendar of printed dates, and
its logo and seal (uploaded, previewed, removed)."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app import uow
from app.auth import policy
from app.authz import authorize
from app.company import images
from app.company import services as svc
from app.company.forms import CompanyImageForm, CompanySettingForm
from app.forms import require_action_form
from app.i18n import taipei_today

bp = Blueprint("company", __name__)


@bp.route("/admin/company", methods=["GET", "POST"])
def settings():
    """The company's name and how printed reports write dates (Gregorian or 民國)."""
    authorize(policy.can_manage_company(current_user))
    setting = svc.current_setting()
    form = CompanySettingForm(obj=setting)
    return uow.form_page(
        form,
        lambda: svc.save_setting(
            actor=current_user,
            company_name=form.company_name.data or "",
            date_calendar=form.date_calendar.data,
        ),
        then=lambda _setting: uow.see_other(url_for("company.settings"), _("Changes saved.")),
        page=lambda: render_template(
            "company/settings.html",
            form=form,
            setting=setting,
            today=taipei_today(),
            logo=images.current_image("logo"),
            seal=images.current_image("seal"),
            image_version=images.version,
        ),
    )


UPLOADED = {"logo": _l("Logo saved."), "seal": _l("Seal saved.")}
REMOVED = {"logo": _l("Logo removed."), "seal": _l("Seal removed.")}


@bp.get("/admin/company/<any(logo, seal):kind>")
def image(kind: str):
    """The current logo or seal, for the settings page's preview."""
    authorize(policy.can_manage_company(current_user))
    current = images.current_image(kind)
    if current is None:
        abort(404)
    return images.serve(current, requested_version=request.args.get("v"))


@bp.post("/admin/company/<any(logo, seal):kind>")
def upload_image(kind: str):
    """A new logo or seal (PNG or JPEG, at most 2 MB), checked and re-encoded; audited."""
    authorize(policy.can_manage_company(current_user))
    require_action_form()
    form = CompanyImageForm()
    return uow.action(
        lambda: images.upload(actor=current_user, kind=kind, data=form.image_bytes()),
        form=form,
        back=url_for("company.settings"),
        success=str(UPLOADED[kind]),
    )


@bp.post("/admin/company/<any(logo, seal):kind>/remove")
def remove_image(kind: str):
    """Stop printing the logo or seal (sheets approved with it keep it); audited."""
    authorize(policy.can_manage_company(current_user))
    require_action_form()
    return uow.action(
        lambda: images.remove(actor=current_user, kind=kind),
        back=url_for("company.settings"),
        success=str(REMOVED[kind]),
    )

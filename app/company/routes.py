"""The company settings page (admin): the company's name and the calendar of printed dates."""

from __future__ import annotations

from flask import Blueprint, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app import uow
from app.auth import policy
from app.authz import authorize
from app.company import services as svc
from app.company.forms import CompanySettingForm
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
            "company/settings.html", form=form, setting=setting, today=taipei_today()
        ),
    )

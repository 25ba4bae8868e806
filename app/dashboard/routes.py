"""The dashboard at /dashboard and the exports at /exports: managers all sites, supervisors
their own (policy.can_view_dashboard)."""

from __future__ import annotations

import os

from flask import (
    Blueprint,
    abort,
    current_app,
    render_template,
    request,
    send_file,
    stream_with_context,
)
from flask_login import current_user

from app import uow
from app.args import day_arg, int_arg
from app.auth import policy
from app.authz import authorize
from app.dashboard import exports as ex
from app.dashboard import services as svc
from app.i18n import taipei_today
from app.incidents.forms import CATEGORY_LABELS

bp = Blueprint("dashboard", __name__)


def _filters() -> svc.Filters:
    """The period and filters of the query string (Taipei days; a preset wins over days)."""
    today = taipei_today()
    period = svc.preset_period(request.args.get("preset", ""), today=today) or svc.period_of(
        day_arg(request.args.get("from")), day_arg(request.args.get("to")), today=today
    )
    return svc.Filters(
        period=period,
        client_id=int_arg("client"),
        supervisor_id=int_arg("supervisor"),
        site_id=int_arg("site"),
    )


def _context(filters: svc.Filters) -> dict:
    """What the filter form and the preset links need."""
    clients, supervisors, sites = svc.filter_choices(current_user)
    return {
        "filters": filters,
        "period": filters.period.query(),
        "keep": {k: v for k, v in filters.query().items() if k not in ("from", "to")},
        "clients": clients,
        "supervisors": supervisors,
        "sites": sites,
    }


@bp.get("/dashboard")
def dashboard():
    """A period's figures over the sites I may see: inspections, incidents, alarms, repairs,
    maintenance and training, each linking to its rows."""
    authorize(policy.can_view_dashboard(current_user))
    filters = _filters()
    return render_template(
        "dashboard/dashboard.html",
        figures=svc.figures(current_user, filters, today=taipei_today()),
        category_labels=CATEGORY_LABELS,
        **_context(filters),
    )


@bp.get("/exports")
def exports():
    """The exports (CSV and XLSX) of a period's rows, with the dashboard's filters."""
    authorize(policy.can_view_dashboard(current_user))
    return render_template("dashboard/exports.html", exports=ex.EXPORTS, **_context(_filters()))


@bp.get("/exports/<kind>.<fmt>")
def export(kind: str, fmt: str):
    """One export, streamed as CSV (line by line) or sent as XLSX (built in a temporary file,
    constant memory); the rows of my sites in the period and filters."""
    authorize(policy.can_view_dashboard(current_user))
    item = ex.EXPORTS.get(kind)
    if item is None or fmt not in ("csv", "xlsx"):
        abort(404)
    filters = _filters()
    uow.commit(lambda: ex.record_export(current_user, item, fmt, filters))
    name = f"{kind}-{filters.period.first.isoformat()}-{filters.period.last.isoformat()}.{fmt}"
    if fmt == "csv":
        chunks = ex.csv_chunks(current_user, item, filters)
        response = current_app.response_class(
            stream_with_context(chunk.encode() for chunk in chunks),
            mimetype="text/csv",
        )
        response.charset = "utf-8"
        response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
    path = ex.xlsx_file(current_user, item, filters)
    try:
        # Opened, then unlinked: the open file is sent and disappears when it is closed.
        handle = open(path, "rb")  # noqa: SIM115
    finally:
        os.unlink(path)
    return send_file(
        handle,
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        as_attachment=True,
        download_name=name,
    )

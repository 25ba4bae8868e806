"""Arm/disarm pages: a site's events and hours, entry by hand, the CSV import, integrations,
and the monitoring centre's API (POST /api/v1/arming/events, a bearer token, no session)."""

from __future__ import annotations

import uuid as uuid_module
from pathlib import Path

from flask import (
    Blueprint,
    Response,
    current_app,
    jsonify,
    render_template,
    request,
    url_for,
)
from flask_babel import format_date, format_datetime, ngettext
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app import files, uow
from app.arming import services as svc
from app.arming.forms import (
    CsvConfirmForm,
    CsvUploadForm,
    EventForm,
    HoursForm,
    IntegrationForm,
)
from app.arming.models import ArmIntegration
from app.auth import policy
from app.auth.login import public
from app.authz import authorize, authorize_hidden
from app.db import utcnow
from app.extensions import csrf, db, limiter
from app.i18n import from_taipei, taipei_now_input
from app.sites import services as site_services
from app.sites.models import Site

bp = Blueprint("arming", __name__)


@bp.app_context_processor
def arming_labels():
    return {
        "arm_kind_labels": svc.KIND_LABELS,
        "arm_source_labels": svc.SOURCE_LABELS,
        "weekday_labels": svc.WEEKDAY_LABELS,
    }


@bp.app_template_filter("time_taipei")
def time_taipei(value) -> str:
    """An instant as Taiwan's wall clock, hours and minutes (the day is shown beside it)."""
    return format_datetime(value, "HH:mm") if value else ""


@bp.app_template_filter("arm_day")
def arm_day(value) -> str:
    """A day of the arm/disarm table, short, with its weekday: 11/25 週三, 11/25 Wed."""
    return format_date(value, "M/d EEE") if value else ""


def _assigned() -> frozenset[int]:
    return site_services.assigned_site_ids(current_user)


def _site(site_id: int, rule=policy.can_view_arming) -> Site:
    site = db.get_or_404(Site, site_id)
    authorize_hidden(
        rule(current_user, site, assigned_site_ids=_assigned()), target=f"site:{site.id}"
    )
    return site


# ---------------------------------------------------------------- a site's events and hours


@bp.get("/sites/<int:site_id>/arming")
def site_events(site_id: int):
    """A site's arm/disarm events, newest first, with its opening hours."""
    site = _site(site_id)
    page = svc.site_events(
        site, page=request.args.get("page", 1, type=int), per_page=current_app.config["PAGE_SIZE"]
    )
    return render_template(
        "arming/events.html",
        site=site,
        page=page,
        hours=svc.hours_of(site.id),
        grace=svc.grace_minutes(),
    )


@bp.route("/sites/<int:site_id>/arming/new", methods=["GET", "POST"])
def event_new(site_id: int):
    """Enter an arm or disarm by hand (the site's supervisor, a manager)."""
    site = _site(site_id, policy.can_record_arming)
    form = EventForm(occurred_at=taipei_now_input())

    def done(event):
        message = _("Event recorded.") if event else _("This event was already recorded.")
        return uow.see_other(url_for("arming.site_events", site_id=site.id), message)

    return uow.form_page(
        form,
        lambda: svc.record_by_hand(
            site,
            user=current_user,
            kind=form.kind.data,
            occurred_at=from_taipei(form.occurred_at.data),
            user_code=form.user_code.data or "",
        ),
        then=done,
        page=lambda: render_template("arming/event_form.html", site=site, form=form),
    )


def _hours_form_data(hours) -> dict:
    data: dict = {"is_monitored": bool(hours)}
    for weekday in range(7):
        row = hours.get(weekday)
        data[f"d{weekday}_closed"] = bool(row and row.is_closed)
        data[f"d{weekday}_opens"] = row.opens_at if row else None
        data[f"d{weekday}_closes"] = row.closes_at if row else None
    return data


@bp.route("/sites/<int:site_id>/hours", methods=["GET", "POST"])
def opening_hours(site_id: int):
    """A site's opening hours: read by its supervisors and managers, kept by the admin."""
    site = _site(site_id, policy.can_view_opening_hours)
    may_edit = policy.can_edit_opening_hours(current_user)
    if request.method == "POST":
        authorize(may_edit)
    hours = svc.hours_of(site.id)
    form = HoursForm(data=_hours_form_data(hours))

    def save():
        days = None
        if form.is_monitored.data:
            days = [
                svc.DaySpec(
                    weekday=n,
                    is_closed=bool(form[f"d{n}_closed"].data),
                    opens=form[f"d{n}_opens"].data,
                    closes=form[f"d{n}_closes"].data,
                )
                for n in range(7)
            ]
        svc.set_opening_hours(site, user=current_user, days=days)

    return uow.form_page(
        form,
        save,
        then=lambda _none: uow.see_other(
            url_for("arming.opening_hours", site_id=site.id), _("Opening hours saved.")
        ),
        page=lambda: render_template(
            "arming/hours.html",
            site=site,
            form=form,
            hours=hours,
            may_edit=may_edit,
            grace=svc.grace_minutes(),
        ),
    )


# ---------------------------------------------------------------- the CSV import


def _upload_path(upload: str) -> Path:
    """Where an upload waits between preview and confirmation: the uploader's own folder."""
    root = Path(current_app.config["UPLOAD_DIR"]) / "arming-imports" / str(current_user.id)
    return root / f"{uuid_module.UUID(upload)}.csv"


@bp.get("/arming/import/template.csv")
def csv_template():
    """The CSV template with the Chinese headers (UTF-8 with a byte-order mark for Excel)."""
    authorize(policy.can_use_arming(current_user))
    response = Response("\ufeff" + svc.csv_template(), mimetype="text/csv")
    response.headers["Content-Disposition"] = 'attachment; filename="arming-template.csv"'
    return response


@bp.route("/arming/import", methods=["GET", "POST"])
def csv_import():
    """Upload a CSV of events and see every row checked, before anything is imported."""
    authorize(policy.can_use_arming(current_user))
    form = CsvUploadForm()

    def page(preview=None, upload=None, status=200):
        return render_template(
            "arming/import.html",
            form=form,
            preview=preview,
            upload=upload,
            confirm=CsvConfirmForm(formdata=None, upload=upload),
            column_labels=_column_labels(),
        ), status

    if not form.is_submitted():
        return page()

    def check():
        """Read and check the file (nothing is written to the database); a clean file is
        kept in the uploader's folder until he confirms."""
        data = form.file.data.read(svc.MAX_CSV_BYTES + 1) if form.file.data else b""
        if not data:
            raise svc.ArmingError("csv_missing", field="file")
        if len(data) > svc.MAX_CSV_BYTES:
            raise svc.ArmingError("csv_too_large", field="file")
        preview = svc.preview_csv(data, user=current_user, now=utcnow())
        upload = None
        if preview.is_valid:
            upload = str(uuid_module.uuid4())
            path = _upload_path(upload)
            files.write_private(path.parent.parent, f"{path.parent.name}/{path.name}", data)
        return preview, upload

    def refused(exc):
        form.file.errors = [*form.file.errors, exc.message]
        return page()

    return uow.run(
        check,
        form=form,
        then=lambda done: page(*done),
        refused=refused,
    )


def _column_labels() -> dict:
    return {key: aliases[0] for key, aliases in svc.CSV_ALIASES.items()}


@bp.post("/arming/import/confirm")
def csv_confirm():
    """Import the previewed file: every row, or none if anything changed meanwhile."""
    authorize(policy.can_use_arming(current_user))
    form = CsvConfirmForm()
    back = url_for("arming.csv_import")

    def call():
        if not form.upload.data:
            raise svc.ArmingError("csv_gone")
        path = _upload_path(form.upload.data)
        if not path.exists():
            raise svc.ArmingError("csv_gone")
        return svc.import_csv(path.read_bytes(), user=current_user, now=utcnow())

    def done(result):
        _upload_path(form.upload.data).unlink(missing_ok=True)
        created, duplicates = len(result.created), len(result.duplicates)
        message = ngettext("%(num)d event imported.", "%(num)d events imported.", created)
        if duplicates:
            message += " " + ngettext(
                "%(num)d already recorded, skipped.",
                "%(num)d already recorded, skipped.",
                duplicates,
            )
        return uow.see_other(back, message)

    return uow.run(call, form=form, then=done, refused=lambda exc: uow.refuse(exc, back))


# ---------------------------------------------------------------- integrations


@bp.get("/arming/integrations")
def integrations():
    """The monitoring centre's connections: their sites, last use, revoked or not."""
    authorize(policy.can_manage_arming_integrations(current_user))
    return render_template(
        "arming/integrations.html",
        rows=svc.integrations(),
        api_url=url_for("arming.api_events", _external=False),
    )


@bp.route("/arming/integrations/new", methods=["GET", "POST"])
def integration_new():
    """Connect a monitoring centre: a name, its sites; the token is shown once."""
    authorize(policy.can_manage_arming_integrations(current_user))
    form = IntegrationForm()
    sites = list(
        db.session.scalars(
            select(Site).where(policy.arming_sites_clause(current_user)).order_by(Site.code)
        )
    )
    return uow.form_page(
        form,
        lambda: svc.create_integration(
            user=current_user, name=form.name.data, site_ids=form.site_ids.data
        ),
        then=lambda made: render_template(
            "arming/integration_token.html", integration=made[0], token=made[1]
        ),
        page=lambda: render_template("arming/integration_form.html", form=form, sites=sites),
        field="site_ids",
    )


@bp.post("/arming/integrations/<int:integration_id>/revoke")
def integration_revoke(integration_id: int):
    """Revoke an integration: its token stops working at once."""
    authorize(policy.can_manage_arming_integrations(current_user))
    integration = db.get_or_404(ArmIntegration, integration_id)
    return uow.action(
        lambda: svc.revoke_integration(integration, user=current_user),
        back=url_for("arming.integrations"),
        success=_("Integration revoked: its token no longer works."),
    )


# ---------------------------------------------------------------- the API


def _api_answer(status: int, errors: list[dict]) -> Response:
    response = jsonify(ok=False, errors=errors)
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="guardpost"'
    return response


def _api_refused(integration, status: int, code: str, errors: list[dict] | None = None):
    """Keep the refusal in the audit log (what it began was rolled back), and answer."""
    uow.commit(lambda: svc.audit_api_refusal(integration, status=status, reason=code))
    return _api_answer(status, errors or [svc.api_error(code)])


def _rate_limited(limit) -> Response:
    return _api_answer(
        429,
        [
            {
                "code": "rate_limited",
                "message": "Too many requests; retry later.",
                "message_zh": "請求過於頻繁，請稍後再試。",
            }
        ],
    )


def _api_limit() -> str:
    return current_app.config.get("ARMING_API_LIMIT", "120 per minute")


@bp.post("/api/v1/arming/events")
@public
@csrf.exempt
@limiter.limit(_api_limit, scope="arming-api", on_breach=_rate_limited)
def api_events():
    """The monitoring centre posts arm/disarm events: one or a list, all or nothing."""
    header = request.headers.get("Authorization", "")
    scheme, _sep, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return _api_refused(None, 401, "token_missing", [_token_error("token_missing")])
    integration = svc.integration_by_token(token.strip())
    if integration is None:
        return _api_refused(None, 401, "token_invalid", [_token_error("token_invalid")])
    if integration.is_revoked:
        return _api_refused(integration, 401, "token_revoked", [_token_error("token_revoked")])
    body = request.get_json(silent=True)
    if body is None:
        return _api_refused(integration, 400, "not_json", [svc.api_error("not_json")])
    now = utcnow()
    try:
        result = uow.commit(lambda: svc.post_events(integration, body, now=now))
    except svc.ApiRefusal as refusal:
        return _api_refused(integration, refusal.status, refusal.errors[0]["code"], refusal.errors)
    return jsonify(
        ok=True,
        created=len(result.created),
        duplicates=len(result.duplicates),
        events=[{"uuid": e.uuid, "site": e.site.code, "kind": e.kind} for e in result.created],
    ), (201 if result.created else 200)


TOKEN_ERRORS = {
    "token_missing": (
        "Send the token: Authorization: Bearer <token>.",
        "請以 Authorization: Bearer <token> 送出權杖。",
    ),
    "token_invalid": ("This token is not known.", "無此權杖。"),
    "token_revoked": ("This token was revoked.", "此權杖已撤銷。"),
}


def _token_error(code: str) -> dict:
    english, chinese = TOKEN_ERRORS[code]
    return {"code": code, "message": english, "message_zh": chinese}

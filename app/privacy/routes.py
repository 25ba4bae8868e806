"""The collection notice (and the gate that shows it at first sign-in), the permission review,
the personal-data incident register and the evidence pack."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app import uow
from app.args import page_arg
from app.auth import policy
from app.auth.login import safe_next
from app.authz import authorize
from app.db import utcnow
from app.extensions import db
from app.forms import ActionForm, require_action_form
from app.htmx import is_htmx
from app.i18n import TAIPEI, from_taipei
from app.privacy import evidence
from app.privacy import services as svc
from app.privacy.forms import (
    EvidenceForm,
    IncidentEditForm,
    IncidentForm,
    NoticeForm,
    ReviewForm,
    StepForm,
)
from app.privacy.models import INCIDENT_STEPS, PrivacyIncident
from app.privacy.notice import contact, current_version, retention, review_interval_days
from app.sites.models import Site
from app.templating import NAV_ITEMS, NavItem

bp = Blueprint("privacy", __name__, url_prefix="/privacy")

STEP_LABELS = {
    "scope": _l("Scope: kinds of data and number of people"),
    "containment": _l("Containment"),
    "cause": _l("Cause"),
    "subjects_notified": _l("People concerned notified"),
    "authority_notified": _l("Authority notified"),
    "improvements": _l("Improvements"),
}
LEVEL_LABELS = {
    "all": _l("All, restricted ones with step-up"),
    "operational": _l("Operational only"),
}

# The managers' entry in the menu (before "More"); added once, however many apps are built.
if not any(item.endpoint == "privacy.overview" for item in NAV_ITEMS):
    NAV_ITEMS.insert(
        len(NAV_ITEMS) - 1,
        NavItem("privacy.overview", _l("Personal data"), "key", policy.can_review_permissions),
    )


@bp.app_context_processor
def privacy_labels():
    return {
        "incident_steps": INCIDENT_STEPS,
        "incident_step_labels": STEP_LABELS,
        "access_level_labels": LEVEL_LABELS,
    }


@bp.app_template_global()
def notice_acknowledged_at(user):
    """When the user acknowledged the current notice (None: not yet) — for the account page."""
    row = svc.notice_acknowledgement(user)
    return row.at if row is not None else None


# ---------------------------------------------------------------- the first-sign-in gate

#: Reachable before the notice is acknowledged: signing out, a forced password change, the
#: notice itself, and the app shell (PWA files, the unsent page and its token).
NOTICE_EXEMPT_ENDPOINTS = frozenset(
    {
        "static",
        "auth.login",
        "auth.logout",
        "auth.change_password",
        "privacy.notice",
        "privacy.acknowledge_notice",
    }
)
NOTICE_EXEMPT_BLUEPRINTS = frozenset({"pwa"})
#: Securing the account comes first: second-factor enrolment and step-up pages (whatever
#: their blueprint calls them) are never sent to the notice, so two gates cannot loop.
SECURITY_SETUP_WORDS = (
    "security",
    "totp",
    "passkey",
    "webauthn",
    "step_up",
    "recovery",
    "second_factor",
    "two_factor",
    "mfa",
)


def _exempt(endpoint: str) -> bool:
    if endpoint in NOTICE_EXEMPT_ENDPOINTS:
        return True
    blueprint = endpoint.split(".", 1)[0] if "." in endpoint else ""
    if blueprint in NOTICE_EXEMPT_BLUEPRINTS:
        return True
    return blueprint == "auth" and any(word in endpoint for word in SECURITY_SETUP_WORDS)


@bp.before_app_request
def require_notice() -> Response | None:
    """Staff who have not acknowledged the current notice see it before any other page.

    Only page views are sent there: a POST (a queued inspection answer, a check-in sent by the
    outbox) and a JSON request go through, so nothing a phone kept for later is refused.
    htmx requests are answered with HX-Redirect, a full navigation to the notice.
    """
    endpoint = request.endpoint
    if endpoint is None or _exempt(endpoint) or request.method not in ("GET", "HEAD"):
        return None
    if not current_user.is_authenticated or current_user.must_change_password:
        return None
    view = current_app.view_functions.get(endpoint)
    if getattr(view, "is_public", False) or uow.wants_json():
        return None
    if not policy.must_read_privacy_notice(current_user):
        return None
    if svc.has_acknowledged_notice(current_user):
        return None
    here = request.full_path.rstrip("?")
    if is_htmx() and request.headers.get("HX-Current-URL"):
        from urllib.parse import urlsplit

        parts = urlsplit(request.headers["HX-Current-URL"])
        here = parts.path + (f"?{parts.query}" if parts.query else "")
    target = url_for("privacy.notice", next=safe_next(here, None) if here != "/" else None)
    if is_htmx():
        response = Response(status=204)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target)


# ---------------------------------------------------------------- the notice


@bp.get("/notice")
def notice():
    """The collection notice (個資法 §8): what the app records about staff, why, how long."""
    authorize(policy.can_read_privacy_notice(current_user))
    return render_template(
        "privacy/notice.html",
        acknowledgement=svc.notice_acknowledgement(current_user),
        version=current_version(),
        retention=retention(),
        contact=contact(),
        next_url=safe_next(request.args.get("next"), url_for("main.home")),
        form=ActionForm(),
    )


@bp.post("/notice")
def acknowledge_notice():
    """I have read the notice: recorded (who, which version, when, from where) and audited."""
    authorize(policy.can_read_privacy_notice(current_user))
    form = NoticeForm()
    next_url = safe_next(form.next.data, url_for("main.home"))
    return uow.action(
        lambda: svc.acknowledge_notice(user=current_user),
        form=form,
        back=next_url,
        success=_("Thank you. You can read the notice again at any time under More."),
    )


# ---------------------------------------------------------------- permission review


@bp.get("")
def overview():
    """Sites by the date of their last permission review, overdue first; the register's links."""
    authorize(policy.can_review_permissions(current_user))
    now = utcnow()
    page = svc.review_overview(page=page_arg(), per_page=current_app.config["PAGE_SIZE"])
    return render_template(
        "privacy/overview.html",
        page=page,
        now=now,
        is_overdue=lambda at: svc.is_review_overdue(at, now=now),
        overdue=svc.overdue_review_count(now=now),
        interval=review_interval_days(),
    )


def _site(site_id: int) -> Site:
    authorize(policy.can_review_permissions(current_user))
    return db.get_or_404(Site, site_id)


@bp.get("/sites/<int:site_id>")
def site_access(site_id: int):
    """Who may access this site's confidential information, for the periodic review."""
    site = _site(site_id)
    review = svc.last_review(site)
    return render_template(
        "privacy/site_access.html",
        site=site,
        readers=svc.site_readers(site),
        review=review,
        is_overdue=svc.is_review_overdue(review.reviewed_at if review else None, now=utcnow()),
        interval=review_interval_days(),
        form=ReviewForm(),
    )


@bp.post("/sites/<int:site_id>/reviewed")
def mark_reviewed(site_id: int):
    """I have reviewed who may access this site's confidential information (audited)."""
    site = _site(site_id)
    form = ReviewForm()
    return uow.action(
        lambda: svc.mark_reviewed(site, user=current_user, note=form.note.data or ""),
        form=form,
        back=url_for("privacy.site_access", site_id=site.id),
        success=_("Marked as reviewed."),
    )


# ---------------------------------------------------------------- the incident register


@bp.get("/incidents")
def incidents():
    """The personal-data incident register, open incidents first."""
    authorize(policy.can_manage_privacy_incidents(current_user))
    page = svc.list_incidents(page=page_arg(), per_page=current_app.config["PAGE_SIZE"])
    return render_template("privacy/incidents.html", page=page)


@bp.route("/incidents/new", methods=["GET", "POST"])
def incident_new():
    """Open an incident in the register."""
    authorize(policy.can_manage_privacy_incidents(current_user))
    form = IncidentForm()
    if not form.is_submitted():
        form.prefill()
    return uow.form_page(
        form,
        lambda: svc.create_incident(user=current_user, **form.values()),
        then=lambda incident: uow.see_other(
            url_for("privacy.incident", incident_id=incident.id),
            _("The incident is in the register. Record each step as it is done."),
        ),
        page=lambda: render_template("privacy/incident_form.html", form=form, incident=None),
    )


def _incident(incident_id: int) -> PrivacyIncident:
    authorize(policy.can_manage_privacy_incidents(current_user))
    return db.get_or_404(PrivacyIncident, incident_id)


def _incident_page(incident: PrivacyIncident, forms: dict | None = None, status: int = 200):
    forms = forms or {}
    for step in INCIDENT_STEPS:
        if step not in forms:
            form = StepForm(formdata=None, prefix=step)
            form.fill_from(incident)
            forms[step] = form
    page = render_template(
        "privacy/incident.html", incident=incident, forms=forms, close_form=ActionForm()
    )
    return page, status


@bp.get("/incidents/<int:incident_id>")
def incident(incident_id: int):
    """One incident: what happened and the checklist of its steps."""
    return _incident_page(_incident(incident_id))


@bp.route("/incidents/<int:incident_id>/edit", methods=["GET", "POST"])
def incident_edit(incident_id: int):
    """Correct when it was discovered and what happened."""
    record = _incident(incident_id)
    form = IncidentEditForm(obj=None if request.method == "POST" else record)
    if request.method == "GET":
        form.discovered_at.data = record.discovered_at.astimezone(TAIPEI).replace(tzinfo=None)
    return uow.form_page(
        form,
        lambda: svc.update_incident(
            record,
            user=current_user,
            discovered_at=from_taipei(form.discovered_at.data),
            summary=form.summary.data or "",
        ),
        then=lambda _none: uow.see_other(
            url_for("privacy.incident", incident_id=record.id), _("Saved.")
        ),
        page=lambda: render_template("privacy/incident_form.html", form=form, incident=record),
    )


def _show_refusal(form: StepForm, exc) -> None:
    """A refusal's message on the field it concerns (the reason for 'not applicable')."""
    if isinstance(exc, uow.InvalidForm):
        return
    name = exc.field or ("reason" if form.not_applicable.data else None)
    target = form._fields.get(name) if name else None
    if target is not None:
        target.errors = [*target.errors, exc.message]
    else:
        form.form_errors = [*form.form_errors, exc.message]


@bp.post("/incidents/<int:incident_id>/steps/<step>")
def incident_step(incident_id: int, step: str):
    """Record one step of the incident, or mark it not applicable with the reason."""
    record = _incident(incident_id)
    if step not in INCIDENT_STEPS:
        abort(404)
    form = StepForm(prefix=step)

    def save():
        if form.not_applicable.data:
            return svc.record_step(
                record, step, user=current_user, not_applicable_reason=form.reason.data or ""
            )
        return svc.record_step(record, step, user=current_user, values=form.values())

    def refused(exc):
        if uow.wants_json():
            return uow.refusal_json(exc)
        db.session.refresh(record)
        _show_refusal(form, exc)
        return _incident_page(record, {step: form}, 422 if is_htmx() else 200)

    return uow.run(
        save,
        form=form,
        then=lambda _none: uow.see_other(
            url_for("privacy.incident", incident_id=record.id) + f"#step-{step}",
            _("Step recorded."),
        ),
        refused=refused,
    )


@bp.post("/incidents/<int:incident_id>/close")
def incident_close(incident_id: int):
    """Close the incident once every step is recorded or marked not applicable."""
    record = _incident(incident_id)
    require_action_form()
    return uow.action(
        lambda: svc.close_incident(record, user=current_user),
        back=url_for("privacy.incident", incident_id=record.id),
        success=_("The incident is closed."),
    )


# ---------------------------------------------------------------- the evidence pack


@bp.route("/evidence", methods=["GET", "POST"])
def evidence_pack():
    """Download the evidence pack (ZIP) for a period: a POST, since it is logged and audited."""
    authorize(policy.can_download_evidence_pack(current_user))
    form = EvidenceForm()
    if not form.is_submitted():
        form.prefill()

    def download(pack: evidence.Pack):
        response = Response(pack.data, mimetype="application/zip")
        response.headers["Content-Disposition"] = f'attachment; filename="{pack.filename}"'
        return response

    return uow.form_page(
        form,
        lambda: evidence.build_pack(user=current_user, first=form.first.data, last=form.last.data),
        then=download,
        page=lambda: render_template(
            "privacy/evidence.html", form=form, items=evidence.ARTICLE_12_ITEMS
        ),
    )

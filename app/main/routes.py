"""Home page per role and the site card (the health check is app/ops)."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_babel import format_date
from flask_login import current_user
from sqlalchemy import func, select

from app.arming import services as arming_services
from app.auth import policy
from app.auth.models import User, UserSession
from app.authz import authorize_hidden
from app.briefings import services as briefing_services
from app.db import utcnow
from app.extensions import db
from app.forms import ActionForm
from app.i18n import taipei_today
from app.incidents import services as incident_services
from app.inspections import services as inspection_services
from app.maintenance import services as maintenance_services
from app.portal import services as portal_services
from app.sites import services as site_services
from app.sites.models import Site

bp = Blueprint("main", __name__)

HOME_SITE_LIMIT = 10


@bp.get("/")
def home():
    """What the signed-in user has to do today, by role."""
    context: dict = {"today": format_date(utcnow(), "full")}
    if policy.can_manage_users(current_user):
        context["counts"] = site_services.registry_counts() | {
            "users": db.session.scalar(select(func.count(User.id)).where(User.is_active.is_(True))),
            "sessions": db.session.scalar(
                select(func.count(UserSession.id)).where(UserSession.revoked_at.is_(None))
            ),
        }
    else:
        context["sites"] = site_services.visible_sites(current_user, limit=HOME_SITE_LIMIT)
        context["site_total"] = site_services.count_visible_sites(current_user)
        if policy.can_use_portal(current_user):
            context["site_counts"] = portal_services.counts_by_site(
                [s.id for s in context["sites"]]
            )
        if policy.can_view_registry(current_user):
            context["counts"] = site_services.registry_counts()
        today = taipei_today()
        if policy.can_list_inspections(current_user):
            context["due"] = inspection_services.inspections_due(current_user, today=today)
        if policy.can_list_site_work(current_user):
            context["work"] = _open_work(today)
    if policy.can_list_incidents(current_user) and not policy.can_list_site_work(current_user):
        context["my_alarms"] = incident_services.running_alarms(current_user, sent_to_me=True)
    return render_template("main/home.html", **context)


def _open_work(today) -> dict:
    """The supervisor's open work on his sites (a manager's on all): each a tap away."""
    # Reads only: late alarms and overdue repairs are notified by the jobs runner.
    by_severity = incident_services.count_active_by_severity(current_user)
    return {
        "running_alarms": incident_services.count_running_alarms(current_user),
        "active_incidents": sum(by_severity.values()),
        "incidents_by_severity": by_severity,
        "overdue_repairs": maintenance_services.count_overdue_tickets(current_user, today=today),
        "maintenance_due": maintenance_services.count_maintenance_due(current_user, today=today),
        "now": utcnow(),
    }


# ---------------------------------------------------------------- the site card (a hub page)


@bp.get("/sites/<int:site_id>")
def site_card(site_id: int):
    """The site card: where it is, what is due, and what the user can do here."""
    assigned = site_services.assigned_site_ids(current_user)
    site = db.get_or_404(Site, site_id)
    authorize_hidden(
        policy.can_open_site(current_user, site, assigned_site_ids=assigned),
        target=f"site:{site.id}",
    )
    just_checked_in = None
    if request.args.get("check_in"):
        just_checked_in = site_services.own_check_in(current_user, request.args["check_in"])
    today = taipei_today()
    registry = policy.can_view_registry(current_user)
    may_inspect = policy.can_inspect(current_user, site, assigned_site_ids=assigned)
    return render_template(
        "main/site.html",
        site=site,
        just_checked_in=just_checked_in,
        location_retry=site_services.takes_location(just_checked_in),
        last_check_in=site_services.last_check_in(site, current_user),
        due=site_services.equipment_due(site, on=today),
        today=today,
        people=[a.user for a in site.assignments] if registry else [],
        assignable=site_services.assignable_users()
        if policy.can_edit_registry(current_user)
        else [],
        assigned_ids=site_services.site_user_ids(site),
        show_qr=policy.can_print_labels(current_user),
        qr_url=site_services.qr_url(site) if policy.can_print_labels(current_user) else None,
        may_check_in=policy.can_check_in(current_user, site, assigned_site_ids=assigned),
        action=ActionForm(),
        may_report_incident=policy.can_report_incident(
            current_user, site, assigned_site_ids=assigned
        ),
        may_manage_work=policy.can_manage_site_work(
            current_user, site.id, assigned_site_ids=assigned
        ),
        may_inspect=may_inspect,
        training_current=briefing_services.site_training_current(site, today=today)
        if policy.can_manage_training(current_user)
        else None,
        draft=inspection_services.open_draft(site, current_user) if may_inspect else None,
        last_inspection=inspection_services.last_inspection(site)
        if policy.can_list_inspections(current_user)
        else None,
        arming=arming_services.site_arming(site, today=today)
        if policy.can_view_arming(current_user, site, assigned_site_ids=assigned)
        else None,
    )

"""Repair tickets and maintenance: lists, one-tap tickets from failed items, status changes."""

from __future__ import annotations

import uuid as uuid_lib
from datetime import date

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from app.args import int_arg, page_arg
from app.auth import policy
from app.authz import authorize, authorize_hidden
from app.extensions import db
from app.forms import require_action_form
from app.i18n import taipei_today
from app.incidents.models import Incident
from app.inspections.models import Answer, Inspection
from app.maintenance import services as svc
from app.maintenance.models import TICKET_STATUSES, TICKET_TRANSITIONS, RepairTicket
from app.photos.forms import PHOTO_MESSAGES
from app.photos.services import PhotoError
from app.sites import services as site_services
from app.sites.models import Equipment

bp = Blueprint("maintenance", __name__)

TICKET_STATUS_LABELS = {
    "reported": _l("Reported"),
    "dispatched": _l("Repairer sent"),
    "fixed": _l("Fixed"),
    "verified": _l("Verified"),
    "cancelled": _l("Cancelled"),
}
REPAIR_MESSAGES = {
    "problem_required": _l("Describe the problem."),
    "not_failed": _l("Only a failed item opens a repair ticket."),
    "bad_transition": _l("That status change is not allowed from the current status."),
    "reason_required": _l("Give the reason for cancelling."),
    "supervisor_verifies": _l("A supervisor verifies the repair."),
    "work_required": _l("Describe the work done."),
    "in_future": _l("That date is in the future."),
}


@bp.app_context_processor
def repair_labels():
    return {"ticket_status_labels": TICKET_STATUS_LABELS}


def _assigned() -> set[int]:
    return site_services.assigned_site_ids(current_user)


def _may_manage(site_id: int) -> bool:
    return policy.can_manage_site_work(current_user, site_id, assigned_site_ids=_assigned())


def _uuid(value: str | None) -> str:
    try:
        return str(uuid_lib.UUID(value or ""))
    except ValueError:
        return str(uuid_lib.uuid4())


def _parse_date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value or "")
    except ValueError:
        return None


@bp.get("/repairs")
def repairs():
    """Repair tickets: open ones by due date, overdue highlighted."""
    authorize(policy.can_list_site_work(current_user))
    state = request.args.get("state", "open")
    page = svc.list_tickets(
        current_user,
        site_id=int_arg("site"),
        state=state if state in ("open", "overdue", "closed", "all") else "open",
        today=taipei_today(),
        page=page_arg(),
        per_page=current_app.config["PAGE_SIZE"],
    )
    return render_template(
        "maintenance/repairs.html",
        page=page,
        today=taipei_today(),
        sites=site_services.visible_sites(current_user),
    )


@bp.route("/repairs/new", methods=["GET", "POST"])
def repair_new():
    """Report a fault for repair by hand (or from an incident)."""
    authorize(policy.can_list_site_work(current_user))
    sites = [s for s in site_services.visible_sites(current_user) if _may_manage(s.id)]
    site = next((s for s in sites if s.id == request.values.get("site", type=int)), None)
    error = None
    if request.method == "POST":
        require_action_form()
        incident_id = request.form.get("incident_id", type=int)
        incident = db.session.get(Incident, incident_id) if incident_id else None
        if site is None:
            error = _("Choose the site.")
        elif incident_id and (incident is None or incident.site_id != site.id):
            abort(404)
        else:
            try:
                ticket = svc.open_ticket(
                    site,
                    user=current_user,
                    uuid=_uuid(request.form.get("uuid")),
                    problem=request.form.get("problem", ""),
                    equipment_id=request.form.get("equipment_id", type=int),
                    vendor=request.form.get("vendor", ""),
                    due_on=_parse_date(request.form.get("due_on")),
                    source="incident" if incident else "manual",
                    incident_id=incident.id if incident else None,
                    today=taipei_today(),
                )
            except svc.RepairError as exc:
                db.session.rollback()
                error = REPAIR_MESSAGES[exc.key]
            else:
                db.session.commit()
                flash(_("Repair ticket opened."), "success")
                return redirect(url_for("maintenance.repair", ticket_id=ticket.id), code=303)
    equipment = (
        list(
            db.session.scalars(
                select(Equipment).where(Equipment.site_id == site.id, Equipment.status != "retired")
            )
        )
        if site
        else []
    )
    return render_template(
        "maintenance/repair_form.html",
        sites=sites,
        site=site,
        equipment=equipment,
        error=error,
        new_uuid=str(uuid_lib.uuid4()),
        incident_id=request.values.get("incident", type=int),
    )


@bp.post("/inspections/<uuid>/items/<int:item_id>/repair")
def repair_from_item(uuid: str, item_id: int):
    """One tap on a failed checklist item: a ticket with its equipment, note and photos."""
    inspection = db.session.scalar(select(Inspection).where(Inspection.uuid == uuid))
    if inspection is None:
        abort(404)
    authorize_hidden(_may_manage(inspection.site_id), target=f"inspection:{inspection.id}")
    require_action_form()
    answer = db.session.scalar(
        select(Answer).where(Answer.inspection_id == inspection.id, Answer.item_id == item_id)
    )
    if answer is None:
        abort(404)
    try:
        ticket = svc.open_from_answer(
            answer, user=current_user, uuid=_uuid(request.form.get("uuid")), today=taipei_today()
        )
    except svc.RepairError as exc:
        db.session.rollback()
        flash(REPAIR_MESSAGES[exc.key], "error")
        return redirect(url_for("inspections.inspection", uuid=uuid) + f"#item-{item_id}", code=303)
    db.session.commit()
    flash(_("Repair ticket opened."), "success")
    return redirect(url_for("maintenance.repair", ticket_id=ticket.id), code=303)


def _load_ticket(ticket_id: int) -> RepairTicket:
    ticket = db.get_or_404(RepairTicket, ticket_id)
    authorize_hidden(_may_manage(ticket.site_id), target=f"repair:{ticket.id}")
    return ticket


@bp.get("/repairs/<int:ticket_id>")
def repair(ticket_id: int):
    """A repair ticket: problem, equipment, photos, due date, timeline, next steps."""
    ticket = _load_ticket(ticket_id)
    nexts = [s for s in TICKET_STATUSES if s in TICKET_TRANSITIONS[ticket.status]]
    return render_template(
        "maintenance/repair.html",
        ticket=ticket,
        today=taipei_today(),
        next_statuses=nexts if _may_manage(ticket.site_id) else [],
    )


@bp.post("/repairs/<int:ticket_id>/status")
def repair_status(ticket_id: int):
    """Move a ticket on: repairer sent, fixed, verified, or cancelled with a reason."""
    ticket = _load_ticket(ticket_id)
    authorize(_may_manage(ticket.site_id))
    require_action_form()
    try:
        svc.change_status(
            ticket,
            user=current_user,
            to=request.form.get("status", ""),
            note=request.form.get("note", ""),
        )
    except svc.RepairError as exc:
        db.session.rollback()
        flash(REPAIR_MESSAGES[exc.key], "error")
    else:
        db.session.commit()
        flash(_("Repair ticket updated."), "success")
    return redirect(url_for("maintenance.repair", ticket_id=ticket.id), code=303)


@bp.get("/maintenance")
def maintenance():
    """Maintenance due within two weeks and overdue, for the user's sites (or one site)."""
    authorize(policy.can_list_site_work(current_user))
    return render_template(
        "maintenance/maintenance.html",
        due=svc.maintenance_due(current_user, today=taipei_today(), site_id=int_arg("site")),
        today=taipei_today(),
        sites=site_services.visible_sites(current_user),
    )


@bp.route("/equipment/<int:equipment_id>/maintenance", methods=["GET", "POST"])
def maintenance_done(equipment_id: int):
    """Record maintenance done on a piece of equipment: its next due date moves."""
    equipment = db.get_or_404(Equipment, equipment_id)
    authorize_hidden(_may_manage(equipment.site_id), target=f"equipment:{equipment.id}")
    error = None
    if request.method == "POST":
        require_action_form()
        upload = request.files.get("photo")
        try:
            svc.record_maintenance(
                equipment,
                user=current_user,
                done_on=_parse_date(request.form.get("done_on")) or taipei_today(),
                work=request.form.get("work", ""),
                photo_data=upload.read() if upload and upload.filename else None,
            )
        except svc.RepairError as exc:
            db.session.rollback()
            error = REPAIR_MESSAGES[exc.key]
        except PhotoError as exc:
            db.session.rollback()
            error = PHOTO_MESSAGES[exc.key]
        else:
            db.session.commit()
            flash(_("Maintenance recorded."), "success")
            return redirect(
                url_for("main.site_card", site_id=equipment.site_id) + "#equipment", code=303
            )
    return render_template(
        "maintenance/maintenance_form.html",
        equipment=equipment,
        history=svc.maintenance_history(equipment),
        error=error,
        today=taipei_today(),
    )

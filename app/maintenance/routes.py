"""Repair tickets and maintenance: lists, one-tap tickets from failed items, status changes."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from app import uow
from app.args import int_arg, page_arg
from app.auth import policy
from app.authz import authorize, authorize_hidden
from app.db import new_uuid
from app.extensions import db
from app.forms import first_error, require_action_form
from app.i18n import taipei_today
from app.incidents.models import Incident
from app.inspections.models import Answer, Inspection
from app.maintenance import services as svc
from app.maintenance.forms import FromItemForm, MaintenanceForm, RepairForm, StatusForm
from app.maintenance.models import TICKET_STATUSES, TICKET_TRANSITIONS, RepairTicket
from app.sites import services as site_services
from app.sites.models import Equipment, Site

bp = Blueprint("maintenance", __name__)

TICKET_STATUS_LABELS = {
    "reported": _l("Reported"),
    "dispatched": _l("Repairer sent"),
    "fixed": _l("Fixed"),
    "verified": _l("Verified"),
    "cancelled": _l("Cancelled"),
}


@bp.app_context_processor
def repair_labels():
    return {"ticket_status_labels": TICKET_STATUS_LABELS}


def _assigned() -> set[int]:
    return site_services.assigned_site_ids(current_user)


def _may_manage(site_id: int) -> bool:
    return policy.can_manage_site_work(current_user, site_id, assigned_site_ids=_assigned())


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


def _incident_at(site: Site | None, incident_id: int | None) -> Incident | None:
    """The incident a ticket is opened from: one of the chosen site's, else 404."""
    if site is None or not incident_id:
        return None
    incident = db.session.get(Incident, incident_id)
    if incident is None or incident.site_id != site.id:
        abort(404)
    return incident


def _open_ticket(site: Site | None, form: RepairForm, incident: Incident | None) -> RepairTicket:
    if site is None:
        raise svc.RepairError("site_required")
    return svc.open_ticket(
        site,
        user=current_user,
        uuid=form.uuid.or_new(),
        problem=form.problem.data or "",
        equipment_id=form.equipment_id.data,
        vendor=form.vendor.data or "",
        due_on=form.due_on.data,
        source="incident" if incident else "manual",
        incident_id=incident.id if incident else None,
        today=taipei_today(),
    )


def _repair_form_page(sites: list[Site], site: Site | None, form: RepairForm) -> str:
    equipment = (
        db.session.scalars(
            select(Equipment).where(Equipment.site_id == site.id, Equipment.status != "retired")
        ).all()
        if site
        else []
    )
    return render_template(
        "maintenance/repair_form.html",
        sites=sites,
        site=site,
        equipment=equipment,
        error=first_error(form),
        new_uuid=new_uuid(),
        incident_id=form.incident_id.data or int_arg("incident"),
    )


def _ticket_opened(ticket: RepairTicket):
    return uow.see_other(
        url_for("maintenance.repair", ticket_id=ticket.id),
        _("Repair ticket opened."),
        uuid=ticket.uuid,
    )


@bp.route("/repairs/new", methods=["GET", "POST"])
def repair_new():
    """Report a fault for repair by hand (or from an incident)."""
    authorize(policy.can_list_site_work(current_user))
    sites = [s for s in site_services.visible_sites(current_user) if _may_manage(s.id)]
    form = RepairForm()
    if form.is_submitted():
        require_action_form()
    site_id = form.site.data if form.is_submitted() else int_arg("site")
    site = next((s for s in sites if s.id == site_id), None)
    incident = _incident_at(site, form.incident_id.data)
    return uow.form_page(
        form,
        lambda: _open_ticket(site, form, incident),
        then=_ticket_opened,
        page=lambda: _repair_form_page(sites, site, form),
    )


def _failed_answer(uuid: str, item_id: int) -> Answer:
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
    return answer


@bp.post("/inspections/<uuid>/items/<int:item_id>/repair")
def repair_from_item(uuid: str, item_id: int):
    """One tap on a failed checklist item: a ticket with its equipment, note and photos."""
    answer = _failed_answer(uuid, item_id)
    form = FromItemForm()
    return uow.action(
        lambda: svc.open_from_answer(
            answer, user=current_user, uuid=form.uuid.or_new(), today=taipei_today()
        ),
        form=form,
        back=url_for("inspections.inspection", uuid=uuid) + f"#item-{item_id}",
        then=_ticket_opened,
    )


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
    form = StatusForm()
    return uow.action(
        lambda: svc.change_status(
            ticket, user=current_user, to=form.status.data, note=form.note.data or ""
        ),
        form=form,
        back=url_for("maintenance.repair", ticket_id=ticket.id),
        success=_("Repair ticket updated."),
        uuid=ticket.uuid,
    )


@bp.get("/maintenance")
def maintenance():
    """Maintenance due within two weeks and overdue, for the user's sites (or one site)."""
    authorize(policy.can_list_site_work(current_user))
    return render_template(
        "maintenance/maintenance.html",
        due=svc.maintenance_due(
            current_user,
            today=taipei_today(),
            site_id=int_arg("site"),
            page=page_arg(),
            per_page=current_app.config["PAGE_SIZE"],
        ),
        today=taipei_today(),
        sites=site_services.visible_sites(current_user),
    )


def _maintenance_page(equipment: Equipment, form: MaintenanceForm) -> str:
    return render_template(
        "maintenance/maintenance_form.html",
        equipment=equipment,
        history=svc.maintenance_history(equipment),
        error=first_error(form),
        today=taipei_today(),
    )


@bp.route("/equipment/<int:equipment_id>/maintenance", methods=["GET", "POST"])
def maintenance_done(equipment_id: int):
    """Record maintenance done on a piece of equipment (no date: today); its next due date moves."""
    equipment = db.get_or_404(Equipment, equipment_id)
    authorize_hidden(_may_manage(equipment.site_id), target=f"equipment:{equipment.id}")
    form = MaintenanceForm()
    if form.is_submitted():
        require_action_form()
    return uow.form_page(
        form,
        lambda: svc.record_maintenance(equipment, user=current_user, **form.values()),
        then=lambda _log: uow.see_other(
            url_for("main.site_card", site_id=equipment.site_id) + "#equipment",
            _("Maintenance recorded."),
        ),
        page=lambda: _maintenance_page(equipment, form),
    )

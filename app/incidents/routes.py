"""Incidents (report, timeline, notifications) and alarm responses (received → closed)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from flask import Blueprint, abort, current_app, make_response, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import select

from app import uow
from app.args import day_arg, int_arg, page_arg, taipei_day_start
from app.auth import policy
from app.authz import authorize, authorize_hidden
from app.db import utcnow
from app.extensions import db
from app.forms import require_action_form
from app.htmx import render
from app.i18n import from_taipei, taipei_now_input, taipei_today
from app.incidents import services as svc
from app.incidents.forms import (
    CALLBACK_LABELS,
    CATEGORY_LABELS,
    CAUSE_LABELS,
    MAX_REPORT_PHOTOS,
    SEVERITY_LABELS,
    SIGNAL_LABELS,
    STATUS_LABELS,
    AlarmForm,
    ArriveForm,
    CallbackForm,
    CloseForm,
    DispatchForm,
    FindingsForm,
    FireForm,
    IncidentForm,
    NotifiedForm,
    PoliceCaseNumberForm,
    PoliceForm,
    RearmForm,
    ShareForm,
    UpdateForm,
)
from app.incidents.models import (
    ALARM_CAUSES,
    FALSE_ALARM_CAUSES,
    REARM_SIGNALS,
    STATUSES,
    TRANSITIONS,
    AlarmResponse,
    Incident,
)
from app.photos.forms import PhotoForm
from app.sites import services as site_services
from app.sites.models import Site
from app.vault import services as vault_services

bp = Blueprint("incidents", __name__)


@bp.app_context_processor
def incident_labels():
    return {
        "category_labels": CATEGORY_LABELS,
        "severity_labels": SEVERITY_LABELS,
        "incident_status_labels": STATUS_LABELS,
        "cause_labels": CAUSE_LABELS,
        "signal_labels": SIGNAL_LABELS,
        "callback_labels": CALLBACK_LABELS,
    }


def _assigned() -> set[int]:
    return site_services.assigned_site_ids(current_user)


def _reportable_sites() -> list[Site]:
    assigned = _assigned()
    return [
        s
        for s in site_services.visible_sites(current_user)
        if policy.can_report_incident(current_user, s, assigned_site_ids=assigned)
    ]


def _chosen(sites: list[Site], site_id: int) -> Site:
    """The site picked in the form (its choices are `sites`, so it is one of them)."""
    return next(s for s in sites if s.id == site_id)


def _load_incident(incident_id: int) -> Incident:
    incident = db.get_or_404(Incident, incident_id)
    authorize_hidden(
        policy.can_view_incident(current_user, incident, assigned_site_ids=_assigned()),
        target=f"incident:{incident.id}",
    )
    return incident


# ---------------------------------------------------------------- incidents


@bp.get("/incidents")
def incidents():
    """Incidents of the user's sites: by site, status, category, severity and period."""
    authorize(policy.can_list_incidents(current_user))
    since, until = (
        taipei_day_start(request.args.get("from")),
        taipei_day_start(request.args.get("to")),
    )
    page = svc.list_incidents(
        current_user,
        site_id=int_arg("site"),
        status=request.args.get("status", ""),
        category=request.args.get("category", ""),
        severity=request.args.get("severity", ""),
        since=since,
        until=until + timedelta(days=1) if until else None,
        page=page_arg(),
        per_page=current_app.config["PAGE_SIZE"],
    )
    return render(
        "incidents/incidents.html",
        "incidents/_incident_list.html",
        page=page,
        sites=site_services.visible_sites(current_user),
        statuses=STATUSES,
        may_report=bool(_reportable_sites()),
    )


def _reported(incident: Incident):
    return uow.see_other(
        url_for("incidents.incident", incident_id=incident.id),
        ngettext(
            "Incident reported with %(num)d photo.",
            "Incident reported with %(num)d photos.",
            len(incident.photos),
        )
        if incident.photos
        else _("Incident reported. Add photos below if you have them."),
        uuid=incident.uuid,
    )


@bp.route("/incidents/new", methods=["GET", "POST"])
def incident_new():
    """Report an incident (from the home page or a site card)."""
    sites = _reportable_sites()
    authorize(bool(sites))
    form = IncidentForm()
    form.offer(sites)
    if request.method == "GET":
        wanted = int_arg("site") or svc.shift_site_id(current_user, now=utcnow())
        form.prefill(site_id=wanted if wanted in {s.id for s in sites} else None)
    answer = uow.form_page(
        form,
        lambda: svc.report_incident(
            _chosen(sites, form.site_id.data), user=current_user, **form.values()
        ),
        field=form.occurred_at,  # a refused photo names its own field
        then=_reported,
        page=lambda: render_template(
            "incidents/incident_form.html", form=form, max_photos=MAX_REPORT_PHOTOS
        ),
    )
    if request.method != "GET":
        return answer
    response = make_response(answer)
    response.headers["X-Offline"] = "keep"  # an empty form, kept for reporting offline
    return response


@bp.get("/incidents/<int:incident_id>")
def incident(incident_id: int):
    """An incident: what happened, its photos, who was told, its timeline."""
    incident = _load_incident(incident_id)
    may_manage = policy.can_manage_site_work(
        current_user, incident.site_id, assigned_site_ids=_assigned()
    )
    return render_template(
        "incidents/incident.html",
        incident=incident,
        may_manage=may_manage,
        may_add_photo=policy.can_add_incident_photo(
            current_user, incident, assigned_site_ids=_assigned()
        ),
        next_statuses=sorted(TRANSITIONS[incident.status], key=STATUSES.index),
        may_share=policy.can_share_incident(current_user, incident),
        share_form=ShareForm(client_summary=incident.client_summary),
        now_input=taipei_now_input().strftime("%Y-%m-%dT%H:%M"),
    )


def _managed_incident(incident_id: int) -> Incident:
    incident = _load_incident(incident_id)
    authorize(
        policy.can_manage_site_work(current_user, incident.site_id, assigned_site_ids=_assigned())
    )
    require_action_form()
    return incident


def _back(incident: Incident, anchor: str = "") -> str:
    return url_for("incidents.incident", incident_id=incident.id) + anchor


@bp.post("/incidents/<int:incident_id>/updates")
def incident_update(incident_id: int):
    """Add a note and/or change the status (only allowed changes)."""
    incident = _managed_incident(incident_id)
    form = UpdateForm()
    return uow.action(
        lambda: svc.update_incident(
            incident,
            user=current_user,
            note=form.note.data or "",
            to_status=form.status.data or None,
        ),
        form=form,
        back=_back(incident, "#timeline"),
        success=_("Timeline updated."),
    )


@bp.post("/incidents/<int:incident_id>/notified")
def incident_notified(incident_id: int):
    """Record that the client or the police were told (at the time given, else now)."""
    incident = _managed_incident(incident_id)
    form = NotifiedForm()
    return uow.action(
        lambda: svc.record_notified(
            incident,
            user=current_user,
            who=form.who.data,
            at=from_taipei(form.at.data) if form.at.data else utcnow(),
            unit=form.unit.data or "",
            case_number=form.case_number.data or "",
        ),
        form=form,
        back=_back(incident),
        success=_("Recorded."),
    )


@bp.post("/incidents/<int:incident_id>/police-case-number")
def incident_police_case_number(incident_id: int):
    """Add (or correct) the police's case number after the notification was recorded."""
    incident = _managed_incident(incident_id)
    form = PoliceCaseNumberForm()
    return uow.action(
        lambda: svc.add_police_case_number(
            incident, user=current_user, case_number=form.case_number.data or ""
        ),
        form=form,
        back=_back(incident),
        success=_("Case number recorded."),
    )


def _shareable_incident(incident_id: int) -> Incident:
    incident = _load_incident(incident_id)
    authorize(policy.can_share_incident(current_user, incident))
    require_action_form()
    return incident


@bp.post("/incidents/<int:incident_id>/share")
def incident_share(incident_id: int):
    """Share the incident with the client (or change what he reads): a summary for him."""
    incident = _shareable_incident(incident_id)
    form = ShareForm()
    return uow.action(
        lambda: svc.share_with_client(
            incident, user=current_user, summary=form.client_summary.data
        ),
        form=form,
        back=_back(incident, "#client"),
        success=lambda first: (
            _("Shared with the client.") if first else _("The client's summary was updated.")
        ),
    )


@bp.post("/incidents/<int:incident_id>/unshare")
def incident_unshare(incident_id: int):
    """Stop showing the incident to the client."""
    incident = _shareable_incident(incident_id)
    return uow.action(
        lambda: svc.unshare_with_client(incident, user=current_user),
        back=_back(incident, "#client"),
        success=_("No longer shared with the client."),
    )


@bp.post("/incidents/<int:incident_id>/photos")
def incident_photo(incident_id: int):
    """Add a photo (downscaled on the phone, checked and re-encoded here)."""
    incident = _load_incident(incident_id)
    authorize(policy.can_add_incident_photo(current_user, incident, assigned_site_ids=_assigned()))
    require_action_form()
    form = PhotoForm()
    key = form.photo_uuid.or_new()
    return uow.action(
        lambda: svc.attach_incident_photo(
            incident, user=current_user, data=form.photo_bytes(), uuid=key
        ),
        form=form,
        back=_back(incident, "#photos"),
        success=_("Photo added."),
        uuid=key,
    )


# ---------------------------------------------------------------- alarm responses


def _guards_for(site_ids: list[int]):
    from app.auth.models import User
    from app.sites.models import SiteAssignment

    assigned = select(SiteAssignment.user_id).where(SiteAssignment.site_id.in_(site_ids))
    return list(
        db.session.scalars(
            select(User)
            .where(policy.guards_clause(User), User.is_active.is_(True), User.id.in_(assigned))
            .order_by(User.display_name)
        )
    )


@bp.get("/alarms")
def alarms():
    """Running and recent alarm responses, with response times and late ones marked;
    filtered by site, period (Taipei days), cause, false alarms (the figures link here)."""
    authorize(policy.can_list_alarms(current_user))
    filters = _alarm_filters()
    page = svc.list_alarms(
        current_user,
        filters,
        page=page_arg(),
        per_page=current_app.config["PAGE_SIZE"],
    )
    return render_template(
        "incidents/alarms.html",
        running=svc.running_alarms(current_user),
        page=page,
        now=utcnow(),
        may_open=policy.can_list_site_work(current_user),
        may_see_figures=policy.can_list_site_work(current_user),
        sites=site_services.visible_sites(current_user),
        is_filtered=any(request.args.get(k) for k in ("site", "from", "to", "cause", "false")),
    )


#: The figures' period unless one is asked for: the last 30 days, today included (Taipei).
FIGURES_DAYS = 30


def _alarm_filters(*, first_day: date | None = None, last_day: date | None = None):
    """The filters of the query string; the period's days are Taipei days (or those given)."""
    since = taipei_day_start(first_day.isoformat() if first_day else request.args.get("from"))
    until = taipei_day_start(last_day.isoformat() if last_day else request.args.get("to"))
    cause = request.args.get("cause", "")
    return svc.AlarmFilter(
        site_id=int_arg("site"),
        since=since,
        until=until + timedelta(days=1) if until else None,
        cause=cause if cause in ALARM_CAUSES else "",
        false_only=request.args.get("false") == "1",
    )


@bp.get("/alarms/figures")
def alarm_figures():
    """False-alarm figures over a period (default the last 30 Taipei days): per site alarms,
    false alarms and their rate; per cause the closed alarms; each number links to its alarms."""
    authorize(policy.can_list_site_work(current_user))
    today = taipei_today()
    last_day = day_arg(request.args.get("to")) or today
    first_day = day_arg(request.args.get("from")) or last_day - timedelta(days=FIGURES_DAYS - 1)
    if first_day > last_day:
        first_day, last_day = last_day, first_day
    filters = _alarm_filters(first_day=first_day, last_day=last_day)
    return render_template(
        "incidents/alarm_figures.html",
        figures=svc.false_alarm_figures(current_user, filters),
        first_day=first_day,
        last_day=last_day,
        period={"from": first_day.isoformat(), "to": last_day.isoformat()},
        causes=ALARM_CAUSES,
        false_causes=FALSE_ALARM_CAUSES,
    )


def _managed_sites() -> list[Site]:
    assigned = _assigned()
    return [
        s
        for s in site_services.visible_sites(current_user)
        if policy.can_manage_site_work(current_user, s.id, assigned_site_ids=assigned)
    ]


def _open_alarm(site: Site, form: AlarmForm) -> AlarmResponse:
    guard_id = form.guard_id.data or None
    if guard_id and guard_id not in {g.id for g in _guards_for([site.id])}:
        raise svc.IncidentError("guard_elsewhere", field="guard_id")
    return svc.open_alarm(
        site,
        user=current_user,
        uuid=form.uuid.or_new(),
        received_at=from_taipei(form.received_at.data),
        signal_type=form.signal_type.data,
        zone=form.zone.data or "",
        guard_id=guard_id,
    )


@bp.route("/alarms/new", methods=["GET", "POST"])
def alarm_new():
    """An alarm came in: record its signal and zone, and send a guard."""
    authorize(policy.can_list_site_work(current_user))
    sites = _managed_sites()
    form = AlarmForm()
    form.offer(sites, guards=_guards_for([s.id for s in sites]))
    if request.method == "GET":
        form.prefill(site_id=int_arg("site"))
    return uow.form_page(
        form,
        lambda: _open_alarm(_chosen(sites, form.site_id.data), form),
        field=form.received_at,
        then=lambda alarm: uow.see_other(
            url_for("incidents.alarm", alarm_id=alarm.id), uuid=alarm.uuid
        ),
        page=lambda: render_template("incidents/alarm_form.html", form=form),
    )


def _load_alarm(alarm_id: int) -> AlarmResponse:
    alarm = db.get_or_404(AlarmResponse, alarm_id)
    authorize_hidden(
        policy.can_view_alarm(current_user, alarm, assigned_site_ids=_assigned()),
        target=f"alarm:{alarm.id}",
    )
    return alarm


def _close_form(alarm: AlarmResponse) -> CloseForm:
    form = CloseForm()
    incidents = db.session.scalars(
        select(Incident)
        .where(Incident.site_id == alarm.site_id)
        .order_by(Incident.occurred_at.desc())
        .limit(20)
    )
    form.incident_id.choices = [(0, _("— none —"))] + [
        (i.id, f"#{i.id} {CATEGORY_LABELS[i.category]}") for i in incidents
    ]
    return form


@bp.get("/alarms/<int:alarm_id>")
def alarm(alarm_id: int):
    """One alarm response: its procedure step by step, the call-back password to reveal,
    the police and fire stations to call, the response time against the site's target."""
    alarm = _load_alarm(alarm_id)
    may_manage = policy.can_manage_site_work(
        current_user, alarm.site_id, assigned_site_ids=_assigned()
    )
    running = may_manage and alarm.is_running
    return render_template(
        "incidents/alarm.html",
        alarm=alarm,
        now=utcnow(),
        may_manage=may_manage,
        guards=_guards_for([alarm.site_id]) if running else [],
        callback_passwords=vault_services.site_records_of(
            alarm.site,
            category="callback_password",
            sensitivities=policy.visible_sensitivities(current_user),
        )
        if running
        else [],
        forms={
            "callback": CallbackForm(formdata=None),
            "findings": FindingsForm(formdata=None),
            "police": PoliceForm(formdata=None),
            "fire": FireForm(formdata=None),
            "rearm": RearmForm(formdata=None),
            "close": _close_form(alarm),
        }
        if running
        else {},
        may_add_vault_record=running
        and policy.can_manage_vault(
            current_user,
            site_id=alarm.site_id,
            client_site_ids=frozenset(),
            assigned_site_ids=_assigned(),
        ),
        needs_rearm=alarm.signal_type in REARM_SIGNALS,
        may_rearm=svc.may_confirm_rearm(alarm),
    )


def _at(field) -> datetime:
    """A step's time: the one typed (Taipei), else now."""
    return from_taipei(field.data) if field.data else utcnow()


def _dispatch(alarm: AlarmResponse, form: DispatchForm) -> None:
    if form.guard_id.data not in {g.id for g in _guards_for([alarm.site_id])}:
        raise svc.IncidentError("bad_value", field="guard_id")
    svc.dispatch(alarm, user=current_user, guard_id=form.guard_id.data, at=utcnow())


#: step -> its form, and what it records.
STEPS = {
    "callback": (
        CallbackForm,
        lambda alarm, form: svc.record_callback(
            alarm,
            user=current_user,
            at=_at(form.callback_at),
            answered_by=form.answered_by.data or "",
            result=form.result.data,
        ),
    ),
    "dispatch": (DispatchForm, _dispatch),
    "arrive": (ArriveForm, lambda alarm, form: svc.arrive_from_scan(alarm, user=current_user)),
    "findings": (
        FindingsForm,
        lambda alarm, form: svc.record_findings(
            alarm, user=current_user, findings=form.findings.data or ""
        ),
    ),
    "police": (
        PoliceForm,
        lambda alarm, form: svc.notify_police(
            alarm,
            user=current_user,
            at=_at(form.police_at),
            unit=form.unit.data or "",
            case_number=form.case_number.data or "",
        ),
    ),
    "fire": (
        FireForm,
        lambda alarm, form: svc.notify_fire(alarm, user=current_user, at=_at(form.fire_at)),
    ),
    "rearm": (
        RearmForm,
        lambda alarm, form: svc.confirm_rearm(
            alarm,
            user=current_user,
            at=_at(form.rearm_at),
            rearmed_by=form.rearmed_by.data or "",
        ),
    ),
    "close": (
        CloseForm,
        lambda alarm, form: svc.close(
            alarm,
            user=current_user,
            at=utcnow(),
            cause=form.cause.data,
            note=form.note.data or "",
            incident_id=form.incident_id.data or None,
        ),
    ),
}


@bp.post("/alarms/<int:alarm_id>/<step>")
def alarm_step(alarm_id: int, step: str):
    """Record a step of the procedure: the call-back, dispatch (with the guard), arrival,
    findings, police and 119 notifications, re-arming, closing (with the cause)."""
    alarm = _load_alarm(alarm_id)
    authorize(
        policy.can_manage_site_work(current_user, alarm.site_id, assigned_site_ids=_assigned())
    )
    require_action_form()
    if step not in STEPS:
        abort(404)
    form_class, record = STEPS[step]
    form = form_class()
    return uow.action(
        lambda: record(alarm, form),
        form=form,
        back=url_for("incidents.alarm", alarm_id=alarm.id),
        uuid=alarm.uuid,
    )

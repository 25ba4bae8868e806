"""Briefings (inbox, reading, acknowledging; writing, publishing, progress, reminders, CSV)
and training records."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from app import uow
from app.args import int_arg, page_arg
from app.auth import policy
from app.authz import authorize, authorize_hidden
from app.briefings import compliance
from app.briefings import services as svc
from app.briefings.forms import (
    AUDIENCE_LABELS,
    KIND_LABELS,
    TOPIC_LABELS,
    TRAINING_KIND_LABELS,
    TRAINING_STATUS_LABELS,
    AttachmentForm,
    BriefingForm,
    StatusForm,
    TrainingForm,
)
from app.briefings.models import Briefing, TrainingSession
from app.db import utcnow
from app.extensions import db
from app.forms import require_action_form
from app.i18n import taipei_today
from app.photos.services import PhotoError, photo_file, store_photo
from app.sites import services as site_services

bp = Blueprint("briefings", __name__)


@bp.app_context_processor
def briefing_labels():
    unread = 0
    if current_user and current_user.is_authenticated and policy.can_read_briefings(current_user):
        unread = svc.unread_count(current_user)
    return {
        "briefing_kind_labels": KIND_LABELS,
        "audience_labels": AUDIENCE_LABELS,
        "topic_labels": TOPIC_LABELS,
        "training_kind_labels": TRAINING_KIND_LABELS,
        "training_status_labels": TRAINING_STATUS_LABELS,
        "unread_briefings": unread,
        "render_body": svc.render_body,
    }


def _load(briefing_id: int) -> Briefing:
    briefing = db.get_or_404(Briefing, briefing_id)
    may_manage = policy.can_manage_briefing(current_user, briefing)
    readable = briefing.status == "published" and svc.is_in_audience(briefing, current_user)
    authorize_hidden(may_manage or readable, target=f"briefing:{briefing.id}")
    return briefing


@bp.get("/briefings")
def briefings():
    """My briefings to read; for supervisors and managers, also the ones they manage."""
    authorize(policy.can_read_briefings(current_user))
    per_page = current_app.config["PAGE_SIZE"]
    listed, acks = svc.inbox(current_user, page=page_arg(), per_page=per_page)
    managed = None
    if policy.can_publish_briefings(current_user):
        managed = svc.briefings_managed_by(
            current_user, page=page_arg("managed_page"), per_page=per_page
        )
    return render_template(
        "briefings/briefings.html",
        inbox=[(b, acks.get(b.id)) for b in listed.items],
        inbox_page=listed,
        managed=managed,
    )


@bp.get("/briefings/<int:briefing_id>")
def briefing(briefing_id: int):
    """Read a briefing; acknowledge it."""
    item = _load(briefing_id)
    return render_template(
        "briefings/briefing.html",
        briefing=item,
        ack=svc.acknowledgement(item, current_user),
        for_me=item.status == "published" and svc.is_in_audience(item, current_user),
        may_manage=policy.can_manage_briefing(current_user, item),
    )


@bp.post("/briefings/<int:briefing_id>/ack")
def acknowledge(briefing_id: int):
    """「我已閱讀並了解」: once per version; pressing again changes nothing."""
    item = _load(briefing_id)
    require_action_form()
    return uow.action(
        lambda: uow.retry_after_conflict(lambda: svc.acknowledge(item, user=current_user)),
        back=url_for("briefings.briefing", briefing_id=item.id),
        success=_("Thank you. Your acknowledgement has been recorded."),
    )


def _save(item: Briefing | None, form: BriefingForm) -> Briefing:
    saved = svc.save_briefing(
        item,
        actor=current_user,
        kind=form.kind.data,
        title=form.title.data,
        body=form.body.data,
        requires_ack=form.requires_ack.data,
        due_on=form.due_on.data,
        audience_kind=form.audience.data,
        site_ids=form.site_id.data,
        user_ids=form.user_id.data,
        substantive=not form.minor_edit.data,
    )
    if form.publish.data and saved.status != "published":
        svc.publish(saved, actor=current_user)
    return saved


def _form_page(item: Briefing | None):
    authorize(policy.can_publish_briefings(current_user))
    form = BriefingForm(obj=item)
    if not policy.sees_all_sites(current_user):
        form.audience.choices = [c for c in form.audience.choices if c[0] != "all_guards"]
        form.kind.choices = [c for c in form.kind.choices if c[0] != "pledge"]
    if request.method == "GET":
        form.site_id.data = {s.id for s in item.sites} if item else set()
        form.user_id.data = {u.id for u in item.users} if item else set()
        if item is None and int_arg("site"):
            form.site_id.data = {int_arg("site")}
    return uow.form_page(
        form,
        lambda: _save(item, form),
        then=lambda saved: uow.see_other(
            url_for("briefings.progress", briefing_id=saved.id), _("Briefing saved.")
        ),
        page=lambda: render_template(
            "briefings/briefing_form.html",
            form=form,
            briefing=item,
            sites=site_services.visible_sites(current_user),
            people=svc.briefable_people(current_user),
            chosen_sites=form.site_id.data,
            chosen_users=form.user_id.data,
        ),
    )


@bp.route("/briefings/new", methods=["GET", "POST"])
def briefing_new():
    """Write a briefing for guards of chosen sites, all guards, or chosen people."""
    return _form_page(None)


@bp.route("/briefings/<int:briefing_id>/edit", methods=["GET", "POST"])
def briefing_edit(briefing_id: int):
    """Edit; a substantive change asks everyone to acknowledge again."""
    return _form_page(_managed(briefing_id))


def _managed(briefing_id: int) -> Briefing:
    """A briefing the user manages (its author, a manager); to anyone else it does not exist:
    404, and the attempt is audited."""
    item = db.get_or_404(Briefing, briefing_id)
    authorize_hidden(policy.can_manage_briefing(current_user, item), target=f"briefing:{item.id}")
    return item


@bp.post("/briefings/<int:briefing_id>/status")
def briefing_status(briefing_id: int):
    """Publish or withdraw."""
    item = _managed(briefing_id)
    require_action_form()
    form = StatusForm()
    withdraw = form.action.data == "withdraw"
    return uow.action(
        lambda: (svc.withdraw if withdraw else svc.publish)(item, actor=current_user),
        form=form,
        back=url_for("briefings.progress", briefing_id=item.id),
        success=_("Briefing withdrawn.") if withdraw else _("Briefing published."),
    )


@bp.get("/briefings/<int:briefing_id>/progress")
def progress(briefing_id: int):
    """Who has acknowledged, who is outstanding, who is overdue."""
    item = _managed(briefing_id)
    rows = svc.progress(item, today=taipei_today())
    return render_template(
        "briefings/progress.html",
        briefing=item,
        rows=rows,
        done=sum(1 for r in rows if r.acknowledged_at),
    )


@bp.post("/briefings/<int:briefing_id>/remind")
def remind(briefing_id: int):
    """Remind everyone outstanding (in the app, and by e-mail when configured)."""
    item = _managed(briefing_id)
    require_action_form()
    return uow.action(
        lambda: svc.remind(item, actor=current_user, today=taipei_today()),
        back=url_for("briefings.progress", briefing_id=item.id),
        success=lambda count: ngettext(
            "%(num)d person reminded.", "%(num)d people reminded.", count
        ),
    )


@bp.get("/briefings/<int:briefing_id>/acknowledgements.csv")
def acknowledgements_csv(briefing_id: int):
    """The acknowledgements as CSV (Excel opens it: UTF-8 with a byte-order mark)."""
    item = _managed(briefing_id)
    body = "\ufeff" + svc.acknowledgements_csv(item, today=taipei_today())
    response = Response(body, mimetype="text/csv")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="briefing-{item.id}-v{item.version}.csv"'
    )
    return response


@bp.get("/briefing-files/<int:attachment_id>")
def attachment_file(attachment_id: int):
    """A file attached to a briefing (image or PDF), for those who may read the briefing."""
    from app.briefings.models import BriefingAttachment

    item = db.get_or_404(BriefingAttachment, attachment_id)
    _load(item.briefing_id)
    # Served as what it is, under a name that says so (never the uploader's "page.html").
    if item.photo is not None:  # images follow the briefing's readers, not a site
        path, mimetype, download = photo_file(item.photo), "image/jpeg", False
        name = svc.safe_file_name(item.filename, ".jpg")
    else:
        path = Path(current_app.config["UPLOAD_DIR"]) / item.path
        mimetype, download = "application/pdf", True
        name = svc.safe_file_name(item.filename, ".pdf")
    if not path.exists():
        abort(404)
    response = send_file(path, mimetype=mimetype, as_attachment=download, download_name=name)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.post("/briefings/<int:briefing_id>/attachments")
def attachment(briefing_id: int):
    """Attach an image (through the photo pipeline) or a PDF."""
    item = _managed(briefing_id)
    require_action_form()
    form = AttachmentForm()
    return uow.action(
        lambda: svc.attach_file(
            item, actor=current_user, data=_upload_bytes(form), filename=form.file.data.filename
        ),
        form=form,
        back=url_for("briefings.progress", briefing_id=item.id),
        success=_("Attachment added."),
    )


def _upload_bytes(form: AttachmentForm) -> bytes:
    if form.file.data is None or not form.file.data.filename:
        raise PhotoError("not_an_image")
    return form.file.data.read()


# ---------------------------------------------------------------- training


@bp.get("/training")
def training():
    """Training: my own record; for supervisors and managers, who is expiring or expired."""
    authorize(policy.can_view_own_training(current_user))
    today = taipei_today()
    flagged, sessions = None, []
    if policy.can_manage_training(current_user):
        flagged = svc.flagged_people(
            current_user, today=today, page=page_arg(), per_page=current_app.config["PAGE_SIZE"]
        )
        sessions = svc.recent_training_sessions(current_user)
    return render_template(
        "briefings/training.html",
        mine=svc.training_status(current_user, today=today),
        my_sessions=svc.own_training_sessions(current_user),
        today=today,
        flagged=flagged,
        sessions=sessions,
    )


def _record_training(form: TrainingForm, people) -> TrainingSession:
    attendees = form.user_id.data & {p.id for p in people}
    if not attendees:
        raise svc.BriefingError("attendees_required")
    evidence = None
    if (data := form.evidence_bytes()) is not None:
        sites = site_services.visible_sites(current_user)[:1]
        if not sites:
            raise PhotoError("not_an_image")
        # The photo needs a site; the training's people, not that site, decide who sees it.
        evidence = store_photo(data, owner=current_user, site_id=sites[0].id, kind="training")
    return svc.record_training(
        actor=current_user,
        kind=form.kind.data,
        topic=form.topic.data,
        held_on=form.held_on.data,
        hours=float(form.hours.data),
        trainer=form.trainer.data or "",
        note=form.note.data or "",
        attendee_ids=attendees,
        evidence=evidence,
    )


@bp.get("/training/<int:session_id>/evidence")
def training_evidence(session_id: int):
    """A training session's evidence (certificate, sign-in sheet): for its attendees, the
    supervisors of their sites and managers; to anyone else it does not exist."""
    session = db.get_or_404(TrainingSession, session_id)
    attendee_ids, attendee_site_ids = svc.training_record_people(session)
    authorize_hidden(
        policy.can_view_training_record(
            current_user,
            session,
            attendee_ids=attendee_ids,
            attendee_site_ids=attendee_site_ids,
            assigned_site_ids=site_services.assigned_site_ids(current_user),
        ),
        target=f"training:{session.id}",
    )
    if session.evidence is None or not (path := photo_file(session.evidence)).exists():
        abort(404)
    response = send_file(path, mimetype="image/jpeg", conditional=False, etag=False)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/training/new", methods=["GET", "POST"])
def training_new():
    """Record a training session and who attended."""
    authorize(policy.can_manage_training(current_user))
    form = TrainingForm()
    people = svc.people_in_care(current_user)
    return uow.form_page(
        form,
        lambda: _record_training(form, people),
        then=lambda _session: uow.see_other(url_for("briefings.training"), _("Training recorded.")),
        page=lambda: render_template(
            "briefings/training_form.html", form=form, people=people, chosen=form.user_id.data
        ),
    )


@bp.get("/training/export.csv")
def training_csv():
    """Every guard in my care with the status of each topic, as CSV."""
    authorize(policy.can_manage_training(current_user))
    today = taipei_today()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["username", "name", "topic", "last_on", "expires_on", "status"])
    in_care = svc.people_in_care(current_user)
    statuses = svc.training_statuses(in_care, today=today)
    for person in in_care:
        for s in statuses[person.id]:
            row = [person.username, person.display_name, s.topic, s.last_on, s.expires_on, s.status]
            writer.writerow([svc.csv_cell(v) for v in row])
    response = Response("\ufeff" + out.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = 'attachment; filename="training.csv"'
    return response


@bp.get("/training/month")
def training_month():
    """The month's on-the-job hours per guard (at least 4, 保全業法 §10-2) and per site, with
    each guard's pre-employment training; ?month=YYYY-MM, this Taipei month by default."""
    authorize(policy.can_view_training_compliance(current_user))
    today = taipei_today()
    first = compliance.month_start(request.args.get("month"), today=today)
    rows, sites = compliance.monthly_compliance(current_user, first)
    return render_template(
        "briefings/training_month.html",
        first=first,
        month=f"{first.year}-{first.month:02d}",
        previous=compliance.previous_month(first),
        following=compliance.next_month(first) if first < today.replace(day=1) else None,
        rows=rows,
        sites=sites,
        below=sum(1 for r in rows if not r.meets),
        monthly_hours=compliance.MONTHLY_HOURS,
        pre_hours=compliance.PRE_EMPLOYMENT_HOURS,
    )


@bp.get("/training/month.csv")
def training_month_csv():
    """The month's list as CSV: Chinese headers, Taipei time, UTF-8 with a byte-order mark."""
    authorize(policy.can_view_training_compliance(current_user))
    first = compliance.month_start(request.args.get("month"), today=taipei_today())
    rows, _sites = compliance.monthly_compliance(current_user, first)
    body = "\ufeff" + compliance.monthly_csv(rows, first, now=utcnow())
    response = Response(body, mimetype="text/csv")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="training-{first.year}-{first.month:02d}.csv"'
    )
    return response

"""Checklist editor, running an inspection, submitting, amending and reading reports."""

from __future__ import annotations

from datetime import timedelta
from itertools import groupby

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app import uow
from app.args import float_arg, int_arg, page_arg, taipei_day_start
from app.auth import policy
from app.authz import authorize, authorize_hidden
from app.db import utcnow
from app.extensions import db
from app.forms import ActionForm, require_action_form
from app.htmx import render, wants_fragment
from app.i18n import TAIPEI
from app.inspections import services as svc
from app.inspections.forms import (
    ITEM_KIND_LABELS,
    AmendForm,
    AnswerForm,
    AnswerPhotoForm,
    ItemForm,
    MoveForm,
    RetireForm,
    StartForm,
    SubmitForm,
)
from app.inspections.models import ChecklistItem, ChecklistTemplate, Inspection
from app.photos.services import PhotoError
from app.sites import services as site_services
from app.sites.models import Equipment, Site

bp = Blueprint("inspections", __name__)


@bp.app_context_processor
def inspection_labels():
    from app.inspections.labels import INDICATOR_LABELS

    return {"indicator_labels": INDICATOR_LABELS, "item_kind_labels": ITEM_KIND_LABELS}


def _assigned() -> set[int]:
    return site_services.assigned_site_ids(current_user)


def _locale() -> str:
    return "en" if str(get_locale()).startswith("en") else "zh"


# ---------------------------------------------------------------- checklist editor


@bp.get("/checklists")
def checklists():
    """Checklist templates and their versions."""
    authorize(policy.can_manage_checklists(current_user))
    templates = svc.list_templates()
    return render_template(
        "inspections/checklists.html",
        templates=templates,
        in_use={t.id: svc.template_in_use(t) for t in templates},
    )


@bp.get("/checklists/<int:template_id>")
def checklist(template_id: int):
    """One version: its items in order, with edit, move and retire."""
    authorize(policy.can_manage_checklists(current_user))
    template = db.get_or_404(ChecklistTemplate, template_id)
    return render_template(
        "inspections/checklist.html",
        template=template,
        in_use=svc.template_in_use(template),
        action=ActionForm(),
        locale=_locale(),
    )


def _item_saved(template: ChecklistTemplate, saved: ChecklistItem):
    """Back to the checklist at the item: a change to a checklist in use made a new version."""
    url = url_for("inspections.checklist", template_id=saved.template_id) + f"#item-{saved.id}"
    if saved.template_id == template.id:
        return uow.see_other(url, _("Item saved."))
    message = _(
        "The checklist was in use, so your change made version %(v)s.", v=saved.template.version
    )
    return uow.see_other(url, message, category="info")


def _item_page(template: ChecklistTemplate, item: ChecklistItem | None):
    if not template.is_active:
        flash(svc.InspectionError.messages["old_version"], "error")
        return redirect(url_for("inspections.checklist", template_id=template.id), code=303)
    form = ItemForm(obj=item)
    if request.method == "GET" and item is not None:
        form.equipment_kind.data = item.equipment_kind or ""
        form.system_type.data = item.system_type or ""
    return uow.form_page(
        form,
        lambda: svc.save_item(
            template, item.id if item else None, actor=current_user, **form.values()
        ),
        then=lambda saved: _item_saved(template, saved),
        page=lambda: render_template(
            "inspections/item_form.html", form=form, template=template, item=item
        ),
    )


@bp.route("/checklists/<int:template_id>/items/new", methods=["GET", "POST"])
def item_new(template_id: int):
    """Add an item to a checklist."""
    authorize(policy.can_manage_checklists(current_user))
    return _item_page(db.get_or_404(ChecklistTemplate, template_id), None)


@bp.route("/checklist-items/<int:item_id>", methods=["GET", "POST"])
def item_edit(item_id: int):
    """Change a checklist item."""
    authorize(policy.can_manage_checklists(current_user))
    item = db.get_or_404(ChecklistItem, item_id)
    return _item_page(item.template, item)


def _item_action(item_id: int) -> ChecklistItem:
    authorize(policy.can_manage_checklists(current_user))
    item = db.get_or_404(ChecklistItem, item_id)
    require_action_form()
    if not item.template.is_active:
        abort(409)
    return item


def _to_checklist(template: ChecklistTemplate):
    return uow.see_other(url_for("inspections.checklist", template_id=template.id))


@bp.post("/checklist-items/<int:item_id>/move")
def item_move(item_id: int):
    """Move an item up or down."""
    item = _item_action(item_id)
    form = MoveForm()
    return uow.action(
        lambda: svc.move_item(
            item.template,
            item.id,
            actor=current_user,
            offset=-1 if form.direction.data == "up" else 1,
        ),
        form=form,
        back=url_for("inspections.checklist", template_id=item.template_id),
        then=_to_checklist,
    )


@bp.post("/checklist-items/<int:item_id>/retire")
def item_retire(item_id: int):
    """Retire an item (or bring it back): new inspections skip retired items."""
    item = _item_action(item_id)
    form = RetireForm()
    retire = form.retired.data != "0"
    return uow.action(
        lambda: svc.set_item_retired(item.template, item.id, actor=current_user, retired=retire),
        form=form,
        back=url_for("inspections.checklist", template_id=item.template_id),
        then=lambda target: uow.see_other(
            url_for("inspections.checklist", template_id=target.id),
            _("Item retired.") if retire else _("Item restored."),
        ),
    )


@bp.get("/checklists/<int:template_id>/preview")
def checklist_preview(template_id: int):
    """The checklist as a supervisor will see it on a phone (nothing is saved)."""
    authorize(policy.can_manage_checklists(current_user))
    template = db.get_or_404(ChecklistTemplate, template_id)
    return render_template(
        "inspections/run.html",
        preview=True,
        inspection=None,
        template=template,
        sections=_sections(template),
        answers={},
        equipment={},
        progress=(0, len(template.live_items)),
        missing=[],
        form=SubmitForm(),
        locale=_locale(),
    )


# ---------------------------------------------------------------- running an inspection


def _sections(template: ChecklistTemplate):
    return [
        (indicator, list(items))
        for indicator, items in groupby(template.live_items, key=lambda i: i.indicator)
    ]


def _load(uuid: str) -> Inspection:
    inspection = db.session.scalar(select(Inspection).where(Inspection.uuid == uuid))
    if inspection is None:
        abort(404)
    assigned = site_services.assigned_site_ids(current_user)
    authorize_hidden(
        policy.can_view_inspection(current_user, inspection, assigned_site_ids=assigned),
        target=f"inspection:{inspection.id}",
    )
    return inspection


def _equipment_by_kind(site_id: int) -> dict[str, list[Equipment]]:
    units: dict[str, list[Equipment]] = {}
    for unit in db.session.scalars(
        select(Equipment)
        .where(Equipment.site_id == site_id, Equipment.status != "retired")
        .order_by(Equipment.id)
    ):
        units.setdefault(unit.kind, []).append(unit)
    return units


def _progress(inspection: Inspection) -> tuple[int, int]:
    live = svc.applicable_items(inspection)
    answers = svc.answers_by_item(inspection)
    done = sum(1 for item in live if item.id in answers and answers[item.id].value != "")
    return done, len(live)


def _run_page(inspection: Inspection, *, missing=None, form=None, status=200):
    return (
        render_template(
            "inspections/run.html",
            preview=False,
            inspection=inspection,
            template=inspection.template,
            sections=_sections(inspection.template),
            answers=svc.answers_by_item(inspection),
            equipment=_equipment_by_kind(inspection.site_id),
            progress=_progress(inspection),
            missing=missing or [],
            form=form or SubmitForm(signer_name=current_user.display_name),
            locale=_locale(),
            may_repair=_may_repair(inspection),
            training_current=_training_hint(inspection),
        ),
        status,
    )


def _training_hint(inspection: Inspection) -> bool | None:
    """For the training item (K13/K14): are this site's guards current? (a hint, not an answer)"""
    from app.briefings.services import site_training_current
    from app.i18n import taipei_today

    return site_training_current(inspection.site, today=taipei_today())


def _may_repair(inspection: Inspection) -> bool:
    return policy.can_manage_site_work(
        current_user, inspection.site_id, assigned_site_ids=_assigned()
    )


@bp.post("/sites/<int:site_id>/inspections")
def start(site_id: int):
    """Start (or, with the same uuid, reopen) an inspection of this site."""
    site = db.get_or_404(Site, site_id)
    assigned = site_services.assigned_site_ids(current_user)
    authorize_hidden(
        policy.can_inspect(current_user, site, assigned_site_ids=assigned), target=f"site:{site.id}"
    )
    require_action_form()
    form = StartForm()
    return uow.action(
        lambda: uow.retry_after_conflict(
            lambda: svc.start_inspection(site, user=current_user, uuid=form.uuid.or_new())
        ),
        form=form,
        back=url_for("main.site_card", site_id=site.id),
        then=lambda inspection: uow.see_other(
            url_for("inspections.inspection", uuid=inspection.uuid), uuid=inspection.uuid
        ),
    )


@bp.get("/inspections/<uuid>")
def inspection(uuid: str):
    """A draft opens where it stopped (for its inspector); otherwise the report."""
    inspection = _load(uuid)
    if policy.can_answer(current_user, inspection, assigned_site_ids=_assigned()):
        # The phone keeps this page for offline use (issue 11): the user's own draft only.
        response = make_response(_run_page(inspection))
        response.headers["X-Offline"] = "keep"
        return response
    amend_form = None
    if policy.can_amend(current_user, inspection, assigned_site_ids=_assigned()):
        amend_form = AmendForm()
        amend_form.item_id.choices = [
            (i.id, f"{i.position}. {i.text(_locale())}") for i in svc.applicable_items(inspection)
        ]
    answers = svc.answers_by_item(inspection)
    return render_template(
        "inspections/report.html",
        inspection=inspection,
        sections=_sections(inspection.template),
        answers=answers,
        failed=[
            (item, answers[item.id])
            for item in svc.applicable_items(inspection)
            if item.id in answers and answers[item.id].is_pass is False
        ],
        amend_form=amend_form,
        locale=_locale(),
        may_repair=_may_repair(inspection),
    )


def _item_response(
    inspection: Inspection,
    item: ChecklistItem,
    *,
    error: str | None = None,
    status: int = 200,
    superseded: bool = False,
):
    """The item with its saved answer (htmx), the run page at the item, or JSON for a phone.

    `superseded`: the answer sent was given before the one saved, which stays; a phone is told
    so (200, ``"superseded": true``, header ``X-Superseded: 1``) and drops it from its outbox."""
    if uow.wants_json():
        if superseded:
            response, code = uow.echo(inspection.uuid, item=item.id, superseded=True)
            response.headers["X-Superseded"] = "1"
            return response, code
        return uow.echo(inspection.uuid, item=item.id)
    if wants_fragment():
        return (
            render_template(
                "inspections/_item_response.html",
                inspection=inspection,
                item=item,
                answer=svc.answers_by_item(inspection).get(item.id),
                equipment=_equipment_by_kind(inspection.site_id),
                progress=_progress(inspection),
                error=error,
                locale=_locale(),
                preview=False,
                may_repair=_may_repair(inspection),
            ),
            status,
        )
    if error:
        flash(error, "error")
    return redirect(
        url_for("inspections.inspection", uuid=inspection.uuid) + f"#item-{item.id}", code=303
    )


def _answerable(uuid: str, item_id: int) -> tuple[Inspection, ChecklistItem]:
    inspection = _load(uuid)
    item = db.get_or_404(ChecklistItem, item_id)
    if item.template_id != inspection.template_id:
        abort(404)
    if not policy.can_answer(current_user, inspection, assigned_site_ids=_assigned()):
        abort(409 if not inspection.is_draft else 403)
    require_action_form()
    return inspection, item


def _item_refused(inspection: Inspection, item: ChecklistItem):
    def refused(exc: uow.DomainError):
        if uow.wants_json():
            return uow.echo(
                inspection.uuid, status=exc.status, item=item.id, error=exc.key, message=exc.message
            )
        return _item_response(inspection, item, error=exc.message, status=exc.status)

    return refused


@bp.post("/inspections/<uuid>/items/<int:item_id>")
def answer(uuid: str, item_id: int):
    """Save one answer as it is given (idempotent: the same answer again changes nothing)."""
    late = _late_answer(_load(uuid), item_id)
    if late is not None:
        return late
    inspection, item = _answerable(uuid, item_id)
    form = AnswerForm()
    return uow.run(
        lambda: uow.retry_after_conflict(
            lambda: svc.record_answer(inspection, item, user=current_user, **form.values())
        ),
        form=form,
        then=lambda saved: _item_response(
            inspection,
            item,
            superseded=form.device_time.data is not None
            and form.value.data is not None
            and svc.is_superseded(saved, form.device_time.data),
        ),
        refused=_item_refused(inspection, item),
    )


def _late_answer(inspection: Inspection, item_id: int):
    """A phone's answer arriving after its inspector submitted: one given before the submit is
    acknowledged as superseded (200; the report is frozen, corrections are amendments), one
    given after it is refused (409, ``"reason": "already_submitted"``). None: not that case."""
    if inspection.is_draft or not uow.wants_json():
        return None
    if not policy.is_its_inspector(current_user, inspection, assigned_site_ids=_assigned()):
        return None
    require_action_form()
    form = AnswerForm()
    given_at = form.device_time.data if form.validate() else None
    if given_at is not None and inspection.submitted_at and given_at <= inspection.submitted_at:
        response, status = uow.echo(inspection.uuid, item=item_id, superseded=True)
        response.headers["X-Superseded"] = "1"
        return response, status
    return uow.echo(
        inspection.uuid,
        status=409,
        item=item_id,
        error="already_submitted",
        reason="already_submitted",
    )


def _attach(inspection: Inspection, item: ChecklistItem, form: AnswerPhotoForm):
    data = form.photo_bytes()
    if form.note.data is not None:  # a note typed but not yet saved goes along
        svc.record_answer(inspection, item, user=current_user, value=None, note=form.note.data)
    svc.attach_photo(inspection, item, user=current_user, data=data, uuid=form.photo_uuid.data)


@bp.post("/inspections/<uuid>/items/<int:item_id>/photos")
def answer_photo(uuid: str, item_id: int):
    """Attach a photo of a fault (downscaled on the phone, re-encoded here)."""
    inspection, item = _answerable(uuid, item_id)
    form = AnswerPhotoForm()
    return uow.run(
        lambda: _attach(inspection, item, form),
        form=form,
        then=lambda _photo: _item_response(inspection, item),
        refused=_item_refused(inspection, item),
    )


def _submit(inspection: Inspection, form: SubmitForm) -> None:
    signature = svc.decode_signature(form.signature.data)
    if signature is None:
        raise svc.InspectionError("signature_required", field="signature")
    if svc.missing_for_submit(inspection):
        raise svc.InspectionError("incomplete")
    try:
        svc.submit(
            inspection,
            user=current_user,
            signer_name=form.signer_name.data,
            signature_png=signature,
            contact_name=form.contact_name.data or "",
            contact_signature_png=svc.decode_signature(form.contact_signature.data),
        )
    except PhotoError:  # a signature that is not a picture
        raise svc.InspectionError("signature_required", field="signature") from None


def _submit_refused(inspection: Inspection, form: SubmitForm, exc: uow.DomainError):
    """The run page again, pointing to what is missing, with the refusal on the form."""
    if uow.wants_json():
        missing = svc.missing_for_submit(inspection) if exc.key == "incomplete" else []
        if missing:  # it came before some of its answers: the outbox sends them, then again
            return uow.echo(
                inspection.uuid,
                status=409,
                error="answers_missing",
                reason="answers_missing",
                message=exc.message,
                missing=[{"item": m.item.id, "problem": m.problem} for m in missing],
            )
        return uow.refusal_json(exc)
    if exc.field:
        form[exc.field].errors = [*form[exc.field].errors, exc.message]
    return _run_page(inspection, form=form, missing=svc.missing_for_submit(inspection), status=422)


@bp.post("/inspections/<uuid>/submit")
def submit(uuid: str):
    """Sign and submit; points to whatever is still missing."""
    inspection = _load(uuid)
    if not inspection.is_draft:  # a double tap, or a phone's resend
        if uow.wants_json():
            return uow.echo(uuid, location=url_for("inspections.inspection", uuid=uuid))
        return redirect(url_for("inspections.inspection", uuid=uuid), code=303)
    if not policy.can_answer(current_user, inspection, assigned_site_ids=_assigned()):
        abort(403)
    form = SubmitForm()
    return uow.run(
        lambda: _submit(inspection, form),
        form=form,
        then=lambda _none: uow.see_other(
            url_for("inspections.inspection", uuid=uuid),
            _("Inspection submitted. Score %(score)s.", score=_score_text(inspection.score)),
            uuid=uuid,
        ),
        refused=lambda exc: _submit_refused(inspection, form, exc),
    )


def _score_text(value) -> str:
    return "—" if value is None else f"{value:g}"


@bp.post("/inspections/<uuid>/amend")
def amend(uuid: str):
    """Correct a submitted inspection, with a reason; the history keeps the old answer."""
    inspection = _load(uuid)
    authorize(policy.can_amend(current_user, inspection, assigned_site_ids=_assigned()))
    form = AmendForm()
    form.item_id.choices = [(i.id, str(i.id)) for i in svc.applicable_items(inspection)]
    return uow.action(
        lambda: svc.amend(
            inspection,
            db.session.get(ChecklistItem, form.item_id.data),
            user=current_user,
            **form.values(),
        ),
        form=form,
        back=url_for("inspections.inspection", uuid=uuid)
        + (f"#report-item-{form.item_id.data}" if isinstance(form.item_id.data, int) else ""),
        success=_("The correction has been recorded."),
    )


@bp.get("/inspections")
def inspections():
    """Submitted inspections: per site and overall, by date, inspector, score and failures."""
    authorize(policy.can_list_inspections(current_user))
    since = taipei_day_start(request.args.get("from"))
    until = taipei_day_start(request.args.get("to"))
    max_score = float_arg("max_score")
    page = svc.list_inspections(
        current_user,
        site_id=int_arg("site"),
        inspector_id=int_arg("inspector"),
        since=since,
        until=until + timedelta(days=1) if until else None,
        max_score=max_score,
        with_failures=request.args.get("failures") == "1",
        failed_item_id=int_arg("item"),
        page=page_arg(),
        per_page=current_app.config["PAGE_SIZE"],
    )
    return render(
        "inspections/inspections.html",
        "inspections/_inspection_list.html",
        page=page,
        sites=site_services.visible_sites(current_user),
        inspectors=svc.inspectors(current_user),
        today=utcnow().astimezone(TAIPEI).date(),
    )

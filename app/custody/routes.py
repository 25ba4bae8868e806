"""Key custody pages: a site's key bags, a bag and its history, take-out, return, seal checks.

The site card and the inspection pages show custody through fragments loaded from here (htmx,
on load), so those features know nothing of custody and a kept (offline) run page holds none
of it.
"""

from __future__ import annotations

from flask import Blueprint, abort, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app import uow
from app.auth import policy
from app.authz import authorize
from app.custody import services as svc
from app.custody.forms import (
    PURPOSE_LABELS,
    BagEditForm,
    BagForm,
    ReturnForm,
    SealCheckForm,
    TakeOutForm,
)
from app.custody.models import KeyBag
from app.db import new_uuid, utcnow
from app.extensions import db
from app.htmx import is_htmx
from app.inspections.models import Inspection
from app.sites import services as site_services
from app.sites.models import Site
from app.vault.access import log_access

bp = Blueprint("custody", __name__)


@bp.app_context_processor
def custody_labels():
    return {"custody_purpose_labels": PURPOSE_LABELS}


def _assigned() -> frozenset[int]:
    return site_services.assigned_site_ids(current_user)


def _hidden(allowed: bool, *, site_id: int) -> None:
    """Unless allowed: a denied row in the vault's access log (and so the audit chain), 404.

    Key custody is confidential: asking for another site's keys looks like asking for none,
    and leaves a trace where the access reviews look.
    """
    if allowed:
        return
    uow.commit(
        lambda: log_access(
            current_user, "custody", site_id=site_id, outcome="denied", reason="not_allowed"
        )
    )
    abort(404)


def _site(site_id: int) -> Site:
    site = db.get_or_404(Site, site_id)
    _hidden(
        policy.can_handle_keys(current_user, site, assigned_site_ids=_assigned()),
        site_id=site.id,
    )
    return site


def _bag(uuid: str) -> KeyBag:
    bag = db.session.scalar(select(KeyBag).where(KeyBag.uuid == uuid))
    if bag is None:
        abort(404)
    _hidden(
        policy.can_handle_keys(current_user, bag.site, assigned_site_ids=_assigned()),
        site_id=bag.site_id,
    )
    return bag


def _log_view(site_id: int) -> None:
    """A page listing key bags is a view of confidential information: logged, committed."""
    uow.commit(lambda: log_access(current_user, "list", site_id=site_id))


@bp.get("/sites/<int:site_id>/keys")
def site_keys(site_id: int):
    """A site's key bags: in the safe, out (with whom, until when), overdue first noticed."""
    site = _site(site_id)
    _log_view(site.id)
    rows = svc.site_bags(site.id)
    now = utcnow()
    return render_template(
        "custody/keys.html",
        site=site,
        rows=rows,
        now=now,
        overdue=[r for r in rows if r.is_overdue(now)],
        may_manage=policy.can_manage_key_bags(current_user, site),
    )


@bp.get("/sites/<int:site_id>/keys/summary")
def site_keys_summary(site_id: int):
    """The site card's link to its key bags, with how many are out and overdue (htmx)."""
    site = _site(site_id)
    return render_template(
        "custody/_site_link.html", site=site, summary=svc.site_summary(site.id, utcnow())
    )


def _bag_page(site: Site, form: BagForm | BagEditForm, bag: KeyBag | None = None) -> str:
    return render_template("custody/bag_form.html", site=site, form=form, bag=bag)


@bp.route("/sites/<int:site_id>/keys/new", methods=["GET", "POST"])
def bag_new(site_id: int):
    """Register a sealed key bag the client deposited (managers)."""
    site = _site(site_id)
    authorize(policy.can_manage_key_bags(current_user, site))
    form = BagForm()
    return uow.form_page(
        form,
        lambda: svc.create_bag(
            site,
            user=current_user,
            bag_number=form.bag_number.data,
            contents=form.contents.data,
            stored_at=form.stored_at.data,
            seal_number=form.seal_number.data,
        ),
        then=lambda bag: uow.see_other(
            url_for("custody.bag", uuid=bag.uuid), _("Key bag registered."), uuid=bag.uuid
        ),
        page=lambda: _bag_page(site, form),
    )


@bp.route("/keys/<uuid>/edit", methods=["GET", "POST"])
def bag_edit(uuid: str):
    """Change a bag's number, contents or place, or mark it returned to the client (managers)."""
    bag = _bag(uuid)
    authorize(policy.can_manage_key_bags(current_user, bag.site))
    form = BagEditForm(obj=bag)
    return uow.form_page(
        form,
        lambda: svc.update_bag(
            bag,
            user=current_user,
            bag_number=form.bag_number.data,
            contents=form.contents.data,
            stored_at=form.stored_at.data,
            status=form.status.data,
        ),
        then=lambda saved: uow.see_other(
            url_for("custody.bag", uuid=saved.uuid), _("Key bag saved."), uuid=saved.uuid
        ),
        page=lambda: _bag_page(bag.site, form, bag),
    )


@bp.get("/keys/<uuid>")
def bag(uuid: str):
    """A key bag: where it is, its seal, who has it, and its whole history."""
    bag = _bag(uuid)
    _log_view(bag.site_id)
    take_form = TakeOutForm(formdata=None, hours=svc.due_hours())
    return render_template(
        "custody/bag.html",
        bag=bag,
        site=bag.site,
        out=svc.open_take_out(bag) if bag.is_out else None,
        history=svc.bag_history(bag),
        now=utcnow(),
        take_form=take_form,
        return_form=ReturnForm(formdata=None),
        new_uuid=new_uuid(),
        may_manage=policy.can_manage_key_bags(current_user, bag.site),
    )


@bp.post("/keys/<uuid>/take-out")
def take_out(uuid: str):
    """Take a bag out for a stated purpose, due back in a few hours."""
    bag = _bag(uuid)
    form = TakeOutForm()
    return uow.action(
        lambda: svc.take_out(
            bag,
            user=current_user,
            uuid=form.uuid.data,
            purpose=form.purpose.data or "",
            purpose_text=form.purpose_text.data or "",
            hours=form.hours.data,
            note=form.note.data or "",
        ),
        form=form,
        back=url_for("custody.bag", uuid=bag.uuid),
        success=_("Key bag taken out. Return it on time."),
        uuid=lambda movement: movement.uuid,
    )


@bp.post("/keys/<uuid>/return")
def put_back(uuid: str):
    """Return a bag, resealed: the new seal number is required."""
    bag = _bag(uuid)
    form = ReturnForm()

    def done(movement):
        if movement.is_seal_changed:
            return _("Key bag returned. The seal number changed and is noted in the history.")
        return _("Key bag returned.")

    return uow.action(
        lambda: svc.put_back(
            bag,
            user=current_user,
            uuid=form.uuid.data,
            seal_number=form.seal_number.data or "",
            note=form.note.data or "",
        ),
        form=form,
        back=url_for("custody.bag", uuid=bag.uuid),
        success=done,
        uuid=lambda movement: movement.uuid,
    )


# ---------------------------------------------------------------- at an inspection


def _inspection(uuid: str) -> Inspection:
    inspection = db.session.scalar(select(Inspection).where(Inspection.uuid == uuid))
    if inspection is None:
        abort(404)
    assigned = _assigned()
    _hidden(
        policy.can_view_inspection(current_user, inspection, assigned_site_ids=assigned)
        and policy.can_handle_keys(current_user, inspection.site, assigned_site_ids=assigned),
        site_id=inspection.site_id,
    )
    return inspection


def _inspection_card(inspection: Inspection, *, error: str | None = None, status: int = 200):
    may_check = policy.can_answer(current_user, inspection, assigned_site_ids=_assigned())
    rows = svc.site_bags(inspection.site_id)
    return render_template(
        "custody/_inspection_keys.html",
        inspection=inspection,
        rows=[r for r in rows if r.bag.status != "returned_to_client"],
        checks=svc.seal_checks(inspection.id),
        may_check=may_check,
        now=utcnow(),
        error=error,
    ), status


@bp.get("/inspections/<uuid>/keys")
def inspection_keys(uuid: str):
    """The run page's seal-check card (its inspector), or the report's list of seal checks."""
    inspection = _inspection(uuid)
    return _inspection_card(inspection)


@bp.post("/inspections/<uuid>/keys/<bag_uuid>/seal")
def seal_check(uuid: str, bag_uuid: str):
    """Record a bag's seal as intact, or as showing another number, during the inspection."""
    inspection = _inspection(uuid)
    authorize(policy.can_answer(current_user, inspection, assigned_site_ids=_assigned()))
    bag = db.session.scalar(
        select(KeyBag).where(KeyBag.uuid == bag_uuid, KeyBag.site_id == inspection.site_id)
    )
    if bag is None:
        abort(404)
    form = SealCheckForm()

    def call():
        if form.result.data not in ("intact", "differs"):
            raise svc.CustodyError("choose_seal", field="result")
        return svc.check_seal(
            bag,
            user=current_user,
            inspection=inspection,
            is_intact=form.result.data == "intact",
            seal_number=form.seal_number.data or "",
            note=form.note.data or "",
        )

    back = url_for("inspections.inspection", uuid=inspection.uuid) + "#key-custody"

    def done(_movement):
        if is_htmx():
            return _inspection_card(inspection)
        return uow.see_other(back, _("Seal check recorded."))

    def refused(exc):
        if is_htmx():
            return _inspection_card(inspection, error=exc.message, status=422)
        return uow.refuse(exc, back)

    return uow.run(call, form=form, then=done, refused=refused)

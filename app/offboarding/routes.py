"""Offboarding a client: the counts, the handover export (a ZIP) and the purge; managers only."""

from __future__ import annotations

from flask import Blueprint, Response, render_template, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from markupsafe import Markup

from app import uow
from app.auth import policy, stepup
from app.authz import authorize
from app.briefings import services as briefings
from app.extensions import db
from app.i18n import taipei_today
from app.offboarding import services as svc
from app.offboarding.forms import ExportForm, PurgeForm
from app.sites import services as sites_services
from app.sites.models import Client
from app.vault import retention

bp = Blueprint("offboarding", __name__)

# The registry tells whoever listens that a client changed; the vault's retention days follow
# a changed contract end. Registered here, where the app's features above the registry load.
retention.register(sites_services.CLIENT_SAVED)


@bp.app_context_processor
def panels():
    return {"offboarding_panel": offboarding_panel}


def offboarding_panel(client: Client) -> Markup:
    """The client page's offboarding section: past offboardings, and the way in (managers)."""
    if client is None or not policy.can_view_offboarding_history(current_user):
        return Markup("")
    return Markup(  # noqa: S704 (a rendered template)
        render_template(
            "offboarding/_panel.html",
            client=client,
            history=svc.offboardings(client, limit=3),
        )
    )


def _client(client_id: int) -> Client:
    authorize(policy.can_offboard_client(current_user))
    return db.get_or_404(Client, client_id)


def _page_url(client: Client) -> str:
    return url_for("offboarding.client", client_id=client.id)


def _page(client: Client) -> str:
    return render_template(
        "offboarding/client.html",
        client=client,
        counts=svc.inventory(client),
        current=svc.open_offboarding(client),
        history=svc.offboardings(client),
        export_form=ExportForm(),
        purge_form=PurgeForm(formdata=None),
        fresh=stepup.is_fresh(),
        has_pledge=briefings.has_current_pledge(current_user),
        category_labels=svc.CATEGORY_LABELS,
    )


def _needs_first(client: Client):
    """A step-up, or the confidentiality pledge, that must come before values are handled."""
    if not briefings.has_current_pledge(current_user):
        return uow.see_other(
            _page_url(client),
            _("Acknowledge the current confidentiality pledge first."),
            category="error",
        )
    if not stepup.is_fresh():
        return uow.see_other(stepup.url(_page_url(client)))
    return None


@bp.get("/clients/<int:client_id>/offboarding")
def client(client_id: int):
    """A departing client's confidential records: how many, the export, the purge."""
    item = _client(client_id)
    return _page(item)


@bp.post("/clients/<int:client_id>/offboarding/export")
def export(client_id: int):
    """The handover ZIP of the client's records, decrypted; its access rows committed first."""
    item = _client(client_id)
    form = ExportForm()
    uow.check(form)
    first = _needs_first(item)
    if first is not None:
        return first
    # The access rows and the audit event are committed before the file is built: when the
    # commit fails, the request fails and no value leaves (SECURITY.md decision 7).
    result = uow.commit(lambda: svc.export_records(item, user=current_user))
    body = svc.handover_zip(result)
    response = Response(body, mimetype="application/zip")
    name = f"handover-client-{item.id}-{taipei_today().isoformat()}.zip"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.post("/clients/<int:client_id>/offboarding/purge")
def purge(client_id: int):
    """Delete every confidential record of the client, after the export and the typed name.

    A refusal is flashed on the page after a redirect, never a re-rendered POST answer: a
    reload of that answer (after the export's download, say) would send the purge again."""
    item = _client(client_id)
    form = PurgeForm()
    first = _needs_first(item)
    if first is not None:
        return first
    return uow.action(
        lambda: svc.purge_client(item, user=current_user, confirmation=form.confirmation.data),
        form=form,
        back=_page_url(item),
        success=lambda count: ngettext(
            "%(num)d confidential record deleted.",
            "%(num)d confidential records deleted.",
            count,
        ),
    )

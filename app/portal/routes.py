"""The client's portal: his sites' pages (the home page lists them)."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user

from app.auth import policy
from app.authz import authorize, authorize_hidden
from app.extensions import db
from app.portal import services as svc
from app.records import services as records
from app.sites.models import Site

bp = Blueprint("portal", __name__, url_prefix="/portal")


@bp.get("/sites/<int:site_id>")
def site(site_id: int):
    """One of the client's sites: the sheets released to him, the incidents shared with him,
    the open repairs of its systems."""
    authorize(policy.can_use_portal(current_user))
    site = db.get_or_404(Site, site_id)
    authorize_hidden(policy.can_view_portal_site(current_user, site), target=f"site:{site.id}")
    return render_template(
        "portal/site.html",
        site=site,
        incidents=svc.shared_incidents(site),
        repairs=svc.open_repairs(site),
        sheets=records.released_sheets_for_site(site),
        shown_limit=svc.SHARED_INCIDENTS_SHOWN,
    )

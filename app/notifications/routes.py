"""The notification list behind the bell."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, url_for
from flask_login import current_user

from app import uow
from app.args import page_arg
from app.auth import policy
from app.authz import authorize
from app.forms import require_action_form
from app.notifications import services as svc

bp = Blueprint("notifications", __name__)


@bp.app_context_processor
def bell():
    """The unread count for the bell in the header (signed-in users only)."""
    if current_user and current_user.is_authenticated:
        return {"unread_notifications": svc.unread_count(current_user)}
    return {"unread_notifications": 0}


@bp.get("/notifications")
def notifications():
    """My notifications, newest first."""
    authorize(policy.can_read_notifications(current_user))
    page = svc.list_for(current_user, page=page_arg(), per_page=current_app.config["PAGE_SIZE"])
    return render_template("notifications/notifications.html", page=page, message=svc.message)


@bp.post("/notifications/read")
def mark_read():
    """Mark all my notifications read."""
    authorize(policy.can_read_notifications(current_user))
    require_action_form()
    return uow.action(
        lambda: svc.mark_all_read(current_user), back=url_for("notifications.notifications")
    )

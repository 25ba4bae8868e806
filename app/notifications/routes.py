"""The notification list behind the bell, and the push settings page."""

from __future__ import annotations

import hashlib

from flask import Blueprint, current_app, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app import uow
from app.args import page_arg
from app.auth import policy
from app.authz import authorize, authorize_hidden
from app.extensions import db
from app.forms import ActionForm, require_action_form
from app.notifications import push
from app.notifications import services as svc
from app.notifications.forms import SubscribeForm, TopicsForm
from app.notifications.models import PushSubscription

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


@bp.get("/notifications/unread")
def unread():
    """How many of my notifications are unread, as a tiny page: the session lookup, one
    indexed count and a template of a few lines (bench/speed.py's signed-in floor)."""
    authorize(policy.can_read_notifications(current_user))
    return render_template("notifications/unread.html", count=svc.unread_count(current_user))


@bp.post("/notifications/read")
def mark_read():
    """Mark all my notifications read."""
    authorize(policy.can_read_notifications(current_user))
    require_action_form()
    return uow.action(
        lambda: svc.mark_all_read(current_user), back=url_for("notifications.notifications")
    )


# ---------------------------------------------------------------- push to the phone


def _device_tag(endpoint: str) -> str:
    """Names a device on the page without its endpoint (a capability): push.js hashes its own
    subscription's endpoint the same way to find "this phone" in the list."""
    return hashlib.sha256(endpoint.encode()).hexdigest()[:32]


@bp.get("/account/push")
def push_settings():
    """Push notifications: turn them on for this phone, choose what comes, test, my devices."""
    authorize(policy.can_use_push(current_user))
    return render_template(
        "notifications/push.html",
        is_enabled=push.is_enabled(),
        public_key=push.public_key(),
        devices=[(d, _device_tag(d.endpoint)) for d in push.devices(current_user)],
        topics_form=TopicsForm(formdata=None, data=push.topics(current_user)),
        form=ActionForm(),
    )


@bp.post("/account/push/subscribe")
def push_subscribe():
    """This browser receives my pushes (posted by static/js/push.js, JSON answer)."""
    authorize(policy.can_use_push(current_user))
    form = SubscribeForm()
    return uow.action(
        lambda: push.subscribe(
            current_user,
            endpoint=form.endpoint.data,
            p256dh=form.p256dh.data,
            auth=form.auth.data,
            user_agent=request.headers.get("User-Agent", ""),
        ),
        form=form,
        back=url_for("notifications.push_settings"),
        success=_("Push notifications are on for this phone."),
    )


@bp.post("/account/push/topics")
def push_topics():
    """Which notifications reach my phones."""
    authorize(policy.can_use_push(current_user))
    form = TopicsForm()
    return uow.action(
        lambda: push.choose_topics(current_user, wanted=form.wanted()),
        form=form,
        back=url_for("notifications.push_settings"),
        success=_("Your choice is saved."),
    )


@bp.post("/account/push/test")
def push_test():
    """A test push to each of my devices (the jobs runner sends it within a minute)."""
    authorize(policy.can_use_push(current_user))
    require_action_form()
    return uow.action(
        lambda: push.send_test(current_user),
        back=url_for("notifications.push_settings"),
        success=_("A test notification is on its way to your phones (within a minute)."),
    )


@bp.post("/account/push/devices/<int:device_id>/delete")
def push_remove(device_id: int):
    """This device receives no more pushes."""
    authorize(policy.can_use_push(current_user))
    device = db.get_or_404(PushSubscription, device_id)
    authorize_hidden(
        policy.can_remove_push_device(current_user, device), target=f"push_device:{device_id}"
    )
    require_action_form()
    return uow.action(
        lambda: push.remove_device(device, user=current_user),
        back=url_for("notifications.push_settings"),
        success=_("That device receives no more push notifications."),
    )
